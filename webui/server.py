"""Several web processes: `guichet serve --workers N` runs the app under gunicorn (Linux), one app per worker.

Each worker builds its own app after the fork (no preloading), so no database connection is shared between
processes; PostgreSQL is the only thing they share. The timer scheduler is not a web worker's business: it
runs as its own process (`guichet scheduler`, as many as wanted), which `serve` starts beside the workers
unless told not to.
"""
from __future__ import annotations

import subprocess
import sys

from gunicorn.app.base import BaseApplication


class GuichetWorkers(BaseApplication):
    """gunicorn with its options from [server], serving webui.app.create_app() in each worker."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from webui.app import create_app

        return create_app()


def options(server: dict, workers: int) -> dict:
    """gunicorn settings: N sync-thread workers bound to [server] host:port, with graceful stop and restarts."""
    return {
        "bind": f"{server['host']}:{server['port']}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": server.get("threads", 8),
        "graceful_timeout": 20,
        "timeout": 60,
        # A worker is replaced after this many requests (with jitter), so a slow leak cannot grow for ever.
        "max_requests": 20_000,
        "max_requests_jitter": 2_000,
        "accesslog": None,
        "proc_name": "guichet",
    }


def start_scheduler_process() -> subprocess.Popen:
    """`guichet scheduler` as a child process, beside the web workers."""
    return subprocess.Popen([sys.executable, "-m", "webui.cli", "scheduler"])


def run(server: dict, workers: int, *, with_scheduler: bool) -> None:
    """Serve with `workers` gunicorn workers until stopped (SIGTERM/SIGINT), then stop the scheduler too."""
    scheduler = start_scheduler_process() if with_scheduler else None
    try:
        GuichetWorkers(options(server, workers)).run()
    finally:
        if scheduler is not None:
            scheduler.terminate()
            try:
                scheduler.wait(timeout=15)
            except subprocess.TimeoutExpired:
                scheduler.kill()
