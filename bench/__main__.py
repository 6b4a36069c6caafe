"""`python -m bench` runs every benchmark; `python -m bench NAME...` a subset. Writes bench/results.json.

Names: engine guichet_sqlite guichet_postgres http three_tasks inbox timers rewind instructions profile queries kpi archive external destruction
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from datetime import datetime, timezone

from .common import BENCH_DIR, cleanup, machine_info, say

# name -> (module, function)
BENCHES = {
    "engine": ("engine_only", "run"),
    "guichet_sqlite": ("service_layer", "run_sqlite"),
    "guichet_postgres": ("service_layer", "run_postgres"),
    "http": ("http_bench", "run_http_lifecycle"),
    "three_tasks": ("http_bench", "run_three_tasks"),
    "inbox": ("inbox", "run"),
    "timers": ("timer_lag", "run"),
    "rewind": ("rewind", "run"),
    "instructions": ("instructions", "run"),
    "profile": ("profiling", "run"),
    "queries": ("queries", "run"),
    "kpi": ("kpi", "run"),
    "archive": ("archive", "run"),
    "external": ("external", "run"),
    "destruction": ("destruction", "run"),
}

# metric -> (goal text, passes(value) or None)
GOALS = {
    "guichet_vs_engine_sqlite": ("<= 4", lambda v: v <= 4),
    "guichet_vs_engine_postgres": ("<= 4", lambda v: v <= 4),
    "http_3task_per_s": (">= 86 (peer 4.3)", lambda v: v >= 86),
    "http_3task_completion_ms": ("(peer 41)", None),
    "server_rss_mb": ("<= 100 (peer 150)", lambda v: v <= 100),
    "inbox_p95_ms": ("<= 50", lambda v: v <= 50),
    "archive_page_p95_ms": ("<= 50", lambda v: v <= 50),
    "timer_lag_p99_s": ("<= 2 (peer 20-30)", lambda v: v <= 2),
    "step_ratio_k200": ("<= 2", lambda v: v <= 2),
    "step_ratio_k200_warm": ("<= 2", lambda v: v <= 2),
    "kpi_ms_company_year": ("<= 200", lambda v: v <= 200),
    "kpi_ms_department_month": ("<= 200", lambda v: v <= 200),
    "destroy_per_s": (">= 1000", lambda v: v >= 1000),
    "retention_scan_s": ("<= 5", lambda v: v <= 5),
}
RESULTS = BENCH_DIR / "results.json"


def _load_avg() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def _table(metrics: dict) -> str:
    width = max(len(k) for k in metrics) if metrics else 10
    lines = [f"{'metric':<{width}}  {'value':>12}  goal", "-" * (width + 30)]
    for key, value in metrics.items():
        goal, check = GOALS.get(key, ("", None))
        verdict = ""
        if check is not None and isinstance(value, (int, float)):
            verdict = "  ok" if check(value) else "  MISSED"
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        lines.append(f"{key:<{width}}  {shown:>12}  {goal}{verdict}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from: {' '.join(BENCHES)}", file=sys.stderr)
        return 2
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    metrics, notes, failed = {}, {}, []
    load_before = _load_avg()
    say(f"bench: {' '.join(names)} (BENCH_SCALE={os.environ.get('BENCH_SCALE', '1')}, load {load_before})")
    for name in names:
        module_name, fn_name = BENCHES[name]
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{module_name}")
            got, got_notes = getattr(module, fn_name)()
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed.append(name)
            notes[f"{name}_error"] = traceback.format_exc(limit=8)
            say(f"bench {name} FAILED:\n{notes[f'{name}_error']}")
            continue
        finally:
            cleanup()
        metrics.update(got)
        notes.update(got_notes)
        notes.setdefault("seconds", {})[name] = round(time.perf_counter() - start, 1)
    if "engine_only_per_s" in metrics and metrics.get("guichet_per_s_sqlite"):
        metrics["guichet_vs_engine_sqlite_apart"] = round(metrics["engine_only_per_s"] / metrics["guichet_per_s_sqlite"], 2)
    # The goal's ratio: measured side by side when it was (steadier on a machine whose speed drifts), else apart.
    ratio = metrics.get("guichet_vs_engine_sqlite_paired", metrics.get("guichet_vs_engine_sqlite_apart"))
    if ratio is not None:
        metrics["guichet_vs_engine_sqlite"] = ratio
    if "engine_only_cpu_ms_per_lifecycle" in metrics and metrics.get("guichet_cpu_ms_per_lifecycle_sqlite"):
        metrics["guichet_vs_engine_sqlite_cpu"] = round(
            metrics["guichet_cpu_ms_per_lifecycle_sqlite"] / metrics["engine_only_cpu_ms_per_lifecycle"], 2)
    if "engine_only_cpu_ms_per_lifecycle" in metrics and metrics.get("guichet_runtime_only_cpu_ms_per_lifecycle_sqlite"):
        metrics["runtime_only_vs_engine_sqlite_cpu"] = round(
            metrics["guichet_runtime_only_cpu_ms_per_lifecycle_sqlite"] / metrics["engine_only_cpu_ms_per_lifecycle"], 2)
    if "engine_only_cpu_ms_per_lifecycle" in metrics and metrics.get("http_3task_server_cpu_ms_per_instance"):
        # The absolute HTTP figure in a unit that moves with the machine's speed: server CPU per three-task
        # instance, in lifecycles of SpiffWorkflow alone measured in the same run.
        metrics["http_3task_server_cpu_in_engine_lifecycles"] = round(
            metrics["http_3task_server_cpu_ms_per_instance"] / metrics["engine_only_cpu_ms_per_lifecycle"], 2)
    if "engine_only_per_s" in metrics and metrics.get("guichet_per_s_postgres"):
        metrics["guichet_vs_engine_postgres_apart"] = round(
            metrics["engine_only_per_s"] / metrics["guichet_per_s_postgres"], 2)

    notes["run"] = {"started": started, "benchmarks": names, "failed": failed,
                    "load_avg_before": load_before, "load_avg_after": _load_avg()}
    output = {**metrics, "notes": notes, "machine": machine_info()}
    if argv and RESULTS.exists():  # a subset updates the figures it measured and keeps the others
        previous = json.loads(RESULTS.read_text("utf-8"))
        merged_notes = previous.get("notes", {})
        for key, value in notes.items():
            if isinstance(value, dict) and isinstance(merged_notes.get(key), dict):
                merged_notes[key] = {**merged_notes[key], **value}
            else:
                merged_notes[key] = value
        output = {**{k: v for k, v in previous.items() if k not in ("notes", "machine")}, **metrics,
                  "notes": merged_notes, "machine": machine_info()}
    RESULTS.write_text(json.dumps(output, ensure_ascii=False, indent=2), "utf-8")
    print()
    print(_table(metrics))
    print(f"\nwritten to {RESULTS}" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
