"""Chaos: kill -9 web workers and schedulers at random while clients run the internal transfer, then check
what the outside probe checked, as code.

    .venv/bin/python -m bench.chaos [--seconds 60] [--clients 6] [--kill-every 3]      # or: make chaos

Layout: `guichet serve --workers W --no-scheduler` (gunicorn respawns a killed worker) and S `guichet
scheduler` processes (a killed one is started again), on BENCH_PG_SERVER/BENCH_CHAOS_DB (made fresh), with
hop SLAs of a few seconds so timers fire and escalate throughout. Afterwards: 0 acknowledged completions
lost, 0 duplicate handovers or escalations, every running instance's open items agree with its handovers,
and the audit chain verifies. Exit code 1 when a check fails.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "guichet-demo"
FORM = {"business_type": "个人贷款申请", "customer_name": "张三", "content": "申请个人住房贷款 50 万元",
        "handled_at": "2026-03-02T09:30", "handled_by": "陈柜员"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """A tiny JSON client (urllib): every call returns (status, body); a dropped connection is status 0."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.tokens: dict[str, str] = {}

    def call(self, method: str, path: str, body=None, user: str | None = None, query: str = ""):
        headers = {"Content-Type": "application/json"}
        if user:
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path + query, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            return e.code, None
        except (OSError, ValueError):
            return 0, None  # the worker was killed under us: not acknowledged

    def login(self, *users: str) -> None:
        for user in users:
            for _ in range(100):
                status, body = self.call("POST", "/api/v1/auth/token", {"username": user, "password": PASSWORD})
                if status == 200:
                    self.tokens[user] = body["token"]
                    break
                time.sleep(0.2)


class Chaos:
    """The processes of the layout, the clients, the killer, and what was acknowledged."""

    def __init__(self, database_url: str, folder: Path, *, workers: int, schedulers: int, sla: str):
        self.port = free_port()
        self.env = {**os.environ, "GUICHET_DATABASE_URL": database_url, "GUICHET_SERVER_PORT": str(self.port),
                    "GUICHET_SERVER_HOST": "127.0.0.1", "GUICHET_APP_INSTANCE_PATH": str(folder / "instance"),
                    "GUICHET_APP_SECRET_KEY": "chaos-secret", "GUICHET_APP_DEMO_HISTORY_FORMS": "0",
                    "GUICHET_TRANSFER_HANDOVER_SLA": sla, "GUICHET_ENGINE_MIN_TIMER_INTERVAL": "PT1S",
                    "GUICHET_SECURITY_ARGON2_TIME_COST": "1",
                    "GUICHET_SECURITY_ARGON2_MEMORY_COST": "1024", "GUICHET_SCHEDULER_TICK_SECONDS": "0.5",
                    "GUICHET_SECURITY_LOGIN_RATE_LIMIT": "10000 per minute"}
        self.workers, self.scheduler_count = workers, schedulers
        self.web: subprocess.Popen | None = None
        self.schedulers: list[subprocess.Popen] = []
        self.acknowledged: list[str] = []  # item ids whose completion got a 200
        self.kills = {"web": 0, "scheduler": 0}
        self.lock = threading.Lock()

    def _start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([str(BIN / "guichet"), *args], env=self.env, cwd=ROOT, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def prepare(self) -> None:
        for step in (["migrate"], ["deploy"], ["seed-demo"]):
            subprocess.run([str(BIN / "guichet"), *step], env=self.env, cwd=ROOT, check=True, capture_output=True)

    def start(self) -> None:
        self.web = self._start("serve", "--workers", str(self.workers), "--no-scheduler")
        self.schedulers = [self._start("scheduler") for _ in range(self.scheduler_count)]
        api, deadline = Api(self.port), time.monotonic() + 90
        while time.monotonic() < deadline and api.call("GET", "/login")[0] == 0:
            time.sleep(0.3)

    def stop(self) -> None:
        for p in [self.web, *self.schedulers]:
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in [self.web, *self.schedulers]:
            if p is None:
                continue
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)

    def client(self, until: float) -> None:
        """Submit forms and complete hops as clerk and handler until `until`, noting every 200 on a completion."""
        api = Api(self.port)
        api.login("clerk", "handler")
        template = None
        while template is None and time.monotonic() < until:
            status, body = api.call("GET", "/api/v1/templates", user="clerk")
            template = body[0]["id"] if status == 200 and body else None
        while time.monotonic() < until:
            api.call("POST", "/api/v1/forms", {"template_id": template, "data": FORM, "submit": True}, user="clerk")
            for user in ("handler", "clerk"):
                status, items = api.call("GET", "/api/v1/tasks", user=user, query="?limit=5")
                for item in (items or [])[:2] if status == 200 else []:
                    if item["kind"] != "task":
                        continue
                    api.call("POST", f"/api/v1/tasks/{item['id']}/claim", user=user)
                    data = {"decision": "complete", "late_reason": "压力测试"}
                    status, _ = api.call("POST", f"/api/v1/tasks/{item['id']}/complete", {"data": data}, user=user)
                    if status == 200:
                        with self.lock:
                            self.acknowledged.append(item["id"])

    def killer(self, until: float, every: float, rng: random.Random) -> None:
        """kill -9 a random web worker or scheduler every `every` seconds; schedulers are started again."""
        while time.monotonic() < until:
            time.sleep(every)
            if rng.random() < 0.5 and self.web is not None:
                out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.web.pid)], capture_output=True,
                                     text=True).stdout.split()
                if out:
                    os.kill(int(rng.choice(out)), signal.SIGKILL)  # gunicorn starts a new worker
                    self.kills["web"] += 1
            else:
                i = rng.randrange(len(self.schedulers))
                os.killpg(self.schedulers[i].pid, signal.SIGKILL)
                self.schedulers[i].wait()
                self.schedulers[i] = self._start("scheduler")
                self.kills["scheduler"] += 1


