"""``Ledger``: the one application, combining the command families over one log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import ClassVar

from domain.service.billing import BillingCommands
from domain.service.capacity import CapacityCommands
from domain.service.closing import CloseCommands
from domain.service.demo_runs import DemoRunCommands
from domain.service.dunning import DunningCommands
from domain.service.fx import FxCommands
from domain.service.locks import CommandLock
from domain.service.payments import PaymentCommands
from domain.service.receipts import system_clock
from domain.service.tenancy import TenancyCommands
from domain.storage import StoreConfig


class Ledger(CapacityCommands, TenancyCommands, BillingCommands, PaymentCommands, FxCommands, CloseCommands,
             DemoRunCommands, DunningCommands):
    """The system of record. Open it through ``bootstrap.open_ledger(url)`` (which parses the
    store setting), ``Ledger.open(config)``, or ``Ledger(env=...)``."""

    name = "Ledger"
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "5000", "COMPRESSOR_TOPIC": ""}

    @classmethod
    def open(cls, config: StoreConfig | None = None, *, clock: Callable[[], datetime] = system_clock,
             extra_env: Mapping[str, str] | None = None, command_lock: CommandLock | None = None) -> Ledger:
        """Open the ledger on a parsed store (default: the in-process store), creating tables.
        ``command_lock`` serialises commands on one pool across processes (see
        ``domain.service.locks``); without it, within this process only."""
        config = config or StoreConfig(kind="memory")
        env = dict(config.event_store_env())
        env.update(extra_env or {})
        ledger = cls(env, clock=clock, command_lock=command_lock)
        ledger.store_config = config
        return ledger

    store_config: StoreConfig = StoreConfig(kind="memory")
