"""``patron program ...``: load, show and check program files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.syntax import Syntax

from patron.core.clock import now
from patron.core.db import get_database
from patron.program.loader import load_program_file
from patron.program.service import current_version, save_program

app = typer.Typer(help="The program definition (YAML).", no_args_is_help=True)
console = Console()


@app.command("load")
def load(file: Annotated[Path, typer.Argument(help="Program YAML file.")]) -> None:
    """Validate FILE and make it the program in force (a new version)."""
    program = load_program_file(file)
    with get_database().unit_of_work() as session:
        row = save_program(session, program, source=file.read_text(), actor="cli", at=now())
    console.print(
        f"[green]Loaded '{program.name}' as version {row.version} ({len(program.rules)} rules)."
    )


@app.command("check")
def check(file: Annotated[Path, typer.Argument(help="Program YAML file.")]) -> None:
    """Validate FILE without loading it."""
    program = load_program_file(file)
    console.print(f"[green]{file} is valid: '{program.name}', {len(program.rules)} rules.")


@app.command("show")
def show() -> None:
    """Print the program in force."""
    with get_database().unit_of_work() as session:
        row = current_version(session)
        if row is None:
            console.print("No program loaded yet: patron program load FILE")
            raise typer.Exit(1)
        console.print(f"[bold]{row.name}[/] version {row.version}, {row.created_at:%Y-%m-%d %H:%M}")
        console.print(Syntax(row.source, "yaml"))
