"""SQLite WAL checkpoints off the committing thread.

In WAL mode a commit appends the pages it changed to the -wal file; a checkpoint copies them back into
the database file and syncs it. By default SQLite runs the checkpoint inside whichever commit pushes
the WAL past 1,000 pages, so every dozenth step of a form paid for copying and syncing the pages of the
steps before it. Here one daemon thread per process checkpoints every watched database a few times a
second (PASSIVE: it never blocks a writer or a reader). Under steady writes it never quite catches up
with the newest frames, and SQLite only starts the log over once everything is copied, so the commit
that pushes the WAL past `FALLBACK_PAGES` still checkpoints: by then it finds almost every page copied
already, and the log starts over.
"""
from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

INTERVAL_SECONDS = 0.2
FALLBACK_PAGES = 4_000  # PRAGMA wal_autocheckpoint on the application's own connections (16 MB of WAL)

log = logging.getLogger(__name__)


@dataclass
class Watched:
    """One database the thread checkpoints: how many engines watch it, and what its checkpoints did."""

    path: str
    engines: int = 1
    runs: int = 0
    last: tuple | None = None  # (busy, frames in the WAL, frames checkpointed) of the last run


_watched: dict[str, Watched] = {}
_lock = threading.Lock()
_thread: threading.Thread | None = None


def watch(path: str) -> None:
    """Checkpoint this database file from the background thread (started on first use)."""
    global _thread
    key = str(Path(path).resolve())
    with _lock:
        if key in _watched:
            _watched[key].engines += 1
        else:
            _watched[key] = Watched(key)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="guichet-wal-checkpoint", daemon=True)
            _thread.start()


def unwatch(path: str) -> None:
    """Stop once every engine that watched the database has gone."""
    key = str(Path(path).resolve())
    with _lock:
        entry = _watched.get(key)
        if entry is not None:
            entry.engines -= 1
            if entry.engines <= 0:
                del _watched[key]


def status(path: str) -> Watched | None:
    """What the thread did for a database so far (None when it is not watched)."""
    with _lock:
        return _watched.get(str(Path(path).resolve()))


def _run() -> None:
    while True:
        time.sleep(INTERVAL_SECONDS)
        with _lock:
            entries = list(_watched.values())
        for entry in entries:
            _checkpoint(entry)


def _checkpoint(entry: Watched) -> None:
    # A connection only for the checkpoint: held open, it would keep the server's last connection from
    # folding the WAL back into the database file when the server stops.
    if not Path(entry.path).exists():  # removed (a temporary database); nothing to copy back
        return
    uri = Path(entry.path).as_uri() + "?mode=rw"  # never creates a database that was removed meanwhile
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)) as connection:
            row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    except sqlite3.Error as exc:  # busy or gone: the next round tries again, and commits still checkpoint past the fallback
        log.debug("checkpoint of %s skipped: %s", entry.path, exc)
        return
    with _lock:
        entry.runs += 1
        entry.last = tuple(row)
