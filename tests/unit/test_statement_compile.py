"""Statements written once with ``?`` placeholders run on both drivers: a ``?`` or ``%`` inside a
string literal, a quoted identifier or a comment is text, never a placeholder
(``storage.dialect.compile_statement``). Run against sqlite3 and, when it is there, PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.dialect import compile_statement

TEXT = st.text(alphabet=st.sampled_from(list("ab?%'\" -*/:")), max_size=12)


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@st.composite
def statements(draw: st.DrawFn) -> tuple[str, list[object], list[object]]:
    """SELECT of literals and placeholders in a random order, the parameters, the expected row."""
    parts: list[str] = []
    params: list[object] = []
    expected: list[object] = []
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            value = draw(TEXT)
            parts.append(literal(value))
            expected.append(value)
        else:
            value = draw(st.integers(-1000, 1000))
            parts.append("?")
            params.append(value)
            expected.append(value)
    comment = draw(st.sampled_from(["", " -- why? 100%\n", " /* a ? and a % */"]))
    return f"SELECT {', '.join(parts)}{comment}", params, expected


@pytest.fixture(scope="module")
def pg() -> Iterator[object]:
    import psycopg

    from tests.conftest import postgres_admin_url

    with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
        yield conn


@settings(max_examples=150, deadline=None)
@given(statements())
def test_sqlite_runs_the_statement_as_written(case: tuple[str, list[object], list[object]]) -> None:
    statement, params, expected = case
    row = sqlite3.connect(":memory:").execute(compile_statement(statement, "qmark"), params).fetchone()
    assert list(row) == expected


@pytest.mark.postgres
@settings(max_examples=150, deadline=None)
@given(case=statements())
def test_postgres_binds_only_the_placeholders(pg: object, case: tuple[str, list[object], list[object]]) -> None:
    statement, params, expected = case
    casted = compile_statement(statement, "format").replace("%s", "%s::int")  # text literals come back as text
    row = pg.execute(casted, params).fetchone()  # type: ignore[attr-defined]
    assert list(row) == expected


def test_a_quoted_identifier_keeps_its_question_mark() -> None:
    assert compile_statement('SELECT "a?b" FROM t WHERE x = ? AND y LIKE \'10%\'', "format") == (
        'SELECT "a?b" FROM t WHERE x = %s AND y LIKE \'10%%\'')
