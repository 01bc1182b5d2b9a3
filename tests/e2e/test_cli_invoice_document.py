"""`ledger invoice show ID --format html|pdf --out FILE` in a real process, and the
templates shipped as package data."""

from __future__ import annotations

import io
import tomllib
from importlib.resources import files
from pathlib import Path
from uuid import uuid4

import pypdf
import pytest

from tests.e2e.cli_process import ledger, one_line
from tests.integration.test_invoice_documents import issue_january

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # runs `ledger` as a child process
def test_the_command_writes_the_pdf_and_the_html(sqlite_url: str, tmp_path: Path) -> None:
    issued = issue_january(sqlite_url)
    issued.ledger.close()
    env = {"LEDGER_SELLER_NAME": "Nordlys Compute AS", "LEDGER_SELLER_ADDRESS": "Fjordgata 1, Trondheim"}
    pdf_file = tmp_path / "invoice.pdf"
    result = ledger("invoice", "show", str(issued.invoice_id), "--format", "pdf", "--out", str(pdf_file),
                    "--db", sqlite_url, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and f"wrote {pdf_file}" in result.stderr
    text = " ".join(pypdf.PdfReader(io.BytesIO(pdf_file.read_bytes())).pages[0].extract_text().split())
    for expected in ("Nordlys Compute AS", str(issued.invoice_id), "Total USD 120.00",
                     f"Ledger position of issue {issued.position}"):
        assert expected in text, (expected, text)

    html = ledger("invoice", "show", str(issued.invoice_id), "--format", "html", "--db", sqlite_url, env=env)
    assert html.returncode == 0, html.stderr
    assert html.stdout.startswith("<!DOCTYPE html>") and "Nordlys Compute AS" in html.stdout
    assert issued.tenant_name in html.stdout and "120.00" in html.stdout


@pytest.mark.slow  # runs `ledger` as a child process
def test_refusals_are_one_line_and_write_nothing(sqlite_url: str, tmp_path: Path) -> None:
    issued = issue_january(sqlite_url)
    issued.ledger.close()
    out = tmp_path / "x.pdf"
    pdf = ("--format", "pdf", "--out", str(out), "--db", sqlite_url)
    assert "invoice_id" in one_line(ledger("invoice", "show", str(uuid4()), *pdf))
    assert "invoice_id" in one_line(ledger("invoice", "show", "not-an-id", *pdf))
    assert "out:" in one_line(ledger("invoice", "show", str(issued.invoice_id), "--format", "pdf", "--out",
                                     str(tmp_path / "missing" / "x.pdf"), "--db", sqlite_url))
    one_line(ledger("invoice", "show", str(issued.invoice_id), "--format", "docx", "--db", sqlite_url))
    assert not out.exists()


def test_the_templates_are_package_data() -> None:
    """A non-editable install ships every file of documents/templates (pyproject's package-data)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["documents"]
    shipped = {p for pattern in patterns for p in (ROOT / "documents").glob(pattern) if p.is_file()}
    on_disk = {p for p in (ROOT / "documents" / "templates").rglob("*") if p.is_file()}
    assert on_disk and on_disk <= shipped
    assert (files("documents") / "templates" / "invoice.html.j2").is_file()
