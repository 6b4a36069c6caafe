"""The load test: the three-task flow and inbox reads (locust, headless, bounded in users and time, against
127.0.0.1 only) on PostgreSQL, for one process and for the layout of 4 web processes + 2 schedulers.

    .venv/bin/python -m bench.loadtest        # or: make loadtest

LOAD_USERS (16) concurrent users for LOAD_SECONDS (40) per layout; the database is BENCH_LOAD_DB
(guichet_bench_load) on BENCH_PG_SERVER (postgresql+psycopg://postgres@127.0.0.1:5432), dropped and made
again for each layout. Writes bench/loadtest-results.json. Figures from a shared machine are noisy: compare
the server's CPU per request, which moves less than throughput.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
USERS = int(os.environ.get("LOAD_USERS", "16"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "40"))
SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_LOAD_DB", "guichet_bench_load")
LAYOUTS = {
    "one_process": ["guichet serve"],
    "4_web_2_schedulers": ["guichet serve --workers 4 --no-scheduler", "guichet scheduler", "guichet scheduler"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(env: dict) -> None:
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    three = str(ROOT / "bench" / "three_tasks.bpmn")
    for step in (["migrate"], ["deploy"], ["deploy", three], ["seed-demo"]):
        subprocess.run([str(BIN / "guichet"), *step], env=env, check=True, cwd=ROOT, capture_output=True)


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes and their children (clock ticks → s)."""
    total = 0.0
    for pid in pids:
        for child in [pid, *_descendants(pid)]:
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (FileNotFoundError, IndexError, ValueError):
                pass
    return total


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    found = [int(p) for p in out]
    return found + [d for p in found for d in _descendants(p)]


def wait_until_up(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the server never answered")


def run_layout(name: str, commands: list[str], folder: Path) -> dict:
    port = free_port()
    env = {**os.environ, "GUICHET_DATABASE_URL": f"{SERVER}/{DATABASE}", "GUICHET_SERVER_PORT": str(port),
           "GUICHET_SERVER_HOST": "127.0.0.1", "GUICHET_APP_INSTANCE_PATH": str(folder / "instance"),
           "GUICHET_APP_SECRET_KEY": "load-secret", "GUICHET_APP_DEMO_HISTORY_FORMS": "0",
           "GUICHET_TRANSFER_PROCESS": "three_tasks", "GUICHET_SECURITY_ARGON2_TIME_COST": "1",
           "GUICHET_SECURITY_ARGON2_MEMORY_COST": "1024", "GUICHET_SECURITY_LOGIN_RATE_LIMIT": "10000 per minute"}
    fresh_database(env)
    procs = [subprocess.Popen([str(BIN / "guichet"), *c.split()[1:]], env=env, cwd=ROOT, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands]
    try:
        wait_until_up(port)
        pids = [p.pid for p in procs]
        cpu_before = cpu_seconds(pids)
        prefix = folder / name
        subprocess.run([str(BIN / "locust"), "-f", str(ROOT / "bench" / "loadtest" / "locustfile.py"), "--headless",
                        "-u", str(USERS), "-r", str(USERS), "--run-time", f"{SECONDS}s", "--stop-timeout", "10",
                        "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary"],
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False, timeout=SECONDS + 120,
                       capture_output=True)
        cpu = cpu_seconds(pids) - cpu_before
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
    rows = {r["Name"]: r for r in csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8"))}
    total = rows["Aggregated"]
    requests = int(total["Request Count"])
    return {
        "requests": requests, "failures": int(total["Failure Count"]),
        "requests_per_s": round(float(total["Requests/s"]), 1),
        "p95_ms": float(total["95%"]), "p50_ms": float(total["50%"]),
        "server_cpu_ms_per_request": round(cpu / max(1, requests) * 1000, 2),
        "per_request": {n: {"n": int(r["Request Count"]), "p95_ms": float(r["95%"]), "per_s": round(float(r["Requests/s"]), 1)}
                        for n, r in rows.items() if n != "Aggregated"},
    }


def main() -> None:
    import tempfile

    load = os.getloadavg()
    results = {"users": USERS, "seconds": SECONDS, "cores": os.cpu_count(), "load_before": [round(x, 1) for x in load]}
    with tempfile.TemporaryDirectory(prefix="guichet-load-") as tmp:
        for name, commands in LAYOUTS.items():
            print(f"load test: {name} ({', '.join(commands)}), {USERS} users, {SECONDS} s …", flush=True)
            results[name] = run_layout(name, commands, Path(tmp))
            r = results[name]
            print(f"  {r['requests_per_s']} requests/s, p95 {r['p95_ms']} ms, {r['failures']} failures, "
                  f"server CPU {r['server_cpu_ms_per_request']} ms/request", flush=True)
    results["load_after"] = [round(x, 1) for x in os.getloadavg()]
    cpu = results["4_web_2_schedulers"]["server_cpu_ms_per_request"]
    results["expected_requests_per_s_per_core"] = round(1000 / cpu, 1) if cpu else None
    (ROOT / "bench" / "loadtest-results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k not in LAYOUTS}, ensure_ascii=False))


if __name__ == "__main__":
    main()
