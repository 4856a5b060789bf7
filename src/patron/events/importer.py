"""Reading event files (CSV, JSON Lines) in batches through the real engine.

CSV columns are the event fields; ``lines`` and ``attributes`` columns hold
JSON. A row that cannot be read or is rejected is reported with its line
number; good rows still land.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from patron.core.db import Database
from patron.core.driver import json_value
from patron.core.errors import InvalidInput
from patron.core.heap import collected_after
from patron.events.ingest import ingest_outcomes
from patron.events.schemas import EventIn

JSON_COLUMNS = ("lines", "attributes")
INT_COLUMNS = ("member_id",)
EVENT_COLUMNS = tuple(EventIn.model_fields)
REQUIRED_COLUMNS = tuple(n for n, f in EventIn.model_fields.items() if f.is_required())
DELIMITERS = ",;\t"
_EXTRA = "\x00extra"  # where csv puts the cells of a row beyond the header's columns


@dataclass
class ImportReport:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    points: int = 0
    seconds: float = 0.0
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        total = self.accepted + self.duplicates + self.rejected
        return total / self.seconds if self.seconds else 0.0


def _jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open("rb") as fh:
        first = True
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            if first and raw.lstrip(b"\xef\xbb\xbf \t").startswith(b"["):
                # A JSON array (as POST /v1/events/batch takes) would fail line by line.
                raise InvalidInput(
                    f"{path.name} holds a JSON array; an import reads JSON Lines, one event "
                    "object on each line",
                    field="file",
                )
            first = False
            try:
                yield number, json_value(raw)  # json.loads, faster
            except json.JSONDecodeError as exc:
                yield number, ValueError(f"malformed JSON: {exc.msg} at column {exc.colno}")
            except UnicodeDecodeError as exc:
                yield number, ValueError(f"not UTF-8 text: {exc.reason} at byte {exc.start + 1}")


def _csv(path: Path) -> Iterator[tuple[int, Any]]:
    # utf-8-sig: a spreadsheet's UTF-8 export often starts with a byte-order mark,
    # which would otherwise become part of the first column's name.
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = fh.readline()
        fh.seek(0)
        delimiter = _delimiter(header)
        reader = csv.DictReader(fh, delimiter=delimiter, restkey=_EXTRA)
        reader.fieldnames = [name.strip() for name in reader.fieldnames or ()]
        _check_columns(path, reader.fieldnames)
        for row in reader:
            number = reader.line_num
            if _EXTRA in row:  # "12,50" unquoted would otherwise be 12, and 50 lost
                yield number, ValueError(_extra_cells(len(row[_EXTRA]), delimiter))
                continue
            if row.get(""):
                yield number, ValueError("a value in a column whose header is empty")
                continue
            out: dict[str, Any] = {}
            try:
                for key, value in row.items():
                    if value is None or value == "":
                        continue
                    if key in JSON_COLUMNS:
                        out[key] = json_value(value)
                    elif key in INT_COLUMNS:
                        out[key] = int(value)
                    else:
                        out[key] = value
            except (json.JSONDecodeError, ValueError) as exc:
                yield number, ValueError(f"column {key}: {exc}")
                continue
            yield number, out


def _extra_cells(n: int, delimiter: str) -> str:
    cells = "cell" if n == 1 else "cells"
    return (
        f"{n} {cells} more than the header has columns "
        f"(a {delimiter!r} inside a value that is not quoted?)"
    )


def _delimiter(header: str) -> str:
    """The header's separator: a comma, or the semicolon or tab some spreadsheets
    write instead (where the comma is the decimal separator)."""
    best = max(DELIMITERS, key=header.count)
    return best if header.count(best) > 0 else ","


def _check_columns(path: Path, columns: Sequence[str]) -> None:
    """A header that cannot give events fails the file at once, before any row: every
    row would be refused for the same reason."""
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c and c not in EVENT_COLUMNS]  # "": an empty column
    if missing or unknown:
        found = ", ".join(columns) or "none"
        why = f"no {' or '.join(missing)} column" if missing else ""
        if unknown:
            why += ("; " if why else "") + f"unknown column {', '.join(unknown)}"
        raise InvalidInput(
            f"{path.name}: the header has {why} (columns found: {found}; the columns are "
            f"the event fields: {', '.join(EVENT_COLUMNS)})",
            field="header",
        )


def _zone_time(row: dict[str, Any], zone: ZoneInfo) -> None:
    """Give ``row``'s ``occurred_at`` the zone ``zone`` if it was written without one.

    A local time that a clock change repeats is taken as its first occurrence, one
    that a clock change skips as if the change had not happened yet (``fold=0``);
    what is not a time is left for validation to refuse.
    """
    value = row.get("occurred_at")
    if not isinstance(value, str):
        return
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return
    if at.tzinfo is None:
        row["occurred_at"] = at.replace(tzinfo=zone).isoformat()


def read_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, row dict or ValueError) for each row of a .csv or .jsonl file."""
    return _csv(path) if path.suffix.lower() == ".csv" else _jsonl(path)


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return max(sum(1 for _ in fh) - (1 if path.suffix.lower() == ".csv" else 0), 0)


