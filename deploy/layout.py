"""Start the production layout locally on PostgreSQL, for a trial: the Procfile's processes, prefixed output,
all stopped together by Ctrl+C (or SIGTERM).

    .venv/bin/python deploy/layout.py [--procfile deploy/Procfile] [--database guichet_layout] [--fresh]

It creates the database when missing (`--fresh` drops it first), migrates, deploys the shipped diagrams and
seeds the demo organisation, then runs each Procfile line with GUICHET_DATABASE_URL pointing at it.
"""
from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def read_procfile(path: Path) -> list[tuple[str, str]]:
    """(name, command) of each `name: command` line."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            name, command = line.split(":", 1)
            entries.append((name.strip(), command.strip()))
    return entries


def prepare(server: str, database: str, *, fresh: bool) -> str:
    """Create (or recreate) the database and bring it up to date; returns its URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if fresh:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}).first():
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    url = f"{server}/{database}"
    env = {**os.environ, "GUICHET_DATABASE_URL": url}
    for step in (["migrate"], ["deploy"], ["seed-demo"]):
        subprocess.run([str(BIN / "guichet"), *step], env=env, check=True, cwd=ROOT)
    return url


def pipe(name: str, stream) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"{name:>11} | {line.decode(errors='replace')}")
        sys.stdout.flush()


def run(entries: list[tuple[str, str]], env: dict) -> int:
    """Run every entry until one exits or we are told to stop; then stop them all (SIGTERM, then SIGKILL)."""
    procs = {}
    for name, command in entries:
        argv = shlex.split(command)
        if argv[0] == "guichet":
            argv[0] = str(BIN / "guichet")
        procs[name] = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        threading.Thread(target=pipe, args=(name, procs[name].stdout), daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.is_set() and all(p.poll() is None for p in procs.values()):
        stop.wait(0.5)
    for p in procs.values():
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for p in procs.values():
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
    return max((p.returncode or 0) for p in procs.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procfile", type=Path, default=ROOT / "deploy" / "Procfile")
    parser.add_argument("--server", default=os.environ.get("LAYOUT_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    parser.add_argument("--database", default="guichet_layout")
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    args = parser.parse_args()
    url = prepare(args.server, args.database, fresh=args.fresh)
    print(f"layout on {url}: " + ", ".join(name for name, _ in read_procfile(args.procfile)), flush=True)
    sys.exit(run(read_procfile(args.procfile), {**os.environ, "GUICHET_DATABASE_URL": url}))


if __name__ == "__main__":
    main()
