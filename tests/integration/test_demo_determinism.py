"""`ledger demo --seed S` writes the same log, byte for byte, on any fresh store: the same ids,
times, payloads and audit chain head (cli.demo.ids, the simulated clock); another seed, another log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import run
from tests.conftest import postgres_admin_url
from tests.postgres_server import schema_url, scratch_schema

MONTHS = "1"


def demo_log(db: str, seed: int, out: Path, capsys: pytest.CaptureFixture[str],
             *extra: str) -> tuple[str, bytes]:
    """Run the demo into the fresh store ``db``; return its `audit head` and its exported log."""
    assert run(["demo", "--months", MONTHS, "--seed", str(seed), "--db", db, *extra]) == 0
    capsys.readouterr()
    assert run(["audit", "head", "--db", db]) == 0
    head = capsys.readouterr().out.strip()
    assert run(["export", "events", "--db", db, "--out", str(out)]) == 0
    capsys.readouterr()
    return head, out.read_bytes()


def test_the_same_seed_writes_the_same_log_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = demo_log(str(tmp_path / "a.db"), 11, tmp_path / "a.jsonl", capsys)
    second = demo_log(str(tmp_path / "b.db"), 11, tmp_path / "b.jsonl", capsys)
    other = demo_log(str(tmp_path / "c.db"), 12, tmp_path / "c.jsonl", capsys)
    assert first[0] == second[0]  # position and chain head
    assert first[1] == second[1]  # every exported line, byte for byte
    assert other[0] != first[0] and other[1] != first[1]
    position = int(first[0].split(":")[0])
    assert position > 100


def test_the_start_month_moves_the_calendar_and_is_part_of_the_log(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    moved = demo_log(str(tmp_path / "a.db"), 11, tmp_path / "a.jsonl", capsys, "--start", "2025-03")
    again = demo_log(str(tmp_path / "b.db"), 11, tmp_path / "b.jsonl", capsys, "--start", "2025-03")
    default = demo_log(str(tmp_path / "c.db"), 11, tmp_path / "c.jsonl", capsys)
    assert moved == again
    assert moved[0] != default[0]
    assert b'"timestamp":"2025-03-01T00:00:00+00:00"' in moved[1]


@pytest.fixture
def two_postgres_urls() -> Iterator[tuple[str, str]]:
    admin = postgres_admin_url()
    with scratch_schema(admin) as first, scratch_schema(admin) as second:
        yield schema_url(admin, first), schema_url(admin, second)


@pytest.mark.slow
@pytest.mark.postgres
def test_the_same_seed_writes_the_same_log_on_postgres(two_postgres_urls: tuple[str, str], postgres_url: str,
                                                       tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = demo_log(two_postgres_urls[0], 11, tmp_path / "a.jsonl", capsys)
    second = demo_log(two_postgres_urls[1], 11, tmp_path / "b.jsonl", capsys)
    other = demo_log(postgres_url, 12, tmp_path / "c.jsonl", capsys)
    on_sqlite = demo_log(str(tmp_path / "a.db"), 11, tmp_path / "d.jsonl", capsys)
    assert first == second
    assert other[0] != first[0] and other[1] != first[1]
    assert on_sqlite == first  # the store does not change the log either
