"""What differs between SQLite and PostgreSQL in our own SQL.

Every part that writes its own tables (the projections, the API's tokens and idempotency keys,
the audit chain) goes through here for placeholders, ``FOR UPDATE``, exact decimals
(``numeric`` vs text), binary columns and quoted schema-qualified names.

Statements are written once, with the DB-API's ``?`` (qmark) placeholders, and compiled once per
driver (:func:`compile_statement`, cached): sqlite3 takes qmark as it is; for psycopg, which
takes ``%s`` and reads every ``%`` as the start of a placeholder, the statement is scanned as
SQL, so that a ``?`` inside a string literal, a quoted identifier or a comment stays what it is
and every literal ``%`` is escaped (``%%``). A plain text replacement would do neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from functools import lru_cache
from typing import Any


class Dialect:
    """What differs between SQLite and PostgreSQL in our own SQL. Statements are written once
    with ``?`` placeholders."""

    def __init__(self, kind: str, schema: str = "") -> None:
        if kind not in ("sqlite", "postgres"):
            raise ValueError(f"no SQL dialect for the {kind!r} store")
        self.kind = kind
        self.postgres = kind == "postgres"
        self.schema = schema or ("public" if self.postgres else "")

    def sql(self, statement: str) -> str:
        """``statement`` (qmark placeholders) in this driver's parameter style."""
        return compile_statement(statement, "format") if self.postgres else statement

    @property
    def for_update(self) -> str:
        """Row locks: PostgreSQL locks rows; SQLite's BEGIN IMMEDIATE already serialises writers."""
        return " FOR UPDATE" if self.postgres else ""

    @property
    def blob(self) -> str:
        return "bytea" if self.postgres else "BLOB"

    def column_type(self, sql_type: str) -> str:
        """BIGINT, TEXT or NUMERIC (exact decimals: ``numeric`` on PostgreSQL, text on SQLite,
        whose NUMERIC affinity would turn "1.10" into a float)."""
        if self.postgres:
            return {"TEXT": "text", "BIGINT": "bigint", "NUMERIC": "numeric"}[sql_type]
        return {"TEXT": "TEXT", "BIGINT": "BIGINT", "NUMERIC": "TEXT"}[sql_type]

    def table(self, name: str) -> str:
        """A table name, qualified by the schema and quoted on PostgreSQL."""
        if not self.postgres:
            return name
        return f"{quote(self.schema)}.{quote(name)}"

    def in_list(self, values: Sequence[Any]) -> str:
        return ", ".join("?" * len(values))


def create_schema(conn: Any, schema: str) -> None:
    """``CREATE SCHEMA IF NOT EXISTS`` on an autocommit psycopg connection, safe when several
    processes create the same schema at once (the loser's unique violation means it exists)."""
    import psycopg

    with suppress(psycopg.errors.UniqueViolation):
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")


def quote(identifier: str) -> str:
    """A quoted SQL identifier (psycopg's quoting rules)."""
    from psycopg import sql

    return sql.Identifier(identifier).as_string(None)


@lru_cache(maxsize=8192)
def compile_statement(statement: str, style: str) -> str:
    """A qmark statement in the driver's ``style``: ``qmark`` (sqlite3: as written) or ``format``
    (psycopg: ``?`` -> ``%s`` outside literals, identifiers and comments; ``%`` -> ``%%``)."""
    if style == "qmark":
        return statement
    if style != "format":
        raise ValueError(f"no parameter style {style!r}")
    out: list[str] = []
    i, n = 0, len(statement)
    while i < n:
        char = statement[i]
        if char in "'\"":  # a string literal or a quoted identifier ('' and "" escape themselves)
            end = i + 1
            while end < n:
                if statement[end] == char:
                    if end + 1 < n and statement[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            out.append(statement[i:end + 1].replace("%", "%%"))
            i = end + 1
        elif statement.startswith("--", i):
            end = statement.find("\n", i)
            end = n if end < 0 else end
            out.append(statement[i:end].replace("%", "%%"))
            i = end
        elif statement.startswith("/*", i):
            end = statement.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(statement[i:end].replace("%", "%%"))
            i = end
        else:
            out.append("%s" if char == "?" else "%%" if char == "%" else char)
            i += 1
    return "".join(out)
