"""The ``patron`` command line against a temporary SQLite file.

Commands run through ``typer.testing.CliRunner`` on ``patron.cli.app``; a
``PatronError`` then surfaces as ``result.exception``. How ``patron.cli.main``
turns it into a message and an exit code is checked separately.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select
from typer.testing import CliRunner, Result

from patron import cli
from patron.access.service import KeyVerifier
from patron.core import db as db_module
from patron.core.clock import FrozenClock
from patron.core.config import get_settings
from patron.core.db import Database, get_database
from patron.core.errors import InvalidInput, NotFound, PatronError, Unauthorized
from patron.core.migrate import current_revision
from patron.events.models import Event
from patron.ledger.models import LedgerEntry, PointLot
from patron.ledger.service import get_statement
from patron.members.models import Member
from patron.program.loader import ProgramInvalid
from patron.program.models import ProgramVersion
from tests.integration.conftest import count

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "program.yaml"
Run = Callable[..., Result]


@pytest.fixture
def patron(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FrozenClock) -> Iterator[Run]:
    """``patron(*args)`` runs a command on a fresh SQLite file; ``ok=False`` allows failure."""
    monkeypatch.setenv("PATRON_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("COLUMNS", "200")  # keep Rich from wrapping table cells
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(db_module, "_databases", {})
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(cli.app, list(args))
        if ok:
            assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
        return result

    try:
        yield run
    finally:
        for database in db_module._databases.values():
            database.dispose()
        get_settings.cache_clear()


@pytest.fixture
def database(patron: Run) -> Database:
    """The CLI's database, migrated by ``patron db upgrade``."""
    patron("db", "upgrade")
    return get_database()


@pytest.fixture
def loaded(patron: Run, database: Database) -> Database:
    patron("program", "load", str(EXAMPLE))
    return database


def summary(output: str) -> dict[str, str]:
    """The import report table as {column: value}."""
    lines = output.splitlines()
    at = next(i for i, line in enumerate(lines) if "accepted" in line and "rejected" in line)
    cells = [re.split(r"\s*[┃│|]\s*", line.strip(" ┃│|")) for line in lines[at:]]
    header = cells[0]
    values = next(c for c in cells[1:] if len(c) == len(header) and c[0].strip().isdigit())
    return dict(zip(header, values, strict=True))


def rows(database: Database) -> tuple[int, int, int, int]:
    return (
        count(database, Event),
        count(database, LedgerEntry),
        count(database, PointLot),
        count(database, Member),
    )


def member_id(database: Database, external_id: str) -> int:
    with database.unit_of_work() as session:
        found = session.scalar(select(Member.id).where(Member.external_id == external_id))
        assert found is not None
        return found


# -- db and api keys ----------------------------------------------------------------
def test_db_upgrade_creates_the_schema_and_can_run_again(patron: Run) -> None:
    first = patron("db", "upgrade")
    assert "is up to date" in first.output and "cli.db" in first.output
    database = get_database()
    tables = set(inspect(database.engine).get_table_names())
    assert {"members", "events", "ledger_entries", "point_lots", "api_keys"} <= tables
    revision = current_revision(database)
    assert revision is not None
    patron("db", "upgrade")
    assert current_revision(database) == revision


def test_apikey_create_list_revoke(patron: Run, database: Database) -> None:
    created = patron("apikey", "create", "--name", "till-1", "--scope", "pos", "--scope", "read")
    assert "Created key 'till-1' with scopes pos, read." in created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("ptr_")
    prefix = secret.split("_")[1]
    with database.unit_of_work() as session:
        principal = KeyVerifier().verify(session, secret)
    assert (principal.name, principal.scopes) == ("till-1", frozenset({"pos", "read"}))

    listed = patron("apikey", "list").output
    assert re.search(rf"{prefix}\s*│\s*till-1\s*│\s*pos,read\s*│\s*2026-03-02\s*│\s*│", listed)
    assert secret.split("_", 2)[2] not in listed  # never the secret

    assert f"Revoked key {prefix}." in patron("apikey", "revoke", prefix).output
    assert re.search(
        rf"{prefix}.*till-1.*2026-03-02\s*│\s*2026-03-02", patron("apikey", "list").output
    )
    with database.unit_of_work() as session, pytest.raises(Unauthorized):
        KeyVerifier().verify(session, secret)


