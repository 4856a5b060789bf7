"""``patron import events FILE``: CSV or JSON Lines through the real engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from patron.core.db import get_database
from patron.core.errors import InvalidInput
from patron.events.importer import ImportReport, import_file
from patron.program.service import require_program

app = typer.Typer(help="Import data files.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@app.command("events")
def events(
    file: Annotated[Path, typer.Argument(help="A .csv or .jsonl file of events.")],
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = 1000,
    show_errors: Annotated[int, typer.Option(min=0, help="How many rejected rows to list.")] = 20,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="Read times written without a zone in this one: an IANA name "
            "(Europe/London) or 'program' for the program's. Without it they are refused."
        ),
    ] = None,
) -> None:
    """Import events; bad rows are reported by line number and good rows still land."""
    if not file.is_file():
        err_console.print(f"[red]{'not a file' if file.exists() else 'no such file'}: {file}")
        raise typer.Exit(2)
    zone = None if timezone is None else _zone(timezone)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"Importing {file.name}", total=None)

        def advance(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        report = import_file(
            get_database(), file, batch_size=batch_size, on_progress=advance, zone=zone
        )
    _print_report(report, show_errors)
    if report.rejected and not report.accepted and not report.duplicates:
        raise typer.Exit(1)


def _zone(name: str) -> ZoneInfo:
    """The zone ``--timezone`` names; the program's for 'program'."""
    if name == "program":
        with get_database().unit_of_work() as session:
            return require_program(session)[1].zone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r}: use an IANA name such as Europe/London, or 'program'",
            field="timezone",
        ) from None


def _print_report(report: ImportReport, show_errors: int) -> None:
    table = Table("accepted", "duplicates", "rejected", "points posted", "events/s")
    table.add_row(
        str(report.accepted),
        str(report.duplicates),
        str(report.rejected),
        str(report.points),
        f"{report.rate:,.0f}",
    )
    console.print(table)
    for line, field, detail in report.errors[:show_errors]:
        # A validation error's detail already begins with its field ("amount: ...").
        said = detail.removeprefix(f"{field}: ")
        console.print(f"  line {line}: [yellow]{field or '-'}[/]: {said}")
    if len(report.errors) > show_errors:
        console.print(f"  ... and {len(report.errors) - show_errors} more")
