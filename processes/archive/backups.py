"""Backups (R4.3.3-R4.3.4): a consistent copy while the server runs, a manifest, restore, verification by restoring.

SQLite is copied with its online backup API; PostgreSQL with `pg_dump` on a snapshot exported by the
transaction that also counts the rows and reads the audit head, so the manifest describes exactly the dump.
A backup holds the database only: the forms' data keys in it are wrapped by the master key, which lives
outside the database (instance/master.key or the environment), so a backup alone decrypts nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from engine.db import Base

from ..audit import service as audit
from ..errors import Invalid, NotFound
from .models import Backup, StorageIncident

Progress = Callable[[int, int], None]  # (done, total)


class BackupError(Invalid):
    """A backup or restore that cannot be done; nothing half-written is left behind."""

    code = "backup_failed"


def backup_dir(config: dict) -> Path:
    """Where backups go: [backup] dir, relative to the instance folder."""
    folder = Path(config["backup"]["dir"])
    return folder if folder.is_absolute() else Path(config["app"]["instance_path"]) / folder


def _sqlite_path(url: str) -> str | None:
    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() == "sqlite" else None


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tables() -> list[str]:
    return sorted(t.name for t in Base.metadata.sorted_tables)


def _snapshot_facts(conn) -> dict:
    """Row count per table and the audit chain head, read in one transaction (a DB-API connection)."""
    cur = conn.cursor()
    counts = {}
    for table in _tables():
        cur.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cur.fetchone()[0]
    cur.execute("SELECT seq, hash FROM audit_head WHERE id = 1")
    head = cur.fetchone()
    return {"tables": counts, "audit_head": {"seq": head[0], "hash": head[1]} if head else {"seq": 0, "hash": ""}}


def take_backup(config: dict, *, now: datetime, progress: Progress | None = None) -> dict:
    """Write a backup of the configured database into [backup] dir; its manifest (also written beside it as JSON)."""
    url = config["database"]["url"]
    folder = backup_dir(config)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-", delete=True)
        probe.close()
    except OSError as exc:
        raise BackupError(f"备份目录不可写: {folder} ({exc.strerror or exc})") from None
    sqlite_path = _sqlite_path(url)
    name = f"guichet-{now:%Y%m%dT%H%M%S}Z" + (".sqlite" if sqlite_path else ".dump")
    final, part = folder / name, folder / (name + ".part")
    try:
        facts = _sqlite_backup(sqlite_path, part, progress) if sqlite_path else _pg_backup(url, part, progress)
        digest, size = _sha256(part), part.stat().st_size
        manifest = {"file": name, "created_at": now.isoformat(), "database": make_url(url).get_backend_name(),
                    "sha256": digest, "size": size, **facts,
                    "keys": "表单数据密钥以主密钥加密保存, 主密钥不在备份中 / data keys are wrapped; the master key is not in the backup"}
        os.replace(part, final)
        _write_json(folder / (name + ".manifest.json"), manifest)
    except BaseException as exc:
        part.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        if isinstance(exc, (BackupError, KeyboardInterrupt)):
            raise
        raise BackupError(f"备份失败: {type(exc).__name__}: {exc}") from exc
    return manifest


def _sqlite_backup(source: str, target: Path, progress: Progress | None) -> dict:
    src = sqlite3.connect(source)
    dst = sqlite3.connect(str(target))
    try:
        # All pages in one step: one read transaction, so a writer meanwhile neither restarts nor tears the copy.
        src.backup(dst, pages=-1, progress=(lambda _s, remaining, total: progress(total - remaining, total))
                   if progress else None)
    finally:
        src.close()
    try:
        return _snapshot_facts(dst)  # counted in the copy itself: the manifest describes the file
    finally:
        dst.close()


def _pg_backup(url: str, target: Path, progress: Progress | None) -> dict:
    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        facts = _snapshot_facts(conn)
        if progress:
            progress(0, 1)
        done = subprocess.run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--file", str(target),
                               "--dbname", _libpq(url)], capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise BackupError(f"pg_dump 失败: {done.stderr.strip()[:500]}")
        if progress:
            progress(1, 1)
        conn.execute("COMMIT")
    return facts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json(path: Path, content: dict) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(content, ensure_ascii=False, indent=2), "utf-8")
    os.replace(part, path)


def read_manifest(path: Path) -> dict | None:
    """The manifest written beside a backup file, if there is one."""
    beside = path.with_name(path.name + ".manifest.json")
    return json.loads(beside.read_text("utf-8")) if beside.exists() else None


# --- restore ------------------------------------------------------------------------------------------
def is_empty(url: str) -> bool:
    """Whether a database holds no tables (a missing SQLite file counts as empty)."""
    path = _sqlite_path(url)
    if path is not None and not Path(path).exists():
        return True
    engine = create_engine(url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore(path: Path, to_url: str) -> dict:
    """Restore a backup file into an empty database; refused when the target holds tables or the file was altered."""
    path = Path(path)
    if not path.exists():
        raise BackupError(f"备份文件不存在: {path}")
    manifest = read_manifest(path)
    if manifest and _sha256(path) != manifest["sha256"]:
        raise BackupError("备份文件与清单的 SHA-256 不符, 文件可能已损坏或被改动, 拒绝恢复")
    if not is_empty(to_url):
        raise BackupError("目标数据库不是空的, 拒绝恢复 (只能恢复到空数据库) / the target database is not empty")
    target = _sqlite_path(to_url)
    if path.suffix == ".sqlite":
        if target is None:
            raise BackupError("SQLite 备份只能恢复到 SQLite 数据库")
        src, dst = sqlite3.connect(str(path)), sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    else:
        if target is not None:
            raise BackupError("PostgreSQL 备份只能恢复到 PostgreSQL 数据库")
        done = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", _libpq(to_url), str(path)],
                              capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise BackupError(f"pg_restore 失败: {done.stderr.strip()[:500]}")
    return manifest or {}


def facts_of(url: str) -> dict:
    """Row counts and the audit head of a database, as a manifest states them."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            facts = _snapshot_facts(conn.connection.driver_connection)
    finally:
        engine.dispose()
    return facts


