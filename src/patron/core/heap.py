"""Keep the garbage collector's full passes cheap in long-running processes.

A started Patron process holds some 140,000 long-lived objects (modules,
SQLAlchemy's and pydantic's schemas, compiled statements). CPython's full
(oldest-generation) collection walks all of them, and scoring a batch of events
allocates enough to trigger several such passes: measured on the ingest path,
collection took a third or more of the CPU. ``gc.freeze()`` moves everything
alive at start-up into a permanent generation the collector never walks again;
cycles made later are still collected as usual.
"""

from __future__ import annotations

import gc


def settle_startup_heap() -> None:
    """Call once a process has imported and built what it keeps for its lifetime."""
    gc.collect()
    gc.freeze()
