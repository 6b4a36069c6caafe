"""3. Internal-transfer lifecycles over HTTP, and 4. a three-task diagram driven as a frontend would.

A real waitress server (bench/server.py) in a subprocess, SQLite, no scheduler; one keep-alive client.
The SQL statements and commits per request are counted in-process through Flask's test client.
"""
from __future__ import annotations

import time
from pathlib import Path

from . import frontend
from .common import build_app, make_config, median, percentile, prepare_database, say, size, sql_counter, sqlite_url, tempdir
from .httpclient import Client, Server

THREE_TASKS = Path(__file__).with_name("three_tasks.bpmn")


def run_http_lifecycle() -> tuple[dict, dict]:
    n, warmup = size("http_lifecycles", 300), 20
    folder = tempdir("http")
    config = make_config(sqlite_url(folder), folder)
    prepare_database(config)
    with Server(config, folder) as server:
        client = Client(server.port)
        client.login("clerk", "handler")
        tid = frontend.template_id(client)
        for _ in range(warmup):
            frontend.transfer_lifecycle(client, tid)
        client.latencies.clear()
        say(f"http lifecycle (port {server.port}): {n} lifecycles …")
        cpu = server.cpu_seconds()
        start = time.perf_counter()
        for i in range(n):
            frontend.transfer_lifecycle(client, tid)
            if (i + 1) % max(1, n // 3) == 0:
                say(f"  http: {i + 1}/{n}, {(i + 1) / (time.perf_counter() - start):.1f}/s")
        per_s = n / (time.perf_counter() - start)
        cpu_ms = (server.cpu_seconds() - cpu) / n * 1000
        latencies = client.latency_table()
        client.close()
    say(f"http lifecycle, SQLite: {per_s:.1f}/s; per request: {latencies}")
    return {"http_per_s_sqlite": round(per_s, 1), "http_server_cpu_ms_per_lifecycle": round(cpu_ms, 2)}, \
        {"http_sqlite": f"{n} lifecycles (7 requests each: create, 2 × list + complete) after {warmup} warm-up; "
                        f"client-side latency per request: {latencies}"}


def run_three_tasks() -> tuple[dict, dict]:
    n, warmup = size("three_task_instances", 300), 30
    folder = tempdir("three")
    config = make_config(sqlite_url(folder), folder, transfer={"process": "three_tasks"})
    prepare_database(config, extra_bpmn=(THREE_TASKS,))
    timings: list[float] = []
    with Server(config, folder) as server:
        client = Client(server.port)
        client.login("clerk")
        tid = frontend.template_id(client)
        rss_start = server.rss_mb()
        for _ in range(warmup):
            frontend.three_task_instance(client, tid)
        client.latencies.clear()
        say(f"http 3-task (port {server.port}): {n} instances …")
        cpu = server.cpu_seconds()
        start = time.perf_counter()
        for i in range(n):
            frontend.three_task_instance(client, tid, timings=timings)
            if (i + 1) % max(1, n // 3) == 0:
                say(f"  3-task: {i + 1}/{n}, {(i + 1) / (time.perf_counter() - start):.1f} instances/s")
        per_s = n / (time.perf_counter() - start)
        cpu_ms = (server.cpu_seconds() - cpu) / n * 1000
        rss = server.rss_mb()
        latencies = client.latency_table()
        client.close()
    say(f"http 3-task: {per_s:.1f} instances/s, completion p50 {median(timings) * 1000:.1f} ms, RSS {rss:.0f} MB")
    counted = count_sql(config)
    metrics = {
        "http_3task_per_s": round(per_s, 1),
        "http_3task_completion_ms": round(median(timings) * 1000, 2),
        "http_3task_completion_p95_ms": round(percentile(timings, 95) * 1000, 2),
        "server_rss_mb": round(rss, 1),
        "http_3task_server_cpu_ms_per_instance": round(cpu_ms, 2),
        "sql_per_completion": counted["POST /api/v1/tasks/<id>/complete"]["sql"],
        "commits_per_completion": counted["POST /api/v1/tasks/<id>/complete"]["commits"],
    }
    notes = {"http_3task": f"{n} instances after {warmup} warm-up; one client; server RSS {rss_start:.0f} MB after "
                           f"login, {rss:.0f} MB at the end; client-side latency per request: {latencies}; SQL counted "
                           f"in-process per request: {counted}"}
    return metrics, notes


def count_sql(config: dict, instances: int = 30) -> dict:
    """Statements and commits per request for the three-task flow, in-process through Flask's test client."""
    from webui.app import create_app

    app = create_app(config=config)
    with sql_counter(app.extensions["guichet_engine"]) as counts:
        client = frontend.FlaskClient(app, counts)
        client.login("clerk")
        tid = frontend.template_id(client)
        frontend.three_task_instance(client, tid)  # warm caches
        client.per_request.clear()
        for _ in range(instances):
            frontend.three_task_instance(client, tid)
    app.extensions["guichet_engine"].dispose()
    return client.per_request_table()


def three_task_app():
    """An in-process app over a fresh database with the three-task diagram as the transfer process (profiling)."""
    folder = tempdir("three_prof")
    config = make_config(sqlite_url(folder), folder, transfer={"process": "three_tasks"})
    return build_app(config, extra_bpmn=(THREE_TASKS,))
