"""The e2e HTTP fixtures (TestClient on SQLite, a real uvicorn server on PostgreSQL) reused here."""

from tests.e2e.conftest import (  # noqa: F401  (pytest finds fixtures by name)
    any_api,
    postgres_api,
    served_api,
    sqlite_api,
    sqlite_server_api,
)
