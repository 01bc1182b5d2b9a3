"""Deferred revenue by when it is expected to be recognised: each paid grant of prepaid credits
with what is left of it and the month it expires.

Paid credits are deferred revenue when bought (``projections.commercial``). What is left of a
grant is recognised as the tenant uses it, and at the latest in the month it expires (breakage);
credits without an expiry have no latest month. Granted (free) credits are never revenue and are
not deferred; they are tracked only to split an application into its paid and granted parts, as
the wallet applied them (per grant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import singledispatchmethod
from uuid import UUID

from domain.aggregates import Wallet
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import RowSet
from projections.timeaxis import month_of
from storage.database import Database
from storage.tables import Table

ZERO = Decimal(0)


@dataclass(slots=True)
class DeferralWalletRow:
    wallet_id: str
    tenant_id: str
    currency: str


@dataclass(slots=True)
class DeferredGrantRow:
    grant_id: str
    wallet_id: str
    tenant_id: str
    currency: str
    paid: int  # 1 paid (deferred revenue), 0 granted (tracked to split applications)
    purchased_month: str
    expires_month: str | None  # None: no expiry
    amount: Decimal
    remaining: Decimal  # what is left unused and unexpired


WALLETS = Table("dfr_wallets", DeferralWalletRow, key=("wallet_id",))
GRANTS = Table("dfr_grants", DeferredGrantRow, key=("grant_id",), indexes=(("tenant_id",),))


@dataclass
class DeferralBatch(Batch):
    wallets: RowSet[DeferralWalletRow]
    grants: RowSet[DeferredGrantRow]

    def flush(self) -> None:
        self.wallets.flush()
        self.grants.flush()

    def grant(self, grant_id: object) -> DeferredGrantRow:
        row = self.grants.require((text_id(grant_id),), f"deferral: no grant {grant_id}")
        self.grants.changed(row)
        return row


class Deferral(Projection):
    name = "deferral"
    title = "Deferred revenue (paid prepaid credits) by grant: what is left and when it expires"
    tables = (WALLETS, GRANTS)

    def begin(self, db: Database, events: Sequence[Positioned]) -> DeferralBatch:
        return DeferralBatch(self.rows(db, WALLETS), self.rows(db, GRANTS))

    @singledispatchmethod
    def handle(self, event: object, batch: DeferralBatch) -> None:
        """Events without a handler are ignored."""

    @handle.register(Wallet.Opened)
    def _opened(self, event: Wallet.Opened, batch: DeferralBatch) -> None:
        batch.wallets.put(DeferralWalletRow(text_id(event.originator_id), text_id(event.tenant_id), event.currency))

    @handle.register(Wallet.CreditsPurchased)
    def _purchased(self, event: Wallet.CreditsPurchased, batch: DeferralBatch) -> None:
        self._added(event, batch, paid=True)

    @handle.register(Wallet.CreditsGranted)
    def _granted(self, event: Wallet.CreditsGranted, batch: DeferralBatch) -> None:
        self._added(event, batch, paid=False)

    @staticmethod
    def _added(event: Wallet.CreditsPurchased | Wallet.CreditsGranted, batch: DeferralBatch, *, paid: bool) -> None:
        wallet = batch.wallets.require((text_id(event.originator_id),),
                                       f"deferral: no Wallet.Opened seen for {event.originator_id}")
        amount = Decimal(event.amount)
        batch.grants.put(DeferredGrantRow(text_id(event.grant_id), wallet.wallet_id, wallet.tenant_id,
                                          wallet.currency, int(paid), month_of(event.recorded_at),
                                          None if event.expires_at is None else month_of(event.expires_at),
                                          amount, amount))

    @handle.register(Wallet.CreditsApplied)
    def _applied(self, event: Wallet.CreditsApplied, batch: DeferralBatch) -> None:
        for grant_hex, amount in event.applications:
            batch.grant(UUID(grant_hex)).remaining -= Decimal(amount)

    @handle.register(Wallet.CreditsExpired)
    def _expired(self, event: Wallet.CreditsExpired, batch: DeferralBatch) -> None:
        batch.grant(event.grant_id).remaining -= Decimal(event.amount)
