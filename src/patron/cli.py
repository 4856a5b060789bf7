"""The ``patron`` command line. Each command opens one unit of work and commits once."""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from patron.core.db import get_database
from patron.core.errors import PatronError
from patron.core.heap import settle_startup_heap
from patron.core.migrate import upgrade

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(help="Patron: loyalty and retention platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")

# Domain command groups: (module, attribute, name). Each is a Typer app.
_GROUPS = (
    ("patron.members.commands", "app", "member"),
    ("patron.program.commands", "app", "program"),
    ("patron.events.commands", "app", "import"),
    ("patron.ledger.commands", "app", "jobs"),
    ("patron.analytics.commands", "app", "analytics"),
    ("patron.rewards.commands", "app", "rewards"),
)
for _module, _attr, _name in _GROUPS:
    try:
        app.add_typer(getattr(import_module(_module), _attr), name=_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise

# Top-level commands that live with their domain: (module, attribute, name).
_COMMANDS = (("patron.analytics.report", "report", "report"),)
for _module, _attr, _name in _COMMANDS:
    app.command(_name)(getattr(import_module(_module), _attr))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    database = get_database()
    upgrade(database)
    console.print(f"[green]Database at {database.engine.url.render_as_string()} is up to date.")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key (a till, a shop).")],
    scope: Annotated[list[str], typer.Option(help="admin, pos or read; repeat for several.")],
) -> None:
    """Create an API key. The key is printed once; only its hash is stored."""
    from patron.access.service import create_api_key

    database = get_database()
    upgrade(database)
    with database.unit_of_work() as session:
        row, secret = create_api_key(session, name, scope)
    console.print(f"Created key '{row.name}' with scopes {', '.join(row.scopes)}.")
    console.print("Store it now; it cannot be shown again:")
    print(secret)


@apikey_app.command("list")
def apikey_list() -> None:
    """List API keys (never their secrets)."""
    from rich.table import Table

    from patron.access.service import list_api_keys

    with get_database().unit_of_work() as session:
        rows = list_api_keys(session)
        table = Table("prefix", "name", "scopes", "created", "revoked")
        for r in rows:
            table.add_row(
                r.prefix,
                r.name,
                ",".join(r.scopes),
                f"{r.created_at:%Y-%m-%d}",
                f"{r.revoked_at:%Y-%m-%d}" if r.revoked_at else "",
            )
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(prefix: str) -> None:
    """Revoke a key by its prefix (the part after ``ptr_``)."""
    from patron.access.service import revoke_api_key

    with get_database().unit_of_work() as session:
        revoke_api_key(session, prefix)
    console.print(f"Revoked key {prefix}.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Upgrade the database and serve the API (docs at /docs)."""
    import uvicorn

    from patron.core.config import get_settings

    settings = get_settings()
    upgrade(get_database())
    uvicorn.run(
        "patron.api.app:serve_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level="warning",
    )


@app.command()
def demo(
    members: Annotated[int, typer.Option(help="How many members to generate.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve when built.")
    ] = True,
) -> None:
    """Build a realistic synthetic shop into the database and serve it."""
    from patron.demo.build import build_demo

    summary = build_demo(get_database(), members=members, seed=seed, console=console)
    if serve_after:
        console.print(f"[bold]Serving on http://127.0.0.1:8000 — API key: {summary.admin_key}")
        serve(None, None, None)


def main() -> None:
    """Entry point: map Patron errors to a message and an exit code."""
    settle_startup_heap()  # every command module is imported by now
    try:
        # Outside standalone mode click returns a command's ``typer.Exit(code)``
        # instead of exiting with it: passed on here, or every exit would be 0.
        code = app(standalone_mode=False)
    except PatronError as exc:
        where = f" ({exc.field})" if exc.field else ""
        err_console.print(f"[red]error{where}: {exc.detail}")
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except (OperationalError, ProgrammingError) as exc:
        err_console.print(f"[red]database error: {exc.orig}")
        if _schema_missing(exc):
            err_console.print("The database has no Patron schema yet: run 'patron db upgrade'.")
        sys.exit(1)
    except Exception as exc:
        # A usage error (a missing option, an unknown command): shown as click shows
        # it, with its exit code (2). Recognised by its shape, because typer 0.29
        # raises the click exceptions of its own vendored copy (``typer._click``),
        # which are not ``click.ClickException``; older typers raise click's.
        show, usage_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(usage_code, int):
            show()
            sys.exit(usage_code)
        raise
    if isinstance(code, int) and code:
        sys.exit(code)


def _schema_missing(exc: DBAPIError) -> bool:
    """A table is missing: SQLite's "no such table", PostgreSQL's undefined_table."""
    return "no such table" in str(exc.orig) or getattr(exc.orig, "sqlstate", None) == "42P01"


if __name__ == "__main__":
    main()
