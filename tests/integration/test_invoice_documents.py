"""The invoice document on each store: a hand-computed month, its PDF's text and first page, the
HTML, every line kind, credit notes, void, and the audit anchor (position and chain link)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid4

import pypdf
import pypdfium2
import pytest
from PIL import ImageStat

from bootstrap import open_ledger
from documents import InvoiceDocument, Seller, invoice_document, render_html, render_pdf
from domain import Ledger
from domain.errors import NotFound
from projections import Projections
from projections.audit import AuditChain
from tests.builders import SimClock, fleet, hour, reserve

SELLER = Seller("Nordlys Compute AS", "Fjordgata 1, 7010 Trondheim, Norway")


@dataclass
class Issued:
    ledger: Ledger
    invoice_id: UUID
    position: int
    tenant_name: str
    reservation_id: UUID


def issue_january(url: str, *, extra_lines: list[dict[str, object]] | None = None) -> Issued:
    """2 GPUs for 24 hours at USD 2.50 in January 2026 (48 GPU-hours, USD 120.00, computed by the
    billing projection), plus ``extra_lines`` as given; the invoice is issued in February."""
    clock = SimClock()
    ledger = open_ledger(url, clock=clock)
    f = fleet(ledger, gpus=8, rate="2.50")
    reservation = reserve(f, 2, 1, 25)
    clock.set(hour(24 * 33))  # 2026-02-03
    with Projections.open(url, app=ledger) as projections:
        projections.catch_up()
        lines, through = projections.invoice_lines(str(f.tenant_id), "2026-01")
    assert [line["amount"] for line in lines] == [Decimal("120.00")]
    written = ledger.issue_invoice(tenant_id=f.tenant_id, month="2026-01", lines=[*lines, *(extra_lines or [])],
                                   billed_through_position=through)
    return Issued(ledger, written.id, written.position, ledger.get_tenant(f.tenant_id).name, reservation)


CARBON_LINES: list[dict[str, object]] = [
    {"line_key": "x1", "kind": "true_up", "gpu_hours": "1.5", "rate": "2.50", "amount": "3.75",
     "energy_kwh": "1.26", "location_kgco2e": "0.15624", "market_kgco2e": "0.062496"},
    {"line_key": "x2", "kind": "credits_applied", "amount": "-10.00"},
    {"line_key": "x3", "kind": "capacity_bonus", "amount": "0.00"},
]


def pdf_text(pdf: bytes) -> str:
    """The PDF's text, whitespace runs as one space (a table row reads as one line of words)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def page_variance(pdf: bytes) -> float:
    """The grey-level variance of page 1 rendered at 72 dpi (0 for a blank page)."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=1).to_pil().convert("L")
        return float(ImageStat.Stat(image).var[0])
    finally:
        document.close()


def test_the_pdf_carries_the_months_figures_and_the_audit_anchor(database_url: str) -> None:
    issued = issue_january(database_url, extra_lines=CARBON_LINES)
    try:
        before = invoice_document(issued.ledger, issued.invoice_id, seller=SELLER)
        assert before.anchor.position == issued.position
        assert before.anchor.link_hex is None and before.anchor.chain_text == "not yet chained"
        assert "not yet chained" in pdf_text(render_pdf(before))

        head = AuditChain(issued.ledger).catch_up()
        doc = invoice_document(issued.ledger, issued.invoice_id, seller=SELLER)
        assert doc.anchor.position == issued.position <= head.position
        assert doc.anchor.link_hex is not None and len(doc.anchor.link_hex) == 64
        if head.position == issued.position:
            assert doc.anchor.link_hex == head.hex
        # 120.00 + 3.75 - 10.00 + 0.00
        assert doc.total == Decimal("113.75") and doc.balance == Decimal("113.75")
        assert doc.carbon.energy_kwh == Decimal("1.26")  # only the line that carries carbon counts

        text = pdf_text(render_pdf(doc))
        for expected in ("Nordlys Compute AS", issued.tenant_name, doc.invoice_id, "2026-01", "Issue date 2026-02-03",
                         "48", "2.50", "120.00", "3.75", "-10.00", "Total USD 113.75", "Balance due USD 113.75",
                         "1.260", "0.156", "0.062", "Reserved", "True-up", "Credits applied", "Capacity bonus",
                         f"Ledger position of issue {issued.position}", doc.anchor.link_hex):
            assert expected in text, (expected, text)
        assert "not yet chained" not in text
        html = " ".join(render_html(doc).split())
        assert f"ledger audit verify --head {issued.position}:{doc.anchor.link_hex}" in html
    finally:
        issued.ledger.close()


def test_page_one_is_not_blank(sqlite_url: str) -> None:
    issued = issue_january(sqlite_url)
    try:
        pdf = render_pdf(invoice_document(issued.ledger, issued.invoice_id))
    finally:
        issued.ledger.close()
    assert pdf.startswith(b"%PDF")
    from weasyprint import HTML

    blank = HTML(string="<p></p>").write_pdf()
    assert page_variance(blank) == 0  # the measure sees a blank page as blank...
    assert page_variance(pdf) > 100  # ...and the invoice as ink on paper


def test_credit_notes_show_on_the_document(database_url: str) -> None:
    issued = issue_january(database_url)
    ledger = issued.ledger
    try:
        ledger.credit_invoice(issued.invoice_id, amount="20.00", reason="SLA credit: 2 h outage")
        doc = invoice_document(ledger, issued.invoice_id)
        assert doc.status == "issued" and doc.credited == Decimal("20.00") and doc.balance == Decimal("100.00")
        text = pdf_text(render_pdf(doc))
        assert "SLA credit: 2 h outage" in text and "USD -20.00" in text and "Balance due USD 100.00" in text

    finally:
        ledger.close()


def test_a_void_shows_on_the_document(database_url: str) -> None:
    issued = issue_january(database_url)
    ledger = issued.ledger
    try:
        ledger.void_invoice(issued.invoice_id, reason="issued to the wrong entity")
        void = invoice_document(ledger, issued.invoice_id)
        assert void.status == "void" and void.balance == 0
        html = render_html(void)
        assert "VOID: issued to the wrong entity" in html and "Balance due (invoice void)" in html
        assert "VOID" in pdf_text(render_pdf(void))
    finally:
        ledger.close()


def test_html_shows_every_line_kind_and_marks_missing_carbon(sqlite_url: str) -> None:
    issued = issue_january(sqlite_url, extra_lines=CARBON_LINES)
    try:
        doc = invoice_document(issued.ledger, issued.invoice_id)
        html = render_html(doc)
    finally:
        issued.ledger.close()
    assert doc.seller == Seller()  # the documented default
    assert Seller().name in html and Seller().address in html
    assert [line.kind for line in doc.lines] == ["reservation", "true_up", "credits_applied", "capacity_bonus"]
    for label in ("Reserved GPU-hours", "True-up", "Credits applied", "Capacity bonus"):
        assert label in html
    assert "Rate (USD per GPU-hour)" in html and "Location-based (kgCO2e)" in html
    assert f"reservation {str(issued.reservation_id)[:8]}" in html
    reservation_row = html.split('class="kind-reservation"')[1].split("</tr>")[0]
    # The billing projection's line carries its carbon (zero: nothing was metered), never "--"
    assert reservation_row.count("<td>0.000</td>") == 3 and "<td>--</td>" not in reservation_row


def test_text_from_the_ledger_is_escaped_in_html(sqlite_url: str) -> None:
    issued = issue_january(sqlite_url)
    try:
        issued.ledger.credit_invoice(issued.invoice_id, amount="1.00", reason="<script>alert(1)</script>")
        html = render_html(invoice_document(issued.ledger, issued.invoice_id,
                                            seller=Seller("A & B <Cloud>", "x")))
    finally:
        issued.ledger.close()
    assert "<script>" not in html and "&lt;script&gt;" in html and "A &amp; B &lt;Cloud&gt;" in html


def test_an_unknown_invoice_is_not_found(sqlite_url: str) -> None:
    ledger = open_ledger(sqlite_url)
    try:
        with pytest.raises(NotFound) as caught:
            invoice_document(ledger, uuid4())
        assert caught.value.field == "invoice_id"
    finally:
        ledger.close()


def test_a_document_is_a_typed_view_model() -> None:
    fields = InvoiceDocument.__dataclass_fields__
    assert {"invoice_id", "month", "lines", "total", "carbon", "anchor", "seller", "credit_notes"} <= set(fields)
