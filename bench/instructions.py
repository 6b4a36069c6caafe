"""Instructions per operation under valgrind (callgrind): SpiffWorkflow alone vs Guichet's service layer,
and, to judge changes by, the three-task flow through Flask and one timer firing.

Wall-clock ratios on a shared machine move by ±30% with the neighbours' load; instruction counts do not
(the same code on the same inputs gives nearly the same count). Each side runs in its own process
twice, with N1 and N2 lifecycles after the same warm-up; the difference over N2 − N1 is one lifecycle,
start-up and warm-up cancelled out. Instructions are not time (a cache miss costs more than an add), so
this figure explains the wall-clock ratio rather than replacing it. Needs `valgrind` on PATH.

`python -m bench.instructions engine|guichet|http3|timers N` is the child each measurement runs. For
`timers` both runs create N2 overdue forms and restore their workflows; only the second fires N of them.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from .common import say, size

_COLLECTED = re.compile(r"Collected : (\d+)")


def _child(mode: str, n: int) -> None:
    if mode == "engine":
        from engine.expressions import SafeScriptEngine

        from .engine_only import _no_service, lifecycle, parse

        spec, subs = parse()
        script_engine = SafeScriptEngine(service_handler=_no_service)
        for _ in range(20 + n):
            lifecycle(spec, subs, script_engine)
        return
    from engine import checkpoint

    from .common import build_app, cleanup, make_config, sqlite_url, tempdir
    from .service_layer import Driver

    # The checkpoint thread wakes by the clock; under valgrind, about 50 times slower, it would wake 50
    # times as often per lifecycle as it does for real.
    checkpoint.INTERVAL_SECONDS *= 50
    if mode == "http3":
        _http3(n)
        return
    if mode == "timers":
        _timers(n)
        return

    folder = tempdir("instructions")
    app = build_app(make_config(sqlite_url(folder), folder))
    driver = Driver(app)
    for _ in range(20 + n):
        driver.lifecycle()
    app.extensions["guichet_engine"].dispose()
    cleanup()


def _http3(n: int) -> None:
    from . import frontend
    from .common import cleanup
    from .http_bench import three_task_app

    app = three_task_app()
    client = frontend.FlaskClient(app)
    client.login("clerk")
    tid = frontend.template_id(client)
    for _ in range(20 + n):
        frontend.three_task_instance(client, tid)
    app.extensions["guichet_engine"].dispose()
    cleanup()


def _timers(n: int) -> None:
    from sqlalchemy import select

    from engine.models import Timer
    from engine.scheduler import TimerScheduler

    from .common import cleanup
    from .service_layer import overdue_hops

    app, runtime = overdue_hops(TIMER_FORMS, "instructions_timers")
    services = app.extensions["guichet"]
    scheduler = TimerScheduler(runtime, services.sessions, batch_size=max(1, n), commit_every=50)
    with services.sessions() as session:
        runtime.warm_up(session, list(session.scalars(select(Timer.instance_id))))  # as the prefetch does
        session.rollback()
    if n:
        with scheduler._tick_lock:  # one batch of n, no beat or prefetch
            claims = _claim(scheduler, n)
            for start in range(0, len(claims), scheduler.commit_every):
                scheduler._fire_batch(claims[start:start + scheduler.commit_every])
    app.extensions["guichet_engine"].dispose()
    cleanup()


def _claim(scheduler, n: int):
    from engine.db import unit_of_work
    from engine.timers import claim_due

    with unit_of_work(scheduler.sessions) as session:
        return claim_due(session, owner=scheduler.owner, now=scheduler.clock(), limit=n,
                         lease_seconds=scheduler.lease_seconds)


def _count(mode: str, n: int) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, "-m", "bench.instructions", mode, str(n)]
    # A fixed hash seed: set and dict layouts, and so the count, then repeat from run to run.
    done = subprocess.run(command, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    return int(_COLLECTED.search(done.stderr).group(1))


TIMER_FORMS = 120


def per_operation(modes: tuple[str, ...], n1: int, n2: int) -> dict[str, float]:
    """Instructions per operation of each mode: (count at n2 − count at n1) / (n2 − n1)."""
    runs = [(mode, n) for mode in modes for n in (n1, n2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = dict(zip(runs, pool.map(lambda run: _count(*run), runs)))
    return {mode: (counts[(mode, n2)] - counts[(mode, n1)]) / (n2 - n1) for mode in modes}


def run() -> tuple[dict, dict]:
    if shutil.which("valgrind") is None:
        say("instructions: valgrind not found, skipped")
        return {}, {"instructions": "skipped: valgrind not found"}
    n1, n2 = 5, 5 + size("instruction_lifecycles", 20)
    say(f"instructions: callgrind, {n1} and {n2} lifecycles per side (a minute or two) …")
    per = per_operation(("engine", "guichet"), n1, n2)
    ratio = per["guichet"] / per["engine"]
    say(f"instructions: engine {per['engine'] / 1e6:.2f} M, Guichet {per['guichet'] / 1e6:.2f} M per lifecycle "
        f"({ratio:.2f}×)")
    i1, i2 = 5, 5 + size("instruction_instances", 10)
    fires = min(TIMER_FORMS, size("instruction_fires", 100))
    say(f"instructions: the three-task flow ({i1} and {i2} instances) and {fires} timer firings …")
    http3 = per_operation(("http3",), i1, i2)["http3"]
    timers = per_operation(("timers",), 0, fires)["timers"]
    say(f"instructions: three-task instance through Flask {http3 / 1e6:.2f} M, timer firing {timers / 1e6:.2f} M")
    return ({"engine_only_minstr_per_lifecycle": round(per["engine"] / 1e6, 2),
             "guichet_minstr_per_lifecycle_sqlite": round(per["guichet"] / 1e6, 2),
             "guichet_vs_engine_sqlite_instructions": round(ratio, 2),
             "http_3task_minstr_per_instance": round(http3 / 1e6, 2),
             "timer_minstr_per_fire": round(timers / 1e6, 2)},
            {"instructions": f"callgrind, ({n2} − {n1}) lifecycles per side after 20 warm-up, one process each; "
                             f"three-task flow in-process through Flask's test client, ({i2} − {i1}) instances; "
                             f"timers: {fires} firings of restored workflows, 50 per transaction"})


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
