"""The ledger's aggregates. Each event class has an explicit, stable topic ('ledger:...'), so
moving or renaming a module never orphans stored events."""

from domain.aggregates.close import MonthClose, month_close_id
from domain.aggregates.contract import Contract
from domain.aggregates.funding import FundingRound
from domain.aggregates.fx import FxRate
from domain.aggregates.invoice import Invoice, invoice_id
from domain.aggregates.numbering import DocumentSequence, Numbering, sequence_id
from domain.aggregates.pool import GpuPool, pool_id
from domain.aggregates.reservation import Reservation
from domain.aggregates.site import Site
from domain.aggregates.supply import SupplyOrder
from domain.aggregates.tenant import Tenant
from domain.aggregates.wallet import Wallet, wallet_id

__all__ = ["Contract", "FundingRound", "FxRate", "GpuPool", "Invoice", "Reservation", "Site", "SupplyOrder",
           "Tenant",
           "invoice_id", "pool_id"]
__all__ += ["MonthClose", "Wallet", "month_close_id", "wallet_id"]
__all__ += ["DocumentSequence", "Numbering", "sequence_id"]
from domain.aggregates.demo import DEMO_RUN_ID, DemoRun  # noqa: E402  (ledger demo's own record)
from domain.aggregates.dunning import DunningCase, dunning_case_id  # noqa: E402

__all__ += ["DEMO_RUN_ID", "DemoRun"]
__all__ += ["DunningCase", "dunning_case_id"]
