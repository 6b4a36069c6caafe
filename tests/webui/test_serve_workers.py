"""`guichet serve --workers N`: gunicorn workers plus a scheduler process, stopped cleanly by SIGTERM."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]  # starts a server and a scheduler process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_two_workers_and_a_scheduler_serve_and_stop(database_url, tmp_path):
    port = free_port()
    env = {**os.environ, "GUICHET_DATABASE_URL": database_url, "GUICHET_APP_INSTANCE_PATH": str(tmp_path),
           "GUICHET_APP_SECRET_KEY": "test-secret", "GUICHET_SERVER_PORT": str(port),
           "GUICHET_SCHEDULER_TICK_SECONDS": "0.5"}
    log = tmp_path / "serve.log"  # kept, so a failure says why
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "webui.cli", "serve", "--workers", "2"], env=env,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, up = time.monotonic() + 120, False  # two workers and a scheduler booting beside a busy suite
        while time.monotonic() < deadline and not up and server.poll() is None:
            try:
                up = get(f"http://127.0.0.1:{port}/login") == 200
            except OSError:
                time.sleep(0.3)
        assert up, "the workers never answered; the server said:\n" + log.read_text("utf-8", "replace")[-4000:]
        assert all(get(f"http://127.0.0.1:{port}/login") == 200 for _ in range(10))
        children = children_of(server.pid)
        assert len(children) >= 3  # gunicorn's arbiter is the server itself: 2 workers + the scheduler process
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) is not None
        time.sleep(0.5)
        assert [p for p in children if os.path.exists(f"/proc/{p}") and
                open(f"/proc/{p}/stat").read().split()[2] != "Z"] == []  # nothing left behind
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
