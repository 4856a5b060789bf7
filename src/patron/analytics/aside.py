"""Reading a large SQLite file's aggregations in a process of its own.

Two SQLite connections in one process contend (measured: no faster, at twice the
CPU), so for a large SQLite file ``ShopData.preload`` starts
``python -m patron.analytics.aside``, hands it a pickled request (database URL,
input names, end, as of) on stdin, reads the purchases meanwhile, and takes the
pickled inputs back from stdout. The child is our own code: the pickles never cross
a trust boundary.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from datetime import datetime
from typing import Any


def start(url: str, names: list[str], end: datetime, as_of: datetime) -> subprocess.Popen[bytes]:
    """Start reading ``names`` in a child process; collect them with :func:`finish`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.Popen(
        [sys.executable, "-m", "patron.analytics.aside"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert child.stdin is not None
    child.stdin.write(pickle.dumps((url, names, end, as_of)))
    child.stdin.close()
    return child


def finish(child: subprocess.Popen[bytes]) -> dict[str, Any] | None:
    """The inputs the child read, or None if it failed (the caller reads them itself)."""
    assert child.stdout is not None
    output = child.stdout.read()
    if child.wait() != 0 or not output:
        return None
    result: dict[str, Any] = pickle.loads(output)
    return result


def main() -> None:
    from patron.analytics.service_sources import read_elsewhere

    url, names, end, as_of = pickle.load(sys.stdin.buffer)
    result = read_elsewhere(url, names, end, as_of)
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    main()
