"""Value rules shared by every aggregate: money, UTC time, and the database setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput, NotOnTheHour, UnknownCurrency
from domain.money import Money, check_amount, quantize
from domain.timeutil import check_on_the_hour, check_utc, hour_index, hour_index_ceil, hour_start
from storage.urls import parse_database_url


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("0.125", "USD", "0.12"), ("0.135", "USD", "0.14"), ("2.5", "JPY", "2"), ("3.5", "JPY", "4"),
    ("-0.125", "EUR", "-0.12"),
])
def test_rounding_is_half_to_even_at_the_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert str(quantize(Decimal(amount), currency)) == expected


def test_money_refuses_floats_and_mixed_currencies() -> None:
    with pytest.raises(InvalidInput, match="amount"):
        check_amount(0.1, "USD", field="amount")
    with pytest.raises(InvalidInput, match="currency"):
        Money(Decimal(1), "USD") + Money(Decimal(1), "EUR")
    with pytest.raises(UnknownCurrency):
        Money(Decimal(1), "XXX")
    assert Money(Decimal("1.10"), "USD") + Money(Decimal("2.205"), "USD") == Money(Decimal("3.305"), "USD")


def test_times_must_be_aware_and_are_normalised_to_utc() -> None:
    with pytest.raises(InvalidInput, match="at: naive"):
        check_utc(datetime(2026, 1, 1), field="at")
    plus_two = datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert check_utc(plus_two, field="at") == datetime(2026, 1, 1, tzinfo=UTC)
    assert check_utc("2026-01-01T00:00:00Z", field="at").tzinfo == UTC
    with pytest.raises(InvalidInput, match="at"):
        check_utc("2026-01-01T00:00:00", field="at")
    with pytest.raises(InvalidInput, match="at"):
        check_utc(datetime(1999, 1, 1, tzinfo=UTC), field="at")
    with pytest.raises(NotOnTheHour, match="start"):
        check_on_the_hour(datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), field="start")


def test_hour_index_floor_and_ceiling() -> None:
    on = datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert hour_start(hour_index(on)) == on
    assert hour_index_ceil(on) == hour_index(on)
    assert hour_index_ceil(on + timedelta(microseconds=1)) == hour_index(on) + 1
    assert hour_index(on + timedelta(minutes=59)) == hour_index(on)


@pytest.mark.parametrize(("url", "kind"), [
    ("memory:", "memory"), ("./ledger.db", "sqlite"), ("sqlite:///tmp/x.db", "sqlite"),
    ("postgresql://u:p@db:6543/ledger?schema=s1", "postgres"), ("postgres://db/ledger", "postgres"),
])
def test_one_setting_selects_the_store(url: str, kind: str) -> None:
    assert parse_database_url(url).kind == kind


def test_a_postgres_url_is_parsed_into_the_event_store_environment() -> None:
    env = parse_database_url("postgresql://u:p%40ss@db:6543/ledger?schema=s1").event_store_env()
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == ("db", "6543", "ledger")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_SCHEMA"]) == ("u", "p@ss", "s1")


@pytest.mark.parametrize("url", ["mysql://db/x", "postgresql://db/", "postgresql://db:notaport/x"])
def test_unsupported_database_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        parse_database_url(url)


def test_database_urls_are_parsed_by_libpq_with_every_parameter_and_our_schema() -> None:
    from storage.urls import conninfo

    config = parse_database_url("postgresql://u:p%20w@db.example:6543/ledger?sslmode=require&connect_timeout=3"
                                "&schema=s1&application_name=ledger")
    assert (config.user, config.password, config.host, config.port, config.dbname) == ("u", "p w", "db.example",
                                                                                       6543, "ledger")
    assert config.schema == "s1"
    assert dict(config.options) == {"sslmode": "require", "connect_timeout": "3", "application_name": "ledger"}
    text = conninfo(config)
    assert "sslmode=require" in text and "connect_timeout=3" in text and "password='p w'" in text
    assert "schema" not in text
    assert config.event_store_env()["POSTGRES_CONNECT_TIMEOUT"] == "3"
    assert parse_database_url("postgresql://[::1]:5433/d").host == "::1"


def test_an_unknown_libpq_parameter_is_refused_and_the_password_never_shown() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_database_url("postgresql://u:secret@db/ledger?bogus=1")
    assert caught.value.field == "db" and "bogus" in caught.value.message and "secret" not in caught.value.message


@given(password=st.text(min_size=1, max_size=30).filter(lambda t: "\x00" not in t))
def test_any_percent_encoded_password_survives_the_url(password: str) -> None:
    from urllib.parse import quote

    config = parse_database_url(f"postgresql://someone:{quote(password, safe='')}@db/ledger?schema=x")
    assert config.password == password and config.schema == "x"
