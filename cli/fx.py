"""`ledger fx record|import|list`: exchange rates as facts (finance).

``ledger fx import FILE.csv`` takes a header line and one rate a line, columns (any order,
nothing else): ``base,quote,rate,effective_date,source`` -- 1 base = rate quote from
effective_date (YYYY-MM-DD) on. The file is one batch, all or nothing: a bad row stops the
import with one line naming the file's line number and the field, and nothing from the file is
recorded. Rates already recorded with the same rate and source are counted as unchanged, so a
re-import records nothing and says so; another rate for a recorded pair and date is a correction.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from cli.options import DEFAULT_DATABASE, DbOption, FormatOption, checked, opened_ledger, stdout_console
from cli.render import Format
from domain.errors import InvalidInput, LedgerError
from domain.service.fx import FxReceipt

COLUMNS = ("base", "quote", "rate", "effective_date", "source")


def summary(receipt: FxReceipt, what: str) -> str:
    recorded, corrected, unchanged = (receipt.count(s) for s in ("recorded", "corrected", "unchanged"))
    if receipt.position is None:
        return f"nothing recorded: all {unchanged} rate(s) in {what} were recorded already"
    return (f"recorded {recorded} new rate(s), {corrected} correction(s), {unchanged} unchanged from {what} "
            f"(log position {receipt.position})")


def record_command(
    base: Annotated[str, typer.Option(help="Base currency (ISO 4217), e.g. EUR")],
    quote: Annotated[str, typer.Option(help="Quote currency, e.g. USD")],
    rate: Annotated[str, typer.Option(help="1 base = RATE quote (exact decimal)")],
    date: Annotated[str, typer.Option("--date", help="Effective date YYYY-MM-DD")],
    source: Annotated[str, typer.Option(help="Where it comes from, e.g. 'ECB reference rate'")],
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Record one rate (the same rate again records nothing; another rate for that date corrects it)."""
    checked(db)
    with opened_ledger(db) as ledger:
        try:
            receipt = ledger.record_fx_rates([{"base": base.strip().upper(), "quote": quote.strip().upper(),
                                               "rate": rate, "effective_date": date, "source": source}],
                                             where=["--"])
        except InvalidInput as error:  # the domain names the field; the option is --date
            raise InvalidInput(error.message.replace("--effective_date", "--date"), field=error.field) from None
    outcome = receipt.outcomes[0]
    typer.echo(f"{outcome.status}: 1 {outcome.fact.base} = {outcome.fact.rate} {outcome.fact.quote} from "
               f"{outcome.fact.effective_date}" + (f" (log position {receipt.position})" if receipt.position else ""))


def read_rates(path: Path) -> tuple[list[dict[str, object]], list[str]]:
    """The file's rows and, for each, ``"FILE line N: "``; InvalidInput for a bad header."""
    if not path.is_file():
        raise LedgerError(f"FILE: no file {path}", field="FILE")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [c for c in COLUMNS if c not in header]
            extra = [c for c in header if c not in COLUMNS]
            if missing or extra:
                raise InvalidInput(f"{path} line 1: the header must name the columns {','.join(COLUMNS)} "
                                   f"({'missing ' + ', '.join(missing) if missing else 'unknown ' + ', '.join(extra)})",
                                   field="header")
            rows: list[dict[str, object]] = []
            where: list[str] = []
            for row in reader:
                if None in row:
                    raise InvalidInput(f"{path} line {reader.line_num}: more fields than the header's "
                                       f"{len(COLUMNS)}", field="line")
                rows.append({k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items()})
                where.append(f"{path} line {reader.line_num}: ")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text", field="FILE") from None
    except csv.Error as error:
        raise InvalidInput(f"{path}: not a CSV file ({error})", field="FILE") from None
    return rows, where


def import_command(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="CSV: base,quote,rate,effective_date,source")],
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Record every rate of a CSV file in one transaction (all or nothing)."""
    rows, where = read_rates(path)
    if not rows:
        raise InvalidInput(f"{path}: no rates after the header", field="FILE")
    checked(db)
    with opened_ledger(db) as ledger:
        receipt = ledger.record_fx_rates(rows, where=where)
    typer.echo(summary(receipt, str(path)))


def list_command(db: DbOption = DEFAULT_DATABASE, fmt: FormatOption = Format.table) -> None:
    """Every pair's rates by effective date, as in force now."""
    from cli.options import stderr_console
    from cli.report import run_report

    raise typer.Exit(run_report(db, "fx_rates", {}, fmt, out=stdout_console(), err=stderr_console()))


def register(app: typer.Typer) -> None:
    """Add `fx record|import|list` to the `ledger` app."""
    fx = typer.Typer(no_args_is_help=True, help="Exchange rates (finance): record, import a CSV, list.")
    fx.command("record")(record_command)
    fx.command("import")(import_command)
    fx.command("list")(list_command)
    app.add_typer(fx, name="fx")

