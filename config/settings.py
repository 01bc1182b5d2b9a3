"""The ledger's settings, read once from the environment (prefix ``LEDGER_``), then ``.env``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from documents.model import DEFAULT_SELLER_ADDRESS, DEFAULT_SELLER_NAME
from domain.storage import DEFAULT_DATABASE

PAGE_SIZE_CAP = 10_000  # the most LEDGER_PAGE_SIZE and LEDGER_MAX_PAGE_SIZE may be, and a request's limit


# A code or prefix of document numbers: letters and digits (``GL`` in ``GL-2026-000123``).
NUMBER_PART = r"^[A-Za-z0-9]{1,12}$"


class NumberingSettings(BaseSettings):
    """How invoices and credit notes are numbered: ``{prefix}-{year}-{sequence:06d}``, one gapless
    sequence per seller code, kind and year (``domain.aggregates.numbering``). Every ledger opened
    through ``bootstrap.open_ledger`` reads these (the command line and the API alike), so all
    writers draw from the same sequences."""

    # The environment first, then a .env file in the working directory, then the defaults.
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore", env_file=".env",
                                      env_file_encoding="utf-8")

    # The seller's code (LEDGER_SELLER_CODE): which sequences numbers are drawn from. Changing it
    # starts new sequences (at 1), so set it once.
    seller_code: str = Field(default="GL", pattern=NUMBER_PART)
    # The prefix of invoice numbers (LEDGER_INVOICE_PREFIX) and of credit notes'
    # (LEDGER_CREDIT_NOTE_PREFIX); a sequence keeps the prefix it started with for its year.
    invoice_prefix: str = Field(default="GL", pattern=NUMBER_PART)
    credit_note_prefix: str = Field(default="CN", pattern=NUMBER_PART)

    def ledger_env(self) -> dict[str, str]:
        """What the ledger's environment takes (``domain.aggregates.numbering.Numbering``)."""
        return {"SELLER_CODE": self.seller_code, "INVOICE_PREFIX": self.invoice_prefix,
                "CREDIT_NOTE_PREFIX": self.credit_note_prefix}


class Settings(NumberingSettings):
    """``LEDGER_DATABASE_URL``, ``LEDGER_MAX_BODY_BYTES``, ... (see the README)."""

    database_url: str = DEFAULT_DATABASE
    # A streaming replica of database_url (LEDGER_READ_DATABASE_URL; PostgreSQL only): report and
    # tenant-list reads use it, read-only; writes, projections and the API tables use database_url.
    read_database_url: str | None = None
    # A usage batch of 50,000 records is ~8 MB of JSON; anything larger is refused with 413.
    max_body_bytes: int = 10 * 1024 * 1024
    # How long a report GET with min_position waits for the projections to catch up.
    read_wait_seconds: float = 5.0
    # Follow the log with the projection runner in the API process (off when `ledger project`
    # workers run separately).
    run_projector: bool = True
    # ... in a child process of its own rather than a thread (LEDGER_PROJECTOR_PROCESS): the
    # follower's CPU then does not compete with requests for this process's GIL. `ledger serve`
    # turns it on for PostgreSQL (server/follower.py).
    projector_process: bool = False
    projector_poll_seconds: float = 0.2
    # Bookings queued on one GPU pool share one transaction (LEDGER_GROUP_COMMIT;
    # domain/service/batching.py); false: each booking commits alone.
    group_commit: bool = True
    # The longest a request waits for a database connection (pool checkout, connect) before it
    # is answered 503 database-unavailable with Retry-After (LEDGER_DB_TIMEOUT_SECONDS).
    db_timeout_seconds: float = 5.0
    # The longest a read (GET) may take before it is answered 503 deadline-exceeded with
    # Retry-After (LEDGER_REQUEST_DEADLINE_SECONDS; 0: no deadline). Longer than read_wait_seconds,
    # so a report that waits for the projections still answers by itself.
    request_deadline_seconds: float = 30.0
    # PostgreSQL statement_timeout of every query the API process runs for a request
    # (LEDGER_STATEMENT_TIMEOUT_SECONDS; 0: none): a runaway query is cancelled and answered 503
    # deadline-exceeded with Retry-After. Table creation and the projection follower are exempt.
    statement_timeout_seconds: float = Field(default=10.0, ge=0)
    # Report and tenant-list reads share this many projection connections per process
    # (LEDGER_READ_CONNECTIONS); a request waits up to db_timeout_seconds for one.
    read_connections: int = Field(default=4, ge=1, le=64)
    # A list's page when the request names no ``limit`` (LEDGER_PAGE_SIZE), and the largest
    # ``limit`` a request may name (LEDGER_MAX_PAGE_SIZE; larger is 422 naming ``limit``).
    page_size: int = Field(default=100, ge=1, le=PAGE_SIZE_CAP)
    max_page_size: int = Field(default=1000, ge=1, le=PAGE_SIZE_CAP)
    # GET /ready answers 503 while any projection is more than this many events behind the log
    # (LEDGER_READY_MAX_LAG_EVENTS).
    ready_max_lag_events: int = Field(default=10_000, ge=0)
    # Log lines as text or one JSON object a line (LEDGER_LOG_FORMAT; `ledger serve --log-format`);
    # auto: text when stderr is a terminal, else json.
    log_format: Literal["auto", "text", "json"] = "auto"
    # The currency consolidated reports convert to when a request names none
    # (LEDGER_REPORTING_CURRENCY; e.g. the revenue_consolidated report's `currency`).
    reporting_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    # Who issues the invoices, printed on every invoice document (LEDGER_SELLER_NAME,
    # LEDGER_SELLER_ADDRESS); the defaults are the demo's fictional company.
    seller_name: str = Field(default=DEFAULT_SELLER_NAME, min_length=1, max_length=200)
    seller_address: str = Field(default=DEFAULT_SELLER_ADDRESS, max_length=400)
    # The seller's VAT registration number printed on invoices (LEDGER_SELLER_VAT_NUMBER; unset:
    # none printed).
    seller_vat_number: str | None = Field(default=None, max_length=32)
    # The key that signs the dashboard's session cookies (LEDGER_UI_SECRET); unset: a random key
    # per process (sessions end when the server restarts; give one key to every API process).
    ui_secret: SecretStr | None = None

    @field_validator("max_page_size")
    @classmethod
    def _holds_a_default_page(cls, value: int, info: ValidationInfo) -> int:
        page = info.data.get("page_size")
        if page is not None and value < page:
            raise ValueError(f"smaller than LEDGER_PAGE_SIZE ({page}): the default page must be allowed")
        return value