def test_apikey_errors(patron: Run, database: Database) -> None:
    bad_scope = patron("apikey", "create", "--name", "x", "--scope", "root", ok=False)
    assert bad_scope.exit_code != 0
    assert isinstance(bad_scope.exception, InvalidInput) and bad_scope.exception.field == "scopes"
    unknown = patron("apikey", "revoke", "nope", ok=False)
    assert isinstance(unknown.exception, NotFound) and unknown.exception.field == "prefix"
    missing = patron("apikey", "create", "--name", "x", ok=False)
    assert missing.exit_code == 2 and "--scope" in missing.output
    assert "prefix" in patron("apikey", "list").output  # the table, still empty


# -- program -------------------------------------------------------------------------
def test_program_load_check_and_show(patron: Run, database: Database) -> None:
    checked = patron("program", "check", str(EXAMPLE))
    assert "is valid: 'Bean There Café', 12 rules." in checked.output
    assert count(database, ProgramVersion) == 0  # check loads nothing
    loaded = patron("program", "load", str(EXAMPLE))
    assert "Loaded 'Bean There Café' as version 1 (12 rules)." in loaded.output
    assert "version 2" in patron("program", "load", str(EXAMPLE)).output
    shown = patron("program", "show").output
    assert "Bean There Café version 2" in shown and "base-earn" in shown
    with database.unit_of_work() as session:
        latest = session.scalar(select(ProgramVersion).where(ProgramVersion.version == 2))
        assert latest is not None and latest.created_by == "cli"


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    path.write_text(text.replace("effect: {fixed: 50}", "effect: {fixed: 50, bonus: 3}"))
    return path


@pytest.mark.parametrize("command", ["check", "load"])
def test_broken_program_fails_naming_the_path(
    patron: Run, database: Database, broken: Path, command: str
) -> None:
    result = patron("program", command, str(broken), ok=False)
    assert result.exit_code != 0
    error = result.exception
    assert isinstance(error, ProgramInvalid)
    assert error.field == "rules[2].effect.bonus"
    assert str(broken) in error.detail and "rules[2].effect.bonus" in error.detail
    assert count(database, ProgramVersion) == 0


def test_entry_point_prints_the_problem_and_exits_with_its_code(
    patron: Run,
    database: Database,
    broken: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "argv", ["patron", "program", "check", str(broken)])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == InvalidInput.exit_code == 2
    err = capsys.readouterr().err
    assert "error (rules[2].effect.bonus):" in err
    assert str(broken) in err


def run_main(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """``patron *argv`` through the real entry point; its exit code."""
    monkeypatch.setattr(sys, "argv", ["patron", *argv])
    try:
        cli.main()
    except SystemExit as done:
        return int(done.code or 0)
    return 0


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["apikey", "create", "--scope", "admin"], "Missing option '--name'"),
        (["no-such-command"], "No such command 'no-such-command'"),
        (["member", "show", "abc"], "Invalid value for 'member_id'"),
    ],
)
def test_entry_point_answers_a_usage_error_with_usage_not_a_traceback(
    patron: Run,
    argv: list[str],
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_main(argv, monkeypatch) == 2
    err = capsys.readouterr().err
    assert said in err and "Usage: patron" in err
    assert "Traceback" not in err


def test_entry_point_exits_with_a_commands_own_exit_code(
    patron: Run,
    loaded: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Outside click's standalone mode ``typer.Exit(code)`` comes back as a return
    value: every exit was 0, an import whose rows were all refused included."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(purchase("p1", "m1", "-1")) + "\n")
    assert run_main(["import", "events", str(bad)], monkeypatch) == 1
    assert run_main(["import", "events", str(tmp_path / "nope.jsonl")], monkeypatch) == 2
    assert run_main(["import", "events", str(tmp_path)], monkeypatch) == 2  # a directory
    assert "not a file" in capsys.readouterr().err
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(purchase("p2", "m1", "5.00")) + "\n")
    assert run_main(["import", "events", str(good)], monkeypatch) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["member", "show", str(2**63)],
        ["rewards", "redeem", str(2**63), "coffee"],
        ["rewards", "cancel", str(2**63)],
    ],
)
def test_ids_no_row_can_have_are_refused_naming_them(
    patron: Run, loaded: Database, argv: list[str]
) -> None:
    """Past a BIGINT, SQLite could not even bind the id (an OverflowError traceback)."""
    result = patron(*argv, ok=False)
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.detail.endswith(f"id is a positive number up to {2**63 - 1}")


