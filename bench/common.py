"""Shared plumbing: sizes, progress lines, fresh migrated databases with the demo organisation, stats."""
from __future__ import annotations

import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from engine.config import ROOT, load_config

BENCH_DIR = Path(__file__).resolve().parent
PG_BASE = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DEMO_PASSWORD = "guichet-demo"
GOOD_FORM = {
    "business_type": "个人贷款申请",
    "customer_name": "张三",
    "content": "申请个人住房贷款 50 万元",
    "handled_at": "2026-03-02 09:30",
    "handled_by": "陈柜员",
}
_T0 = time.perf_counter()


def size(name: str, default: int) -> int:
    """A size: BENCH_<NAME> if set, else default × BENCH_SCALE (at least 1)."""
    raw = os.environ.get(f"BENCH_{name.upper()}")
    if raw:
        return int(raw)
    return max(1, int(default * float(os.environ.get("BENCH_SCALE", "1"))))


def say(message: str) -> None:
    """One progress line with the time since the bench started."""
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", flush=True)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def percentile(values, p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


_hash_cache: list[str] = []


def demo_hash() -> str:
    """One cheap argon2 hash of the demo password (tokens are issued a few times only)."""
    if not _hash_cache:
        from argon2 import PasswordHasher

        _hash_cache.append(PasswordHasher(time_cost=1, memory_cost=1024).hash(DEMO_PASSWORD))
    return _hash_cache[0]


_tempdirs: list[Path] = []


def tempdir(prefix: str) -> Path:
    """A temporary folder for one benchmark's SQLite file and instance folder (removed by cleanup())."""
    folder = Path(tempfile.mkdtemp(prefix=f"guichet_bench_{prefix}_"))
    _tempdirs.append(folder)
    return folder


def cleanup() -> None:
    """Remove the temporary folders of this run, unless BENCH_KEEP=1."""
    if os.environ.get("BENCH_KEEP") == "1":
        say(f"kept: {' '.join(map(str, _tempdirs))}")
        return
    while _tempdirs:
        shutil.rmtree(_tempdirs.pop(), ignore_errors=True)


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'guichet.db'}"


def pg_database(name: str = "guichet_bench") -> str:
    """A bench database's name, after BENCH_PG_DB_PREFIX (so runs from several checkouts do not drop each other's)."""
    assert name.startswith("guichet_bench"), name
    return os.environ.get("BENCH_PG_DB_PREFIX", "") + name


def fresh_pg_url(name: str = "guichet_bench") -> str:
    """Drop and recreate the PostgreSQL database pg_database(name) (guichet_bench*); returns its URL."""
    from sqlalchemy import create_engine, text

    name = pg_database(name)
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_BASE.rpartition("/")[0] + "/" + name


def make_config(url: str, folder: Path, **sections) -> dict:
    """Settings as the tests build them: cheap argon2, scheduler off, per-section overrides."""
    overrides = {
        "app": {"instance_path": str(folder / "instance"), "secret_key": "bench-secret", "demo": True},
        "database": {"url": url},
        "security": {"argon2_time_cost": 1, "argon2_memory_cost": 1024},
        "scheduler": {"enabled": False, "tick_seconds": 0.2},
    }
    for section, values in sections.items():
        overrides.setdefault(section, {}).update(values)
    return load_config(env={}, overrides=overrides)


def prepare_database(config: dict, extra_bpmn: tuple[Path, ...] = ()) -> None:
    """Migrate, seed the demo organisation, deploy bpmn/*.bpmn and any extra diagrams."""
    from engine.db import unit_of_work
    from engine.migrate import upgrade
    from processes.demo import seed_demo
    from processes.services import compose

    upgrade(config["database"]["url"])
    services = compose(config)
    with unit_of_work(services.sessions) as session:
        seed_demo(session, password_hash=demo_hash(), now=utcnow())
        for path in [*sorted((ROOT / "bpmn").glob("*.bpmn")), *extra_bpmn]:
            services.runtime.deploy(session, Path(path).read_text("utf-8"), actor="bench", now=utcnow())
    services.dispose()


def build_app(config: dict, extra_bpmn: tuple[Path, ...] = ()):
    """A fresh database prepared as above, and an app over it, settled as `guichet serve` settles it."""
    from webui.app import create_app
    from webui.cli import settle

    prepare_database(config, extra_bpmn)
    app = create_app(config=config)
    settle()
    return app


def users(session, *names):
    """Demo users by username, loaded in `session`."""
    from processes.org import service as org

    return [org.get_by_username(session, n) for n in names]


@contextmanager
def sql_counter(engine):
    """Counts statements and commits on an engine: yields a dict {'sql': n, 'commits': n}."""
    from sqlalchemy import event

    counts = {"sql": 0, "commits": 0}

    def on_sql(*_a, **_k):
        counts["sql"] += 1

    def on_commit(*_a, **_k):
        counts["commits"] += 1

    event.listen(engine, "before_cursor_execute", on_sql)
    event.listen(engine, "commit", on_commit)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", on_sql)
        event.remove(engine, "commit", on_commit)


def machine_info() -> dict:
    import sqlite3

    import SpiffWorkflow  # noqa: F401
    import sqlalchemy
    from importlib.metadata import version

    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_kb = 0
    try:
        mem_kb = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")))
    except (OSError, StopIteration):
        pass
    return {
        "python": sys.version.split()[0], "platform": platform.platform(), "cpu": cpu, "cpus": os.cpu_count(),
        "mem_gb": round(mem_kb / 1024 / 1024, 1), "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__, "spiffworkflow": version("SpiffWorkflow"),
        "scale": os.environ.get("BENCH_SCALE", "1"),
    }
