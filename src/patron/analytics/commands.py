"""``patron analytics ...``: retention metrics, CLV fits and exports.

Each subcommand lives next to the logic it drives and is registered here, so
this file stays a table of contents.
"""

from __future__ import annotations

import typer

from patron.analytics.clv_command import clv
from patron.analytics.export import export

app = typer.Typer(
    help="Retention analytics: metrics, customer lifetime value, exports.", no_args_is_help=True
)

app.command("export")(export)  # every figure as CSV (``patron report`` prints them)
app.command("clv")(clv)  # purchase + spend model fits, per-customer CLV (patron.analytics.clv)
