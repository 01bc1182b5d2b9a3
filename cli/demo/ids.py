"""The demo's ids: derived from its seed and a path in the scenario, never drawn at random.

``ScenarioIds(seed)("tenant", "Helixa AI")`` is the uuid5 of ``tenant/Helixa AI`` in the seed's
own namespace (itself the uuid5 of ``seed/<seed>`` in :data:`DEMO_NAMESPACE`): the same seed
names the same things with the same ids on every run and every store, and another seed names
them differently. Aggregates whose id the domain already derives from their key (pools, wallets,
FX rates, invoices, month closes, document sequences) need none of these.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

DEMO_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.example/demo")


class ScenarioIds:
    """Ids for the things one demo run creates, keyed by their path in the scenario."""

    def __init__(self, seed: int) -> None:
        self.namespace = uuid5(DEMO_NAMESPACE, f"seed/{seed}")
        self._counters: dict[str, int] = {}

    def __call__(self, *path: object) -> UUID:
        return uuid5(self.namespace, "/".join(str(part) for part in path))

    def next(self, kind: str) -> UUID:
        """The id of the next ``kind`` (``reservation/1``, ``reservation/2``, ...), numbered in
        the order the simulation creates them (the same order for the same seed)."""
        number = self._counters.get(kind, 0) + 1
        self._counters[kind] = number
        return self(kind, number)
