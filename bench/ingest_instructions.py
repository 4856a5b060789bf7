"""Instructions an import costs, counted by valgrind: a measure this machine's
drift cannot blur.

This 2-core machine's speed moves by a third within minutes, so two timed runs
of the same code can differ more than two versions of the engine do. Callgrind
counts the instructions executed instead, repeatably to about 0.03%: collection
is switched on only around ``import_file`` (``callgrind_control -i on``), on an
import of ``--events`` purchases into a fresh database prepared as
``bench/ingest.py`` prepares it, then around the plain insert of the rows
the engine wrote (``bench/ingest.py``'s baseline), for the ratio of the two.
On PostgreSQL it counts the importer's own process, not the server's.

Run:  .venv/bin/python bench/ingest_instructions.py [--events 3000] [--backend sqlite|postgres]
      [--batch-size 1000]
Needs valgrind (Debian: ``apt-get install valgrind``); a run takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))


def _child(events: int, backend: str, batch: int) -> None:
    """The measured process: prepare, then import with collection switched on."""
    import ingest as bench

    from patron.core.db import Database
    from patron.core.heap import settle_startup_heap
    from patron.events.importer import import_file

    drop = None
    if backend == "sqlite":
        database = Database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    else:
        url, drop = bench.postgres_database()
        database = Database(url)
    try:
        bench.prepare(database, 5_000)
        end = datetime.now(UTC) - timedelta(minutes=10)
        rows = bench.make_events(events, 5_000, seed=1, end=end)
        path = Path(tempfile.mkdtemp()) / "events.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        settle_startup_heap()
        _collect("on")
        report = import_file(database, path, batch_size=batch)
        _control("--dump=import")  # the import's count, written; the counters zeroed
        _collect("off")
        assert report.accepted == events, report.errors[:3]
        rows = bench.written_rows(database)
        _collect("on")
        bench.insert_again(database, rows, events, batch)  # counted in the file written at exit
        _collect("off")
    finally:
        database.dispose()
        if drop is not None:
            drop()


def _collect(state: str) -> None:
    _control("-i", state)


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(os.getpid())], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=1_000,
        help="events per transaction; 1 counts what a batch costs whatever its size, "
        "as a till's single event over HTTP pays it",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.events, args.backend, args.batch_size)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run_counted(
            __file__,
            [
                f"--events={args.events}",
                f"--backend={args.backend}",
                f"--batch-size={args.batch_size}",
            ],
            tmp,
        )
        engine = _total(Path(f"{tmp}/callgrind.out.1"))
        plain = _total(Path(f"{tmp}/callgrind.out"))
    print(
        f"{args.backend} import of {args.events:,} purchases, {args.batch_size:,} per "
        f"transaction: {engine:,} instructions, "
        f"{engine // args.events:,} per event\n"
        f"{args.backend} plain insert of the same rows: {plain:,} instructions, "
        f"{plain // args.events:,} per event; ratio {engine / plain:.2f}x"
    )


def run_counted(script: str, child_args: list[str], tmp: str) -> None:
    """Run ``script --child *child_args`` under callgrind, collection off until the
    child switches it on; its counts go to ``tmp/callgrind.out*``."""
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={tmp}/callgrind.out",
            sys.executable,
            script,
            "--child",
            *child_args,
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"the measured run failed:\n{done.stderr[-2000:]}")


def _total(path: Path) -> int:
    """The instructions a callgrind output file counted (its ``totals:`` line)."""
    found = re.search(r"^totals: (\d+)", path.read_text(), re.MULTILINE)
    if found is None:
        sys.exit(f"no totals in {path}")
    return int(found.group(1))


if __name__ == "__main__":
    main()