def import_file(
    database: Database,
    path: Path,
    *,
    batch_size: int = 1000,
    on_progress: Callable[[int, int | None], None] | None = None,
    zone: ZoneInfo | None = None,
) -> ImportReport:
    """Read, score and post the file's events, ``batch_size`` per transaction.

    ``zone``: the zone of times written without one (a till's or a spreadsheet's
    local times); without it such times are refused, as the API refuses them.

    On PostgreSQL the planner gets statistics of what is loaded (see
    ``Database.refresh_statistics``): after the first batch, for the batches that
    follow, and at the end. The last analysis runs on its own connection while
    the last batch is scored (the server's work on the machine's other core):
    it sees all but that batch, which for a sample of the tables is the same.
    """
    report = ImportReport()
    total = _count_lines(path)
    started = time.perf_counter()
    batch: list[tuple[int, Any]] = []
    done = batches = 0
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="patron-analyse")
    final: Future[None] | None = None

    def flush() -> None:
        nonlocal done, batches, final
        if done > 0 and done + len(batch) >= total and database.is_postgres:
            final = pool.submit(database.refresh_statistics)  # the last batch: meanwhile
        good = [(n, r) for n, r in batch if not isinstance(r, ValueError)]
        for n, r in batch:
            if isinstance(r, ValueError):
                report.rejected += 1
                report.errors.append((n, "body", str(r)))
        if good:
            with database.unit_of_work() as session:
                outcomes = ingest_outcomes(session, [r for _, r in good])
            for (n, _), res in zip(good, outcomes, strict=True):
                if res.status == "accepted":
                    report.accepted += 1
                    report.points += res.points
                elif res.status == "duplicate":
                    report.duplicates += 1
                else:
                    report.rejected += 1
                    err = res.error or {}
                    report.errors.append((n, err.get("field"), err.get("detail", "rejected")))
        if done == 0:  # the planner's first sight of the loaded tables (see refresh_statistics)
            database.refresh_statistics()
        done += len(batch)
        batches += 1
        batch.clear()
        if on_progress:
            on_progress(done, total)

    try:
        for item in read_rows(path):
            if zone is not None and isinstance(item[1], dict):
                _zone_time(item[1], zone)
            batch.append(item)
            if len(batch) >= batch_size:
                with collected_after():  # core.heap: what a batch leaves, collected once
                    flush()
        if batch:
            with collected_after():
                flush()
        if final is not None:
            final.result()
        elif batches > 1:  # the last batch was not known as such (blank lines)
            database.refresh_statistics()
    finally:
        pool.shutdown(wait=True)
    report.seconds = time.perf_counter() - started
    return report