def test_a_database_without_the_schema_says_to_upgrade_it(
    patron: Run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(["member", "show", "1"], monkeypatch) == 1
    err = capsys.readouterr().err
    assert "database error: no such table: members" in err
    assert "run 'patron db upgrade'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("url", "said"),
    [("mysql://shop:secret@db/loyalty", "starts mysql://"), ("patron.db", "has no scheme://")],
)
def test_a_database_url_patron_cannot_use_is_named_without_its_password(
    patron: Run,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    said: str,
) -> None:
    monkeypatch.setenv("PATRON_DATABASE_URL", url)
    get_settings.cache_clear()
    assert run_main(["member", "list"], monkeypatch) == InvalidInput.exit_code
    err = capsys.readouterr().err
    assert f"error (PATRON_DATABASE_URL): PATRON_DATABASE_URL {said}" in err
    assert "secret" not in err and "Traceback" not in err


def test_show_without_a_program(patron: Run, database: Database) -> None:
    result = patron("program", "show", ok=False)
    assert result.exit_code == 1 and "No program loaded yet" in result.output


# -- import, jobs, member show ----------------------------------------------------------
def purchase(ext: str, member: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": ext, "type": "purchase", "member_external_id": member,
            "amount": amount, "channel": "store", **extra}  # fmt: skip


def test_import_jsonl_reports_bad_lines_and_lands_good_ones(
    patron: Run, loaded: Database, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        json.dumps(purchase("p1", "m1", "12.00")),  # 12 base + 100 first purchase
        json.dumps(purchase("p2", "m2", "-3")),
        '{"external_id": "p3", "type": ',
        "",
        json.dumps(purchase("p4", "m1", "5.00", currency="EUR")),
        json.dumps(purchase("p5", "m1", "5.00")),  # 5 base
    ]
    path.write_text("\n".join(lines) + "\n")
    result = patron("import", "events", str(path))
    assert summary(result.output) | {"events/s": ""} == {
        "accepted": "2",
        "duplicates": "0",
        "rejected": "3",
        "points posted": "117",
        "events/s": "",
    }
    out = result.output
    assert re.search(r"line 2: amount: Input should be greater than or equal to 0", out)
    assert re.search(r"line 3: body: malformed JSON", out)
    assert re.search(r"line 5: currency: currency EUR differs from the program currency GBP", out)
    assert "line 4" not in out and "line 1:" not in out and "line 6:" not in out
    assert rows(loaded) == (2, 2, 2, 1)

    again = patron("import", "events", str(path))
    assert (summary(again.output)["accepted"], summary(again.output)["duplicates"]) == ("0", "2")
    assert rows(loaded) == (2, 2, 2, 1)


def test_import_csv_reports_bad_rows_by_line(patron: Run, loaded: Database, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "external_id,type,member_external_id,amount,lines,member_id\n"
        'c1,purchase,m1,,"[{""sku"": ""BEANS"", ""category"": ""beans"", '
        '""quantity"": 1, ""unit_price"": ""8.50""}]",\n'
        "c2,purchase,m2,4.00,[not json,\n"
        "c3,purchase,m2,4.00,,twelve\n"
        "c4,refund,m1,,,\n"
        "c5,purchase,m2,4.00,,\n"
    )
    result = patron("import", "events", str(path))
    report = summary(result.output)
    assert (report["accepted"], report["duplicates"], report["rejected"]) == ("2", "0", "3")
    # c1: 8 base + 9 beans (8.50 rounded half up) + 100 first purchase; c5: 4 + 100
    assert report["points posted"] == "221"
    out = result.output
    assert re.search(r"line 3: body: column lines:", out)
    assert re.search(r"line 4: body: column member_id:", out)
    assert re.search(r"line 5: refund_of: a refund must name the purchase", out)
    assert rows(loaded) == (2, 2, 2, 2)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        # A spreadsheet's UTF-8 export: a byte-order mark before the first column's name.
        ("excel.csv",
         "\ufeffexternal_id,type,member_external_id,amount\r\nb1,purchase,m1,7.00\r\n"),
        # Where the comma is the decimal separator, spreadsheets separate with ";".
        ("semicolons.csv", "external_id;type;member_external_id;amount\nb1;purchase;m1;7.00\n"),
        ("tabs.csv", "external_id\ttype\tmember_external_id\tamount\nb1\tpurchase\tm1\t7.00\n"),
        ("bom.jsonl", "\ufeff" + json.dumps(purchase("b1", "m1", "7.00")) + "\n"),
    ],
)  # fmt: skip
def test_import_reads_what_spreadsheets_and_editors_write(
    patron: Run, loaded: Database, tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode())
    result = patron("import", "events", str(path))
    report = summary(result.output)
    assert (report["accepted"], report["rejected"]) == ("1", "0")
    assert report["points posted"] == "107"  # 7 base + 100 first purchase
    assert rows(loaded) == (1, 1, 1, 1)