def check(database_url: str, acknowledged: list[str]) -> dict:
    """The probe's checks: nothing acknowledged lost, nothing doubled, instances consistent, audit chain whole."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        still_open = conn.execute(text("SELECT id FROM work_item WHERE status = 'open' AND id = ANY(:ids)")
                                  if engine.dialect.name == "postgresql" else
                                  text("SELECT id FROM work_item WHERE status = 'open'"),
                                  {"ids": acknowledged} if engine.dialect.name == "postgresql" else {}).scalars().all()
        lost = sorted(set(still_open) & set(acknowledged))
        duplicate_handovers = conn.execute(text(
            "SELECT count(*) FROM (SELECT work_item_id FROM handover GROUP BY work_item_id HAVING count(*) > 1) d")).scalar()
        duplicate_escalations = conn.execute(text(
            "SELECT count(*) FROM (SELECT handover_id, level FROM escalation GROUP BY handover_id, level "
            "HAVING count(*) > 1) d")).scalar()
        # Every open hop has its one pending handover; every completed item its finished one.
        open_without_handover = conn.execute(text(
            "SELECT count(*) FROM work_item w WHERE w.kind = 'task' AND w.status = 'open' AND w.process_key = "
            "'internal_transfer' AND NOT EXISTS (SELECT 1 FROM handover h WHERE h.work_item_id = w.id)")).scalar()
        done_unfinished = conn.execute(text(
            "SELECT count(*) FROM work_item w JOIN handover h ON h.work_item_id = w.id WHERE w.kind = 'task' "
            "AND w.status = 'done' AND h.completed_at IS NULL")).scalar()
        running_without_items = conn.execute(text(
            "SELECT count(*) FROM process_instance p WHERE p.status = 'running' AND NOT EXISTS "
            "(SELECT 1 FROM work_item w WHERE w.instance_id = p.id AND w.status = 'open')")).scalar()
        stuck_timers = conn.execute(text("SELECT count(*) FROM timer WHERE status = 'incident'")).scalar()
        escalations = conn.execute(text("SELECT count(*) FROM escalation")).scalar()
    engine.dispose()
    from engine.db import make_engine, make_session_factory, unit_of_work
    from processes.audit import service as audit

    audit_engine = make_engine(database_url)
    with unit_of_work(make_session_factory(audit_engine)) as session:
        verdict = audit.verify(session)
    audit_engine.dispose()
    result = {"acknowledged": len(acknowledged), "lost": len(lost), "duplicate_handovers": duplicate_handovers,
              "duplicate_escalations": duplicate_escalations, "open_without_handover": open_without_handover,
              "completed_without_finished_handover": done_unfinished, "running_without_open_items": running_without_items,
              "timer_incidents": stuck_timers, "escalations": escalations, "audit_ok": verdict.ok, "audit_events": verdict.checked}
    result["ok"] = (not lost and not duplicate_handovers and not duplicate_escalations and not open_without_handover
                    and not done_unfinished and not running_without_items and verdict.ok)
    return result


def run(database_url: str, folder: Path, *, seconds: float, clients: int, kill_every: float, workers: int = 4,
        schedulers: int = 2, sla: str = "PT3S", seed: int = 18) -> dict:
    """Prepare the database, run the layout under load and kills for `seconds`, settle, stop, check."""
    chaos = Chaos(database_url, folder, workers=workers, schedulers=schedulers, sla=sla)
    chaos.prepare()
    chaos.start()
    try:
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=chaos.client, args=(until,), daemon=True) for _ in range(clients)]
        threads.append(threading.Thread(target=chaos.killer, args=(until, kill_every, random.Random(seed)), daemon=True))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 120)
        time.sleep(8)  # the schedulers catch up with the timers of the last kills (lease + tick)
    finally:
        chaos.stop()
    return {**check(database_url, chaos.acknowledged), "kills": chaos.kills, "seconds": seconds, "clients": clients}


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--kill-every", type=float, default=3)
    args = parser.parse_args()
    server = os.environ.get("BENCH_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
    database = os.environ.get("BENCH_CHAOS_DB", "guichet_bench_chaos")
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    with tempfile.TemporaryDirectory(prefix="guichet-chaos-") as tmp:
        result = run(f"{server}/{database}", Path(tmp), seconds=args.seconds, clients=args.clients,
                     kill_every=args.kill_every)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