# --- verification, records, keeping -----------------------------------------------------------------
def verify_file(path: Path, config: dict) -> tuple[bool, str]:
    """Restore a backup into a scratch database and compare row counts and the audit head with its manifest."""
    manifest = read_manifest(path)
    if manifest is None:
        return False, "缺少备份清单"
    with _scratch_database(config) as url:
        try:
            restore(path, url)
        except BackupError as exc:
            return False, exc.message
        facts = facts_of(url)
    differ = [f"{t}: 清单 {n} 行, 恢复后 {facts['tables'].get(t)} 行"
              for t, n in manifest["tables"].items() if facts["tables"].get(t) != n]
    if facts["audit_head"] != manifest["audit_head"]:
        differ.append("审计链头与清单不符")
    if differ:
        return False, "; ".join(differ)
    return True, f"恢复校验通过: {len(manifest['tables'])} 张表, 审计链头 #{manifest['audit_head']['seq']}"


class _scratch_database:
    """An empty scratch database beside the configured one, dropped afterwards."""

    def __init__(self, config: dict):
        self.url = config["database"]["url"]
        self.created: str | None = None

    def __enter__(self) -> str:
        if _sqlite_path(self.url) is not None:
            self.folder = tempfile.mkdtemp(prefix="guichet-verify-")
            return f"sqlite:///{self.folder}/verify.db"
        base = make_url(self.url)
        self.created = f"{base.database}_verify_{os.getpid()}"
        self._admin(f'DROP DATABASE IF EXISTS "{self.created}" WITH (FORCE)', f'CREATE DATABASE "{self.created}"')
        return base.set(database=self.created).render_as_string(hide_password=False)

    def __exit__(self, *exc) -> None:
        if self.created:
            self._admin(f'DROP DATABASE IF EXISTS "{self.created}" WITH (FORCE)')
        else:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _admin(self, *statements: str) -> None:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.execute(text(statement))
        finally:
            engine.dispose()


def record(session: Session, config: dict, manifest: dict, *, actor: str, now: datetime) -> Backup:
    """Keep a backup on the record (存储安全 page) and in the audit chain."""
    backup = Backup(created_at=now, filename=manifest["file"], sha256=manifest["sha256"], size=manifest["size"],
                    manifest=manifest, created_by=actor, verified=None, verify_detail="")
    session.add(backup)
    session.flush()
    audit.record(session, actor=actor, action="archive.backup", object_type="backup", object_id=backup.id, now=now,
                 details={"file": backup.filename, "sha256": backup.sha256})
    return backup


def verify(session: Session, config: dict, backup: Backup, *, actor: str, now: datetime) -> Backup:
    """Verify a recorded backup by restoring it; a failure is a storage incident."""
    ok, detail = verify_file(backup_dir(config) / backup.filename, config)
    backup.verified, backup.verified_at, backup.verify_detail = ok, now, detail
    if not ok:
        session.add(StorageIncident(kind="backup", backup_id=backup.id, detail=f"备份 {backup.filename} 校验失败: {detail}",
                                    opened_at=now))
    session.flush()
    audit.record(session, actor=actor, action="archive.backup_verify", object_type="backup", object_id=backup.id,
                 now=now, details={"verified": ok})
    return backup


def prune(session: Session, config: dict, *, actor: str, now: datetime) -> list[Backup]:
    """Delete backups beyond [backup] keep (oldest first); each deletion is recorded."""
    keep = int(config["backup"]["keep"])
    kept = list(session.scalars(select(Backup).where(Backup.deleted_at.is_(None))
                                .order_by(Backup.created_at.desc(), Backup.id.desc())))
    gone = kept[keep:] if keep > 0 else []
    folder = backup_dir(config)
    for backup in gone:
        for path in (folder / backup.filename, folder / (backup.filename + ".manifest.json")):
            path.unlink(missing_ok=True)
        backup.deleted_at = now
        audit.record(session, actor=actor, action="archive.backup_delete", object_type="backup", object_id=backup.id,
                     now=now, details={"file": backup.filename, "keep": keep})
    session.flush()
    return gone


def list_backups(session: Session, *, limit: int = 100) -> list[Backup]:
    """Backups, newest first (deleted ones too, marked)."""
    return list(session.scalars(select(Backup).order_by(Backup.created_at.desc(), Backup.id.desc()).limit(limit)))


def get_backup(session: Session, backup_id: int) -> Backup:
    """A backup record by id; NotFound otherwise."""
    backup = session.get(Backup, backup_id)
    if backup is None:
        raise NotFound("备份记录不存在", code="backup_not_found")
    return backup


def backup_now(session: Session, config: dict, *, actor: str, now: datetime, progress: Progress | None = None) -> Backup:
    """Take, record, verify and prune: what the nightly job and `guichet backup` do."""
    manifest = take_backup(config, now=now, progress=progress)
    backup = record(session, config, manifest, actor=actor, now=now)
    verify(session, config, backup, actor=actor, now=now)
    prune(session, config, actor=actor, now=now)
    return backup