def test_import_reads_local_times_in_the_zone_it_is_given(
    patron: Run, loaded: Database, tmp_path: Path
) -> None:
    path = tmp_path / "till.csv"
    path.write_text(
        "external_id,type,member_external_id,amount,occurred_at\n"
        "t1,purchase,m1,7.00,2026-02-20 10:00:00\n"  # New York's winter time: 15:00 UTC
        "t2,purchase,m1,7.00,2026-02-20T10:00:00+00:00\n"  # a zone given is kept
        "t3,purchase,m1,7.00,soon\n"
    )
    refused = patron("import", "events", str(path))
    assert re.search(r"line 2: occurred_at: .*timezone info: end the time with Z", refused.output)
    assert (summary(refused.output)["accepted"], summary(refused.output)["rejected"]) == ("1", "2")

    result = patron("import", "events", str(path), "--timezone", "America/New_York")
    report = summary(result.output)
    assert (report["accepted"], report["duplicates"], report["rejected"]) == ("1", "1", "1")
    assert re.search(r"line 4: occurred_at: ", result.output)
    with loaded.unit_of_work() as session:
        times = {e: at for e, at in session.execute(select(Event.external_id, Event.occurred_at))}
    assert times["t1"].isoformat() == "2026-02-20T15:00:00+00:00"  # 10:00 EST
    assert times["t2"].isoformat() == "2026-02-20T10:00:00+00:00"

    unknown = patron("import", "events", str(path), "--timezone", "Mars/Base", ok=False)
    assert isinstance(unknown.exception, InvalidInput) and unknown.exception.field == "timezone"


def test_import_reads_local_times_in_the_programs_zone(
    patron: Run, loaded: Database, tmp_path: Path
) -> None:
    path = tmp_path / "till.jsonl"
    event = {**purchase("t1", "m1", "7.00"), "occurred_at": "2025-07-01T10:00:00"}
    path.write_text(json.dumps(event) + "\n")
    patron("import", "events", str(path), "--timezone", "program")  # Europe/London
    with loaded.unit_of_work() as session:
        stored = session.scalar(select(Event.occurred_at))
    assert stored is not None and stored.isoformat() == "2025-07-01T09:00:00+00:00"  # BST


@pytest.mark.parametrize("indent", [None, 2])
def test_import_of_a_json_array_fails_at_once_saying_what_it_reads(
    patron: Run, loaded: Database, tmp_path: Path, indent: int | None
) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps([purchase("p1", "m1", "5.00")], indent=indent) + "\n")
    result = patron("import", "events", str(path), ok=False)
    assert isinstance(result.exception, InvalidInput) and result.exception.field == "file"
    assert "JSON Lines, one event object on each line" in result.exception.detail
    assert rows(loaded) == (0, 0, 0, 0)


