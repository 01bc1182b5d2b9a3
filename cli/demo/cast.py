"""Who and what the demo history is about: the round, the campuses, the fleet, the tenants.

Every company is fictional except Nvidia (as supplier and investor). Figures are illustrative
but chosen to be plausible for an AI-native cloud in 2025-2026:

- The Series B (USD 1.1 billion, an energy-infrastructure investor leading with USD 285 million
  for 9.3 %, Nvidia up to USD 500 million, a server maker and a network vendor) follows the shape
  of publicly reported neocloud rounds of 2025; the equity split is derived from the lead's
  9.3 % for USD 285 million (post-money ~USD 3.06 billion).
- GPU unit prices include a share of the system (rack, CPU, NVLink/network, cooling): a GB300
  NVL72 rack is widely reported at roughly USD 3.7-4.5 million, i.e. ~USD 60-70k per GPU with
  its system share; H200 and H100 HGX servers at ~USD 30k and ~USD 24k per GPU. Illustrative.
- Rates per GPU-hour sit where neocloud list prices sat in 2025 (GB200/GB300 ~USD 5-6,
  H200 ~USD 3, H100 ~USD 2.2) with committed-use discounts. Illustrative.
- Grid intensity, PUE and carbon-free share come from ``domain.reference.GRID_REFERENCES``
  (sources named there); the mid-history revision stands for the yearly updated national figure
  (UK DESNZ conversion factor, NVE declaration) coming into force.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ROUND_NAME = "Series B"
ROUND_CURRENCY = "USD"


@dataclass(frozen=True)
class Investor:
    name: str
    kind: str
    amount_usd: Decimal
    equity_percent: Decimal
    # (month offset from the start of the history, share of the commitment received)
    tranches: tuple[tuple[float, Decimal], ...]


INVESTORS: tuple[Investor, ...] = (
    Investor("Fjordline Energy Infrastructure", "energy-infrastructure investor (lead)", Decimal("285000000"),
             Decimal("9.3"), ((0, Decimal("0.40")), (2, Decimal("0.30")), (5, Decimal("0.30")))),
    Investor("NVIDIA", "GPU maker (strategic)", Decimal("500000000"), Decimal("16.3"),
             ((0, Decimal("0.50")), (3, Decimal("0.25")), (6, Decimal("0.25")))),
    Investor("Corvane Systems", "server maker (strategic)", Decimal("200000000"), Decimal("6.5"),
             ((0, Decimal("1.00")),)),
    Investor("Skerry Networks", "network vendor (strategic)", Decimal("115000000"), Decimal("3.8"),
             ((0, Decimal("0.50")), (4, Decimal("0.50")))),
)


@dataclass(frozen=True)
class Campus:
    key: str
    name: str
    country: str
    # The revision mid-history: new national grid factor in force (illustrative values near the
    # cited ones) -- the method is what matters: effective-dated, never a constant.
    revised_grid_intensity: Decimal
    revised_pue: Decimal
    revised_carbon_free_share: Decimal
    revision_source: str


CAMPUSES: tuple[Campus, ...] = (
    Campus("uk", "Thames Estuary AI Campus", "GB", Decimal("207"), Decimal("1.16"), Decimal("0.65"),
           "illustrative: next yearly UK grid factor (DESNZ publishes ~0.2 kgCO2e/kWh) and a larger PPA share"),
    Campus("no", "Nordfjord Hydro Campus", "NO", Decimal("7"), Decimal("1.08"), Decimal("1.00"),
           "illustrative: next yearly NVE electricity declaration; free-cooling tuned over the first winter"),
)


@dataclass(frozen=True)
class OrderPlan:
    campus: str
    model: str
    quantity: int
    unit_price_usd: Decimal
    month: float  # when it is placed, in months from the start of the history
    batch: int  # GPUs per delivery (racks or HGX servers shipped together)


ORDERS: tuple[OrderPlan, ...] = (
    OrderPlan("uk", "GB300", 2016, Decimal("64500"), 0.05, 288),   # 28 NVL72 racks
    OrderPlan("uk", "H200", 1024, Decimal("31000"), 0.05, 256),    # 128 HGX H200 servers
    OrderPlan("no", "H100-SXM", 512, Decimal("23500"), 0.1, 256),  # 64 HGX H100 servers
    OrderPlan("no", "GB300", 4032, Decimal("63000"), 0.3, 576),    # 56 NVL72 racks
    OrderPlan("uk", "GB300", 2016, Decimal("64000"), 2.1, 288),    # second UK wave
    OrderPlan("no", "GB300", 2880, Decimal("62500"), 4.1, 576),    # third wave, Norway
)


@dataclass(frozen=True)
class TenantProfile:
    name: str
    kind: str
    currency: str
    campus: str
    model: str
    demand_gpus: int  # the block size it usually wants
    min_days: int
    max_days: int
    utilisation: float  # mean share of reserved GPU-hours used while running
    diurnal: float  # 0 = flat (training), up to ~0.5 for day-heavy inference or office hours
    weekend_dip: float  # share of utilisation lost at weekends
    extend_chance: float  # chance of extending rather than taking a new block
    cancel_chance_per_day: float
    discount: Decimal  # committed-use discount on the list rate
    cancellation_fee_share: Decimal
    growth_per_month: float = 0.05  # how fast its appetite for GPUs grows


TENANTS: tuple[TenantProfile, ...] = (
    TenantProfile("Helixa AI", "AI lab", "USD", "no", "GB300", 2304, 30, 90, 0.92, 0.0, 0.0, 0.7, 0.002,
                  Decimal("0.18"), Decimal("0.30"), 0.15),
    TenantProfile("Northbank Capital", "bank", "GBP", "uk", "H200", 384, 14, 31, 0.58, 0.35, 0.5, 0.6, 0.003,
                  Decimal("0.05"), Decimal("0.25"), 0.08),
    TenantProfile("Genvista Biotech", "biotech", "EUR", "uk", "GB300", 512, 7, 21, 0.78, 0.1, 0.2, 0.4, 0.006,
                  Decimal("0.08"), Decimal("0.25"), 0.2),
    TenantProfile("University of Eastmoor", "university", "GBP", "no", "H100-SXM", 192, 3, 14, 0.55, 0.25, 0.6,
                  0.3, 0.01, Decimal("0.20"), Decimal("0.10")),
    TenantProfile("Fjellstrom Energy Analytics", "energy analytics", "NOK", "no", "H100-SXM", 128, 7, 30, 0.64,
                  0.2, 0.3, 0.5, 0.004, Decimal("0.05"), Decimal("0.25")),
    TenantProfile("Lumen Robotics", "robotics", "USD", "uk", "GB300", 720, 14, 45, 0.81, 0.05, 0.1, 0.6, 0.003,
                  Decimal("0.10"), Decimal("0.25"), 0.3),
    TenantProfile("Kestrel Games", "games studio (inference)", "EUR", "uk", "H200", 256, 30, 31, 0.62, 0.45, 0.0,
                  0.8, 0.002, Decimal("0.07"), Decimal("0.25"), 0.1),
    TenantProfile("Polaris Weather Institute", "weather research", "NOK", "no", "GB300", 576, 30, 60, 0.88, 0.0,
                  0.0, 0.6, 0.001, Decimal("0.12"), Decimal("0.20"), 0.1),
    TenantProfile("Meridian Legal AI", "legal AI start-up", "GBP", "uk", "H200", 160, 7, 30, 0.52, 0.4, 0.6, 0.5,
                  0.006, Decimal("0.00"), Decimal("0.50")),
    TenantProfile("Atlas Autonomy", "autonomous driving", "USD", "no", "GB300", 1152, 21, 60, 0.84, 0.05, 0.05,
                  0.6, 0.003, Decimal("0.12"), Decimal("0.25"), 0.2),
    TenantProfile("Sable Media Studios", "VFX and rendering", "EUR", "uk", "GB300", 288, 3, 10, 0.71, 0.2, 0.3,
                  0.2, 0.01, Decimal("0.00"), Decimal("0.25"), 0.15),
    TenantProfile("Nordlys Health", "health-data platform", "NOK", "no", "H100-SXM", 96, 14, 30, 0.6, 0.3, 0.4,
                  0.6, 0.003, Decimal("0.05"), Decimal("0.25")),
)

# List rates in USD per GPU-hour (illustrative, see the module docstring).
LIST_RATES_USD: dict[str, Decimal] = {"GB300": Decimal("5.60"), "H200": Decimal("3.10"), "H100-SXM": Decimal("2.25")}

# Fixed, illustrative conversion used only to set plans in the tenant's currency and to rank
# tenants by bill size; the ledger itself never converts.
USD_TO: dict[str, Decimal] = {"USD": Decimal("1"), "GBP": Decimal("0.76"), "EUR": Decimal("0.87"),
                              "NOK": Decimal("10.20")}

# Suffixes that tell apart the copies of each tenant archetype at larger scales.
DIVISIONS: tuple[str, ...] = ("", "Americas", "EMEA", "APAC", "Research", "Platform", "Labs", "Cloud",
                              "Nordics", "Health", "Vision", "Edge")
