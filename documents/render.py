"""The invoice document as HTML (Jinja2 templates shipped as package data) and as PDF (WeasyPrint).

Figures are printed exactly as the ledger holds them, with thousands separators: money with at
least the currency's minor unit, GPU-hours and rates with every decimal they carry; energy and
emissions with 3 decimals (kWh to the watt-hour, kgCO2e to the gram), rounded half-even. A
figure a line does not carry is "--".
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from documents.model import InvoiceDocument
from domain.money import MINOR_UNITS

MISSING = "--"
THREE = Decimal("0.001")


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def money(value: Decimal | None, currency: str) -> str:
    """``1,234.50``: at least the currency's minor unit, never fewer digits than the value has."""
    if value is None:
        return MISSING
    places = max(MINOR_UNITS.get(currency, 2), _decimals(value.normalize()) if value else 0)
    return f"{value:,.{places}f}"


def exact(value: Decimal | None) -> str:
    """``1,234.5``: every decimal the value carries, none added."""
    if value is None:
        return MISSING
    value = value.normalize() if value != value.to_integral_value() else value.quantize(Decimal(1))
    return f"{value:,f}"


def three(value: Decimal | None) -> str:
    """``1,234.567``: 3 decimals, rounded half-even (kWh, kgCO2e)."""
    if value is None:
        return MISSING
    return f"{value.quantize(THREE, rounding=ROUND_HALF_EVEN):,f}"


def day(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("documents", "templates"), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=money, exact=exact, three=three, day=day)
    return env


def render_html(doc: InvoiceDocument) -> str:
    """The invoice as one self-contained HTML page (its stylesheet inline)."""
    context: dict[str, Any] = {"doc": doc, "missing": MISSING}
    return environment().get_template("invoice.html.j2").render(**context)


def render_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice as a PDF (A4), from the same HTML."""
    from weasyprint import HTML  # imported when a PDF is asked for: it takes a second or two to load

    pdf: bytes = HTML(string=render_html(doc)).write_pdf()
    return pdf
