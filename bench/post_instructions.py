"""Instructions a worker spends on one ``POST /v1/events``, counted by valgrind.

What a till's single event costs the server's worker, without the machine's
drift in it: the app as ``patron serve`` builds it, called in-process as an
ASGI app on an event loop (no sockets, no uvicorn), the event scored as the
server scores it (the batcher, on a cooperative PostgreSQL connection whose
waits go to the loop), one request at a time. Callgrind counts only this
process: PostgreSQL's own work is not in the figure. Collection is switched on
around ``--requests`` requests after twenty to warm up; the events are fixed
(seeded, at a fixed time). Unlike an import's count, a rerun of the same code
moves by a few percent: whether the server's answer is already in when psycopg
asks for it (and when the cycle collector runs) depends on timing. Compare
versions over several alternating runs.

Run:  .venv/bin/python bench/post_instructions.py [--requests 200]
Needs valgrind and the PostgreSQL server ``bench/ingest.py`` uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from ingest_instructions import _control, _total, run_counted  # noqa: E402

WARM_UP = 20
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the events' times: fixed, so the rules met are


def _child(requests: int) -> None:
    import ingest as bench

    from patron.access.service import create_api_key
    from patron.core.db import Database

    url, drop = bench.postgres_database()
    try:
        database = Database(url)
        bench.prepare(database, 500)
        with database.unit_of_work() as session:
            _, key = create_api_key(session, "bench", ["pos"])
        database.dispose()
        os.environ["PATRON_DATABASE_URL"] = url
        from patron.api.app import serve_app

        app = serve_app()
        events = bench.make_events(WARM_UP + requests, 500, seed=2, end=END)
        bodies = [json.dumps(event).encode() for event in events]
        statuses = asyncio.run(_post_all(app, key, bodies))
        if set(statuses) != {201}:
            sys.exit(f"answers other than 201: {sorted(set(statuses))}")
    finally:
        drop()


async def _post_all(app: Any, key: str, bodies: list[bytes]) -> list[int]:
    statuses = [await _post(app, key, body) for body in bodies[:WARM_UP]]
    _control("-i", "on")
    statuses += [await _post(app, key, body) for body in bodies[WARM_UP:]]
    _control("-i", "off")
    return statuses


async def _post(app: Any, key: str, body: bytes) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/events",
        "raw_path": b"/v1/events",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {key}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    received = False
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.requests)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run_counted(__file__, [f"--requests={args.requests}"], tmp)
        counted = _total(Path(f"{tmp}/callgrind.out"))
    print(
        f"POST /v1/events, one event a request, in-process on PostgreSQL: "
        f"{counted:,} instructions for {args.requests:,} requests, "
        f"{counted // args.requests:,} per request"
    )


if __name__ == "__main__":
    main()
