"""Rows saved in the same transaction as a command's events: attachments.

The HTTP API's idempotency keys use this (``api/idempotency.py``): a write under an
Idempotency-Key stores the key, with its command's result, in the ledger's own transaction,
so the key is either absent (nothing was written) or complete (written once, with its result),
never pending. The domain knows rows and columns only, never HTTP.

An edge passes a :class:`CommandContext` to the command (its ``context`` keyword): who it runs
for, under which key and request fingerprint, and the factory of its attachment. The command
hands that context to its save (``LedgerCore._save``), which calls the factory with the context,
the aggregates it saves and their new events, and hands the attachments to the library's
``Application.save`` as a keyword argument, which passes them to the recorder
(``storage/recorders.py``). The recorder inserts each attachment's row after
the events, once their log positions are known, in the same transaction; a unique key of that
row already taken (a duplicate that committed first) rolls the whole transaction back. A
transaction of several commands (group commit: ``domain/service/batching.py``) carries one
attachment per command, each completed with the position of its own command's last event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from eventsourcing.domain import Aggregate


class AttachmentTaken(Exception):
    """The attachment row's key is already in its table: another write with that key committed first.
    Nothing of this command was recorded. (Not an IntegrityError: retrying cannot help.)"""


class AttachmentRefused(Exception):
    """The attachment's :class:`Guard` found no row to vouch for it: nothing of this command was
    recorded (the transaction was rolled back)."""


@dataclass(frozen=True)
class Guard:
    """A condition the attachment's row is inserted under, checked inside the transaction: the
    row's ``column`` takes its value from the row of ``table`` whose ``key`` column holds that
    value and whose ``unset`` column is NULL. With no such row the value is NULL, which the
    column refuses (it is NOT NULL): the whole transaction rolls back (AttachmentRefused).

    The API uses it for the caller's token (``api_tokens``, not revoked): a keyed write commits
    only while its token stands, without a round trip of its own before the command."""

    column: str
    table: str
    key: str
    unset: str


@dataclass
class Attachment:
    """A row of ``table``, made by ``row(position)`` from the log position of the command's last
    event, and inserted in the transaction of the events."""

    table: str
    row: Callable[[int], Mapping[str, object]]
    last: int = -1  # the index of the command's last event among the transaction's events
    guard: Guard | None = None
    saved: bool = False  # set by the recorder once the row went in with the events
    failure: BaseException | None = None  # what ``row`` raised (the transaction was rolled back)


@dataclass(frozen=True)
class CommandContext:
    """What a command runs for, passed explicitly from the edge to the command to its save:
    the caller (``principal``: the API's token scope), an idempotency ``key`` and the
    ``fingerprint`` of the request it came with, and ``attach``, the factory of the row saved in
    the command's transaction (None: nothing is attached). The domain reads none of it but
    ``attach``; the fields are the factory's to use."""

    principal: str | None = None
    key: str | None = None
    fingerprint: str = ""
    attach: AttachmentFactory | None = None


# Called with the command's context, its aggregates and the new events it saves.
AttachmentFactory = Callable[["CommandContext", Sequence[Aggregate], Sequence[object]], Attachment]

NO_CONTEXT = CommandContext()  # a command run without one: the CLI, tests, the projections
