"""2. The same lifecycles through Guichet's service layer, persisted after every step (SQLite and PostgreSQL).

Per lifecycle: one transaction for create_form(submit=True) (plus looking up the opened item), then one
transaction per hop: the handler completes hop_credit, the clerk completes hop_close (complete_hop).
"""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from engine.db import unit_of_work
from engine import rows
from processes.forms import service as forms
from processes.forms.models import FormTemplate
from processes.transfer import service as transfer

from .common import (GOOD_FORM, build_app, fresh_pg_url, make_config, say, size, sql_counter, sqlite_url, tempdir,
                     users, utcnow)


def overdue_hops(n: int, name: str):
    """(app, runtime): an app over a fresh SQLite database holding n submitted forms whose hop's first SLA
    cycle fell due 5 s ago (the second is 10 minutes away), and a cold runtime to fire their timers with, as
    a restarted `guichet scheduler` would."""
    import processes
    from engine.runtime import Runtime

    folder = tempdir(name)
    app = build_app(make_config(sqlite_url(folder), folder))
    services = app.extensions["guichet"]
    driver = Driver(app)
    services.config["transfer"]["handover_sla"] = "PT10M"
    past = utcnow() - timedelta(minutes=10, seconds=5)
    for _ in range(n):
        driver.create(now=past)
    runtime = Runtime()
    processes.register_all(runtime, services.config)
    return app, runtime


class Driver:
    """Runs lifecycles against one app's services, each step in its own transaction."""

    def __init__(self, app):
        self.app = app
        self.services = app.extensions["guichet"]
        with unit_of_work(self.services.sessions) as session:
            self.template_id = session.scalars(select(FormTemplate.id).where(FormTemplate.code == "general")).one()
            # Signed-in users are held detached for the whole run, as the web app's token cache holds them.
            self.actors = {u.username: u for u in users(session, "clerk", "handler")}
            for user in self.actors.values():
                session.expunge(user)
                session.expunge(user.department)

    def _actor(self, session, name):
        return self.actors[name]

    def create(self, *, data=GOOD_FORM, now=None) -> tuple[int, str]:
        """Submit a form; (form id, id of the item it opened)."""
        s = self.services
        with unit_of_work(s.sessions) as session:
            form = forms.create_form(session, s.runtime, s.config, actor=self._actor(session, "clerk"),
                                     template_id=self.template_id, data=dict(data), submit=True, now=now or utcnow())
            (item,) = rows.open_task_items(session, form.process_instance_id)
            return form.id, item.id

    def complete(self, item_id: str, who: str, decision: str = "complete", now=None) -> list[str]:
        """Complete an item as `who`; ids of the task items the step opened."""
        s = self.services
        with unit_of_work(s.sessions) as session:
            result = transfer.complete_hop(session, s.runtime, item=s.runtime.get_item(session, item_id),
                                           actor=self._actor(session, who),
                                           data={"decision": decision}, now=now or utcnow())
            return [i.id for i in result.opened if i.kind == "task"]

    def lifecycle(self) -> None:
        _form, item = self.create()
        (item,) = self.complete(item, "handler")
        assert self.complete(item, "clerk") == []


def runtime_lifecycle(services) -> None:
    """The same three steps through the runtime alone: instance, work items and timers persisted, no business records."""
    now = utcnow()
    with unit_of_work(services.sessions) as session:
        (item,) = services.runtime.start(session, "internal_transfer", data={"form_id": 0, "handover_sla": "PT4H"},
                                         actor="clerk", now=now, subject="bench").opened
    for who in ("handler", "clerk"):
        with unit_of_work(services.sessions) as session:
            opened = services.runtime.complete(session, item.id, actor=who, now=now,
                                               data={"decision": "complete"}).opened
        item = opened[0] if opened else None


def runtime_only_cpu_ms(app, n: int, warmup: int = 20) -> float:
    """CPU ms per lifecycle of runtime_lifecycle: what persistence of the engine's own rows costs."""
    services = app.extensions["guichet"]
    for _ in range(warmup):
        runtime_lifecycle(services)
    cpu = time.process_time()
    for _ in range(n):
        runtime_lifecycle(services)
    return (time.process_time() - cpu) / n * 1000


