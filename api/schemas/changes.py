"""Changes to recorded resources: site revisions, decommissioning, plan changes, suspension,
voids and credit notes."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from api.schemas.common import DecimalText, GpuCount, GpuModelCode, Name, Strict, UtcDateTime


class SiteRevisionCreate(Strict):
    effective_from: UtcDateTime = Field(description="From when the new factors apply (after the last revision)")
    grid_intensity_g_per_kwh: DecimalText
    pue: DecimalText
    carbon_free_share: DecimalText = Field(description="0 to 1, contracted carbon-free share")
    factor_source: Name = "operator"


class DecommissioningCreate(Strict):
    quantity: GpuCount
    at: UtcDateTime = Field(description="On a whole UTC hour: out of service from then on")
    reason: Name


class DecommissionedPublic(BaseModel):
    pool_id: str = Field(description="The GPU pool (site x model)")
    site_id: str
    model: str
    quantity: int
    at: AwareDatetime


class PlanChange(Strict):
    rates: dict[GpuModelCode, DecimalText] = Field(min_length=1, description="Rate per GPU-hour by GPU model")
    cancellation_fee_share: DecimalText = Field(description="0 to 1: share of released hours charged on cancel")


class Suspension(Strict):
    reason: Name


class InvoiceVoid(Strict):
    reason: Name


class CreditNoteCreate(Strict):
    amount: DecimalText = Field(description="Positive, in the invoice's currency; at most what is left uncredited")
    reason: Name

