"""SQLite's write-ahead log: how much piles up before a commit checkpoints it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from patron.core.db import WAL_CHECKPOINT_PAGES, Database

PAGE = 4096


def test_commits_leave_their_pages_in_the_wal_until_the_checkpoint_threshold(
    tmp_path: Path,
) -> None:
    """Twelve transactions of ~250 pages each: with SQLite's default (a checkpoint
    past 1,000 pages) the WAL would be folded back every few commits and never hold
    much more than 1,000 pages; Patron lets it reach ``WAL_CHECKPOINT_PAGES``."""
    path = tmp_path / "wal.db"
    database = Database(f"sqlite:///{path}")
    try:
        with database.unit_of_work() as session:
            session.execute(text("CREATE TABLE filler (body BLOB)"))
        for _ in range(12):
            with database.unit_of_work() as session:
                session.execute(
                    text("INSERT INTO filler VALUES (zeroblob(:size))"), {"size": 250 * PAGE}
                )
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            setting = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        wal_pages = (tmp_path / "wal.db-wal").stat().st_size // PAGE
        assert 12 * 250 <= wal_pages < WAL_CHECKPOINT_PAGES
        assert setting == WAL_CHECKPOINT_PAGES
    finally:
        database.dispose()
    assert not (tmp_path / "wal.db-wal").exists()  # the last close folds it into the file