def measure(app, n: int, label: str, warmup: int = 20) -> tuple[float, dict]:
    driver = Driver(app)
    for _ in range(warmup):
        driver.lifecycle()
    cpu = time.process_time()
    start = time.perf_counter()
    for i in range(n):
        driver.lifecycle()
        if (i + 1) % max(1, n // 4) == 0:
            say(f"  {label}: {i + 1}/{n} lifecycles, {(i + 1) / (time.perf_counter() - start):.0f}/s")
    elapsed = time.perf_counter() - start
    cpu_ms = (time.process_time() - cpu) / n * 1000
    # Statements are counted in a pass of their own: a listener on every statement would slow the timed one.
    counted = 50
    with sql_counter(app.extensions["guichet_engine"]) as counts:
        for _ in range(counted):
            driver.lifecycle()
    return n / elapsed, {"cpu_ms_per_lifecycle": round(cpu_ms, 2),
                         "sql_per_lifecycle": round(counts["sql"] / counted, 1),
                         "commits_per_lifecycle": round(counts["commits"] / counted, 2)}


def paired_ratios(app, rounds: int, engine_n: int, guichet_n: int) -> list[float]:
    """Engine-only and Guichet lifecycles in alternating rounds; per round, Guichet's time over the engine's.

    The machine's speed drifts over seconds; a ratio of two rates measured side by side is steadier than
    one of two rates measured minutes apart. Each round first runs a few unmeasured lifecycles, so neither
    side is timed on caches the other one just left behind.
    """
    from . import engine_only

    spec, subs = engine_only.parse()
    script_engine = engine_only.SafeScriptEngine(service_handler=engine_only._no_service)
    driver = Driver(app)
    ratios, cpu_ratios = [], []
    for _ in range(rounds):
        engine_rate, engine_cpu_ms = engine_only.rate(spec, subs, script_engine, engine_n, warmup=10)
        for _ in range(5):
            driver.lifecycle()
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(guichet_n):
            driver.lifecycle()
        ratios.append(engine_rate / (guichet_n / (time.perf_counter() - start)))
        cpu_ratios.append((time.process_time() - cpu) / guichet_n * 1000 / engine_cpu_ms)
    return ratios, cpu_ratios


def run_sqlite() -> tuple[dict, dict]:
    n = size("guichet_lifecycles", 600)
    folder = tempdir("service")
    app = build_app(make_config(sqlite_url(folder), folder))
    say(f"guichet service layer, SQLite ({folder}): {n} lifecycles …")
    per_s, extra = measure(app, n, "sqlite")
    runtime_ms = runtime_only_cpu_ms(app, n)
    rounds = 11
    say(f"guichet vs engine-only, side by side: {rounds} alternating rounds …")
    ratios, cpu_ratios = paired_ratios(app, rounds, engine_n=size("paired_engine_lifecycles", 300),
                                       guichet_n=size("paired_guichet_lifecycles", 80))
    app.extensions["guichet_engine"].dispose()
    paired, paired_cpu = sorted(ratios)[len(ratios) // 2], sorted(cpu_ratios)[len(ratios) // 2]
    say(f"guichet service layer, SQLite: {per_s:.1f}/s {extra}; the runtime alone {runtime_ms:.2f} CPU ms/lifecycle; "
        f"side by side {paired:.2f}× the engine (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    return {"guichet_per_s_sqlite": round(per_s, 1), "guichet_sql_per_lifecycle_sqlite": extra["sql_per_lifecycle"],
            "guichet_cpu_ms_per_lifecycle_sqlite": extra["cpu_ms_per_lifecycle"],
            "guichet_runtime_only_cpu_ms_per_lifecycle_sqlite": round(runtime_ms, 2),
            "guichet_vs_engine_sqlite_paired": round(paired, 2),
            "guichet_vs_engine_sqlite_paired_cpu": round(paired_cpu, 2)}, \
        {"guichet_sqlite": f"{n} lifecycles (3 transactions each) after 20 warm-up; {extra}; "
                           f"runtime_only: the same steps through Runtime.start/complete without form, handover "
                           f"and audit records",
         "guichet_vs_engine_sqlite_paired": f"median of {rounds} rounds, each engine-only then Guichet side by side: "
                                            f"{[round(r, 2) for r in ratios]}; by CPU time: "
                                            f"{[round(r, 2) for r in cpu_ratios]}"}


def run_postgres() -> tuple[dict, dict]:
    n = size("guichet_lifecycles", 600)
    folder = tempdir("service_pg")
    try:
        url = fresh_pg_url("guichet_bench")
    except Exception as exc:  # noqa: BLE001 - report, keep the other benchmarks going
        say(f"PostgreSQL unavailable: {exc}")
        return {}, {"guichet_postgres": f"skipped: {type(exc).__name__}: {exc}"}
    database = url.rpartition("/")[2]
    app = build_app(make_config(url, folder))
    say(f"guichet service layer, PostgreSQL ({database}): {n} lifecycles …")
    per_s, extra = measure(app, n, "postgres")
    rounds = 11
    say(f"guichet on PostgreSQL vs engine-only, side by side: {rounds} alternating rounds …")
    ratios, cpu_ratios = paired_ratios(app, rounds, engine_n=size("paired_engine_lifecycles", 300),
                                       guichet_n=size("paired_guichet_lifecycles", 80))
    app.extensions["guichet_engine"].dispose()
    paired, paired_cpu = sorted(ratios)[len(ratios) // 2], sorted(cpu_ratios)[len(ratios) // 2]
    say(f"guichet service layer, PostgreSQL: {per_s:.1f}/s {extra}; side by side {paired:.2f}× the engine "
        f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    return {"guichet_per_s_postgres": round(per_s, 1),
            "guichet_sql_per_lifecycle_postgres": extra["sql_per_lifecycle"],
            "guichet_cpu_ms_per_lifecycle_postgres": extra["cpu_ms_per_lifecycle"],
            "guichet_vs_engine_postgres": round(paired, 2),
            "guichet_vs_engine_postgres_cpu": round(paired_cpu, 2)}, \
        {"guichet_postgres": f"{n} lifecycles (3 transactions each) after 20 warm-up, database {database}; {extra}",
         "guichet_vs_engine_postgres": f"median of {rounds} rounds, each engine-only then Guichet on PostgreSQL side by "
                                       f"side: {[round(r, 2) for r in ratios]}; by CPU time (this process only, not "
                                       f"the database server's): {[round(r, 2) for r in cpu_ratios]}"}
