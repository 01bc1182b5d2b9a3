"""Reference figures with their sources: GPU board power, grid carbon intensity, PUE.

Reports never use a bare constant: energy and carbon figures come from these tables (GPU
power) or from a site's effective-dated revisions (grid intensity, PUE, carbon-free share),
whose defaults for the demo sites are the grid references below.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.errors import UnknownGpuModel


@dataclass(frozen=True)
class GpuModel:
    """An Nvidia GPU model the ledger tracks, with its board power at full load."""

    code: str
    name: str
    board_power_kw: Decimal
    source: str


GPU_MODELS: dict[str, GpuModel] = {
    m.code: m
    for m in (
        GpuModel("H100-SXM", "NVIDIA H100 SXM", Decimal("0.700"),
                 "NVIDIA H100 Tensor Core GPU datasheet (SXM: up to 700 W)"),
        GpuModel("H100-PCIE", "NVIDIA H100 PCIe", Decimal("0.350"),
                 "NVIDIA H100 PCIe product brief PB-11133-001 (350 W)"),
        GpuModel("H200", "NVIDIA H200 SXM", Decimal("0.700"),
                 "NVIDIA MLPerf Inference v4.1 system description (H200 TGP 700 W)"),
        GpuModel("B200", "NVIDIA B200 (HGX)", Decimal("1.000"),
                 "NVIDIA DGX B200 documentation as quoted by secondary sources "
                 "(~1,000 W per GPU; DGX B200 ~14.3 kW max)"),
        GpuModel("GB300", "NVIDIA GB300 (Blackwell Ultra)", Decimal("1.400"),
                 "secondary: analyst estimates (~1,400 W per GPU; NVL72 rack ~120-132 kW)"),
    )
}


def gpu_model(code: object, *, field: str = "model") -> GpuModel:
    """Look up a GPU model by code; unknown codes are refused with the list of known ones."""
    if not isinstance(code, str) or code not in GPU_MODELS:
        raise UnknownGpuModel(
            f"{field}: unknown GPU model {code!r} (known: {', '.join(GPU_MODELS)})", field=field
        )
    return GPU_MODELS[code]


@dataclass(frozen=True)
class GridReference:
    """A location-based grid carbon intensity and a typical PUE for a country's sites."""

    country: str
    grid_intensity_g_per_kwh: Decimal
    grid_source: str
    pue: Decimal
    pue_source: str
    carbon_free_share: Decimal
    carbon_free_source: str


GRID_REFERENCES: dict[str, GridReference] = {
    "GB": GridReference(
        "GB", Decimal("225"),
        "EEA figure for the United Kingdom as used by Cloud Carbon Footprint (~225 gCO2e/kWh); "
        "UK DESNZ publishes a yearly conversion factor of about 0.2 kgCO2e/kWh",
        Decimal("1.18"), "hyperscale average as used by Cloud Carbon Footprint (Azure ~1.18)",
        Decimal("0.60"), "illustrative contracted renewable PPA share for the demo UK campus",
    ),
    "NO": GridReference(
        "NO", Decimal("8"),
        "carbonfootprint.com 2021 figure for Norway as used by Cloud Carbon Footprint (~8 gCO2e/kWh); "
        "NVE publishes a yearly electricity declaration",
        Decimal("1.10"), "Nordic free-cooled sites report ~1.1 or below (Google fleet ~1.10)",
        Decimal("1.00"), "illustrative: hydro power purchase agreement covering all load",
    ),
}
