"""Where the time goes: cProfile of the service-layer loop, the 3-task HTTP flow (in-process) and timer firing.

Full listings go to bench/profiles/*.txt; results.json notes get Guichet's own functions by cumulative time,
all functions by own time (per operation), and the share of own time per package. cProfile inflates small-call-heavy code (SQLAlchemy) the most, so
read the shares as relative, and the absolute figures from the other benchmarks.
"""
from __future__ import annotations

import cProfile
import io
import pstats
from collections import Counter

from .common import BENCH_DIR, make_config, say, size, sqlite_url, tempdir

OUT = BENCH_DIR / "profiles"


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/work/main/" in filename or "/engine/" in filename or "/processes/" in filename or "/webui/" in filename:
        tail = filename.split("/main/", 1)[-1]
        return "guichet:" + tail.split("/", 1)[0]
    return "stdlib/builtins"


def _summarise(profile: cProfile.Profile, name: str, ops: int, unit: str, top: int = 15) -> dict:
    OUT.mkdir(exist_ok=True)
    stats = pstats.Stats(profile)
    buffer = io.StringIO()
    pstats.Stats(profile, stream=buffer).sort_stats("cumulative").print_stats(60)
    buffer.write("\n\n==== by own time ====\n")
    pstats.Stats(profile, stream=buffer).sort_stats("tottime").print_stats(40)
    (OUT / f"{name}.txt").write_text(buffer.getvalue(), "utf-8")
    own = Counter()
    for (filename, _lineno, _fn), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        own[_package(filename)] += tottime
    total = sum(own.values()) or 1
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][3])
    ours = [_line(key, value, ops, unit) for key, value in rows if _is_ours(key[0])][:top]
    by_own = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])
    own_top = [_line(key, value, ops, unit, own=True) for key, value in by_own][:10]
    return {"profiled_ms_per_op": round(stats.total_tt / ops * 1000, 2),
            "own_time_share": {k: f"{v / total * 100:.0f}%" for k, v in own.most_common(8)},
            "guichet_functions_by_cumulative": ours, "functions_by_own_time": own_top, "listing": str((OUT / f"{name}.txt").relative_to(BENCH_DIR.parent))}


def _is_ours(filename: str) -> bool:
    return "site-packages" not in filename and any(f"/{d}/" in filename for d in ("engine", "processes", "webui"))


def _line(key, value, ops: int, unit: str, own: bool = False) -> str:
    (filename, line, fn), (_cc, ncalls, tottime, cumtime, _callers) = key, value
    short = filename.split("site-packages/", 1)[-1].split("/main/", 1)[-1]
    spent = tottime if own else cumtime
    return f"{spent / ops * 1000:7.2f} ms/{unit} {ncalls / ops:6.1f} calls  {short}:{line}({fn})"


def _profile(fn, n: int) -> cProfile.Profile:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(n):
        fn()
    profile.disable()
    return profile


def profile_service_layer() -> dict:
    from .common import build_app
    from .service_layer import Driver

    n = size("profile_lifecycles", 200)
    folder = tempdir("prof_service")
    app = build_app(make_config(sqlite_url(folder), folder))
    driver = Driver(app)
    for _ in range(20):
        driver.lifecycle()
    say(f"profile: service layer, {n} lifecycles under cProfile …")
    summary = _summarise(_profile(driver.lifecycle, n), "service_layer_sqlite", n, "lifecycle")
    app.extensions["guichet_engine"].dispose()
    return summary


def profile_three_tasks() -> dict:
    from . import frontend
    from .http_bench import three_task_app

    n = size("profile_instances", 100)
    app = three_task_app()
    client = frontend.FlaskClient(app)
    client.login("clerk")
    tid = frontend.template_id(client)
    for _ in range(20):
        frontend.three_task_instance(client, tid)
    say(f"profile: 3-task flow through Flask's test client, {n} instances under cProfile …")
    summary = _summarise(_profile(lambda: frontend.three_task_instance(client, tid), n), "three_tasks_http", n,
                         "instance")
    app.extensions["guichet_engine"].dispose()
    return summary


def profile_timer_firing() -> dict:
    from engine.scheduler import TimerScheduler

    from .service_layer import overdue_hops

    n = size("profile_timers", 200)
    app, runtime = overdue_hops(n, "prof_timers")
    scheduler = TimerScheduler(runtime, app.extensions["guichet"].sessions, batch_size=500)
    say(f"profile: one scheduler tick firing {n} overdue timers (cold runtime) under cProfile …")
    profile = cProfile.Profile()
    profile.enable()
    fired = scheduler.tick()
    profile.disable()
    app.extensions["guichet_engine"].dispose()
    return _summarise(profile, "timer_firing", max(1, fired), "fire")


def run() -> tuple[dict, dict]:
    notes = {"service_layer_sqlite": profile_service_layer(), "three_tasks_http_inprocess": profile_three_tasks(),
             "timer_firing_cold": profile_timer_firing()}
    for name, summary in notes.items():
        say(f"profile {name}: {summary['profiled_ms_per_op']} ms/op under cProfile; own time {summary['own_time_share']}")
        for line in summary["guichet_functions_by_cumulative"][:12]:
            say(f"    {line}")
    return {}, {"profiles": notes}
