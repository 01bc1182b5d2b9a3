"""Accept negotiation for the invoice (JSON default; HTML and PDF documents on request)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.invoice_documents import HTML, JSON, OFFERED, PDF
from api.negotiation import choose


@pytest.mark.parametrize(("accept", "expected"), [
    (None, JSON), ("", JSON), ("*/*", JSON), ("application/json", JSON), ("application/*", JSON),
    ("text/html", HTML), ("text/html; charset=utf-8", HTML), ("TEXT/HTML", HTML), ("text/*", HTML),
    ("application/pdf", PDF), ("application/pdf, */*;q=0.1", PDF),
    ("text/html;q=0.5, application/pdf", PDF), ("application/pdf;q=0.4, text/html;q=0.9", HTML),
    ("text/html, application/json", JSON),  # equal preference: the default wins
    ("image/png", JSON), ("text/csv", JSON), ("nonsense", JSON), (";;;,,", JSON), ("text/html;q=abc", JSON),
    ("text/html;q=0, */*", JSON), ("application/pdf;q=0", JSON),
    # browsers' own header: HTML
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", HTML),
])
def test_accept_picks_the_preferred_offered_type(accept: str | None, expected: str) -> None:
    assert choose(accept, OFFERED) == expected


@given(st.text(max_size=300))
def test_any_accept_header_picks_an_offered_type(accept: str) -> None:
    assert choose(accept, OFFERED) in OFFERED
