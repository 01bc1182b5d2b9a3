"""What differs between SQLite and PostgreSQL in our own SQL.

Every part that writes its own tables (the projections, the API's tokens and idempotency keys,
the audit chain) goes through here for placeholders, ``FOR UPDATE``, exact decimals
(``numeric`` vs text), binary columns and quoted schema-qualified names.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
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
        return statement.replace("?", "%s") if self.postgres else statement

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