def test_import_csv_refuses_a_row_with_more_cells_than_columns(
    patron: Run, loaded: Database, tmp_path: Path
) -> None:
    """An unquoted decimal comma would otherwise have been read as 12.00, the 50 lost.
    Names padded with spaces and a trailing empty column, as spreadsheets write
    them, are read as they are meant."""
    path = tmp_path / "events.csv"
    path.write_text(
        "external_id, type ,member_external_id,amount,\n"
        "c1,purchase,m1,12,50,\n"
        "c2,purchase,m1,3.00,\n"
        "c3,purchase,m1,3.00,x\n"
    )
    result = patron("import", "events", str(path))
    report = summary(result.output)
    assert (report["accepted"], report["rejected"]) == ("1", "2")
    assert report["points posted"] == "103"  # c2: 3 base + 100 first purchase
    assert re.search(r"line 2: body: 1 cell more than the header has columns", result.output)
    assert re.search(r"line 4: body: a value in a column whose header is empty", result.output)
    assert rows(loaded) == (1, 1, 1, 1)


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("id,kind,member_external_id", "no external_id or type column; unknown column id, kind"),
        ("external_id,type,price", "unknown column price"),
    ],
)
def test_import_with_a_header_that_cannot_give_events_fails_at_once(
    patron: Run, loaded: Database, tmp_path: Path, header: str, said: str
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(f"{header}\nb1,purchase,7.00\n")
    result = patron("import", "events", str(path), ok=False)
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.field == "header"
    assert said in result.exception.detail and "columns found:" in result.exception.detail
    assert rows(loaded) == (0, 0, 0, 0)


def test_import_all_bad_or_missing_file_fails(
    patron: Run, loaded: Database, tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(purchase("p1", "m1", "-1")) + "\n")
    result = patron("import", "events", str(path), ok=False)
    assert result.exit_code == 1 and "line 1: amount" in result.output
    missing = patron("import", "events", str(tmp_path / "nope.jsonl"), ok=False)
    assert missing.exit_code == 2 and "no such file" in missing.output
    assert rows(loaded) == (0, 0, 0, 0)


def test_jobs_release_pending_points_then_expire_them(
    patron: Run, loaded: Database, tmp_path: Path, clock: FrozenClock
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(purchase("p1", "m1", "12.00")) + "\n")
    patron("import", "events", str(path))
    member = member_id(loaded, "m1")
    shown = patron("member", "show", str(member)).output
    assert "Points: 112 balance, 0 available, 112 pending" in shown

    assert "Released 0 lots; expired 0 points" in patron("jobs", "run").output
    clock.advance(days=15)  # the example program holds points for 14 days
    assert "Released 1 lots; expired 0 points" in patron("jobs", "run").output
    assert (
        "Points: 112 balance, 112 available, 0 pending"
        in patron("member", "show", str(member)).output
    )

    clock.advance(days=365)
    ran = patron("jobs", "run").output
    assert "Released 0 lots; expired 112 points in 1 lots of 1 members." in ran
    assert "Points: 0 balance, 0 available" in patron("member", "show", str(member)).output


def test_member_show_gives_balance_and_the_statement_explanations(
    patron: Run, loaded: Database, tmp_path: Path, clock: FrozenClock
) -> None:
    path = tmp_path / "events.jsonl"
    events = [
        purchase("p1", "m1", "12.00"),
        purchase("p2", "m1", "20.00"),
        {"external_id": "r1", "type": "refund", "member_external_id": "m1", "refund_of": "p2",
         "amount": "10.00"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    patron("import", "events", str(path))
    member = member_id(loaded, "m1")
    out = patron("member", "show", str(member)).output
    assert f"Member {member}" in out and "m1" in out
    assert "Points: 122 balance, 0 available, 122 pending, 0 expiring soon, 0 debt" in out
    with loaded.unit_of_work() as session:
        statement = get_statement(session, member)
    assert [line.points for line in statement] == [-10, 20, 112]
    for line in statement:
        assert line.explanation in out
    assert "rule first-purchase" in out and "refund of 10.00 GBP of p2" in out


def test_member_show_errors(patron: Run, loaded: Database) -> None:
    unknown = patron("member", "show", "999", ok=False)
    assert isinstance(unknown.exception, NotFound) and unknown.exception.field == "member_id"
    zero = patron("member", "show", "0", ok=False)
    assert isinstance(zero.exception, PatronError) and zero.exception.field == "member_id"
    word = patron("member", "show", "abc", ok=False)
    assert word.exit_code == 2 and "Invalid value for 'member_id'" in word.output
