"""Key store: the forms' data keys, wrapped by the master key, kept OUTSIDE the backed-up database.

Destroying a form destroys its data key here (crypto-shredding). For that to reach the database's backups, the
keys must not travel in them: they live in their own SQLite file under the instance folder (`[keys] path`), which
`guichet backup` does not copy, and have their own short-lived backups (`[keys] backup_keep_days`), so a key
destroyed today is gone from every copy once the last key backup holding it expires.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

SCHEMA = ("CREATE TABLE IF NOT EXISTS data_key (form_id INTEGER PRIMARY KEY, wrapped TEXT NOT NULL, "
          "key_id TEXT NOT NULL)")
# Key slots: keys made ahead, a batch in one synced write, and taken one by one by new forms (`form.key_slot`).
# AUTOINCREMENT: a slot number is never used twice, not even after its key was destroyed.
SLOTS = ("CREATE TABLE IF NOT EXISTS key_slot (slot INTEGER PRIMARY KEY AUTOINCREMENT, wrapped TEXT NOT NULL, "
         "key_id TEXT NOT NULL)")


class KeyStore:
    """Wrapped data keys in one SQLite file, by key slot (forms since key slots) or by form id (older forms);
    each call is its own short transaction.

    Every form has a key, so a key is read on every form's path: the store keeps one connection per process
    (opened anew after a fork, guarded by a lock across threads) rather than one per call. Keys are written
    ahead, a batch of slots in one synced transaction (`reserve`), so no committed form lacks its key and a new
    form writes nothing here.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        with self._connected() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(SCHEMA)
            conn.execute(SLOTS)

    @contextmanager
    def _connected(self):
        """The process's connection, held under the lock for one call."""
        with self._lock:
            if self._conn is None or self._pid != os.getpid():
                self._conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None,
                                             check_same_thread=False)
                self._conn.execute("PRAGMA secure_delete=ON")  # a destroyed key's freed pages are overwritten
                self._pid = os.getpid()
            yield self._conn

    @contextmanager
    def _transaction(self):
        """The process's connection inside one write transaction: committed (and synced) at the end, rolled back on
        any error."""
        with self._connected() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the process's connection (it is opened again on the next call)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def get(self, form_id: int) -> tuple[str, str] | None:
        """(wrapped key, master key id) of a form, or None."""
        with self._connected() as conn:
            row = conn.execute("SELECT wrapped, key_id FROM data_key WHERE form_id = ?", (form_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def put(self, form_id: int, wrapped: str, kid: str) -> None:
        """Keep (or replace) a form's wrapped key."""
        with self._connected() as conn:
            conn.execute(_UPSERT, (form_id, wrapped, kid))

    def put_many(self, rows: list[tuple[int, str, str]]) -> None:
        """Keep several wrapped keys in one transaction."""
        with self._transaction() as conn:
            conn.executemany(_UPSERT, rows)

    def all(self) -> list[tuple[int, str, str]]:
        """Every (form id, wrapped key, master key id) (for a master-key rotation)."""
        with self._connected() as conn:
            return conn.execute("SELECT form_id, wrapped, key_id FROM data_key ORDER BY form_id").fetchall()

    def reserve(self, rows: list[tuple[str, str]]) -> list[int]:
        """Keep wrapped keys (wrapped, master key id) in new slots, in one synced transaction; their slots."""
        with self._transaction() as conn:
            return [conn.execute("INSERT INTO key_slot (wrapped, key_id) VALUES (?, ?)", row).lastrowid
                    for row in rows]

    def slot(self, slot: int) -> tuple[str, str] | None:
        """(wrapped key, master key id) in a slot, or None once destroyed."""
        with self._connected() as conn:
            row = conn.execute("SELECT wrapped, key_id FROM key_slot WHERE slot = ?", (slot,)).fetchone()
        return (row[0], row[1]) if row else None

    def all_slots(self) -> list[tuple[int, str, str]]:
        """Every (slot, wrapped key, master key id) (for a master-key rotation)."""
        with self._connected() as conn:
            return conn.execute("SELECT slot, wrapped, key_id FROM key_slot ORDER BY slot").fetchall()

    def rewrap_slots(self, rows: list[tuple[int, str, str]]) -> None:
        """Replace the wrapped keys of slots (slot, wrapped, master key id) in one transaction."""
        with self._transaction() as conn:
            conn.executemany("UPDATE key_slot SET wrapped = ?, key_id = ? WHERE slot = ?",
                             [(wrapped, kid, slot) for slot, wrapped, kid in rows])

    def destroy(self, form_ids: list[int], slots: list[int] = ()) -> int:
        """Destroy the keys of these forms (by form id for older forms, by slot for the rest) for good (the freed
        pages are overwritten); how many there were."""
        gone = 0
        with self._transaction() as conn:
            for table, column, ids in (("data_key", "form_id", list(form_ids)), ("key_slot", "slot", list(slots))):
                for start in range(0, len(ids), 500):
                    chunk = ids[start:start + 500]
                    gone += conn.execute(f"DELETE FROM {table} WHERE {column} IN ({','.join('?' * len(chunk))})",
                                         chunk).rowcount
        with self._connected() as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the destroyed keys' pages leave the WAL too
        return gone


_UPSERT = ("INSERT INTO data_key (form_id, wrapped, key_id) VALUES (?, ?, ?) ON CONFLICT(form_id) "
           "DO UPDATE SET wrapped = excluded.wrapped, key_id = excluded.key_id")


def store_path(config: dict) -> Path:
    """The key store file: [keys] path, relative to the instance folder."""
    path = Path(config.get("keys", {}).get("path") or "keys.sqlite")
    return path if path.is_absolute() else Path(config["app"]["instance_path"]) / path


def backup_folder(config: dict) -> Path:
    """Where the key store's own backups go: [keys] backup_dir, relative to the instance folder."""
    path = Path(config.get("keys", {}).get("backup_dir") or "key-backups")
    return path if path.is_absolute() else Path(config["app"]["instance_path"]) / path


def keep_days(config: dict) -> int:
    """How many days a key backup is kept ([keys] backup_keep_days)."""
    return int(config.get("keys", {}).get("backup_keep_days", 7))


def backup_keys(config: dict, *, now: datetime) -> Path:
    """Copy the key store (online, consistent) beside the others and delete copies older than keep_days."""
    folder = backup_folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"keys-{now:%Y%m%dT%H%M%S}Z.sqlite"
    part = target.with_name(target.name + ".part")
    src, dst = sqlite3.connect(str(store_path(config))), sqlite3.connect(str(part))
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    os.replace(part, target)
    prune_key_backups(config, now=now)
    return target


def _taken_at(path: Path) -> datetime | None:
    try:
        return datetime.strptime(path.name, "keys-%Y%m%dT%H%M%SZ.sqlite").replace(tzinfo=None)
    except ValueError:
        return None


def prune_key_backups(config: dict, *, now: datetime) -> list[Path]:
    """Delete key backups older than [keys] backup_keep_days; the deleted files."""
    limit = now.replace(tzinfo=None) - timedelta(days=keep_days(config))
    gone = []
    for path in sorted(backup_folder(config).glob("keys-*.sqlite")):
        taken = _taken_at(path)
        if taken is not None and taken < limit:
            path.unlink(missing_ok=True)
            gone.append(path)
    return gone


def last_backup_expiry(config: dict, *, now: datetime) -> datetime:
    """When the newest key backup holding the keys present now expires: after it, no copy of them is left (now, if
    there is no key backup)."""
    taken = [t for t in (_taken_at(p) for p in backup_folder(config).glob("keys-*.sqlite")) if t is not None]
    if not taken:
        return now
    expires = (max(taken) + timedelta(days=keep_days(config))).replace(tzinfo=timezone.utc)
    return max(expires, now)  # a backup already past its keeping (not yet pruned) holds nothing beyond now
