"""A real Guichet server in a subprocess and a keep-alive JSON client for it (http.client, no extra packages)."""
from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from engine.config import ROOT

from .common import DEMO_PASSWORD


def request_key(method: str, path: str) -> str:
    """'POST /api/v1/tasks/<id>/complete': the route, ids replaced."""
    return f"{method} " + re.sub(r"/[0-9a-f-]{8,}|/\d+", "/<id>", path.split("?", 1)[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`with Server(config, folder) as server:` runs bench/server.py until the block ends."""

    def __init__(self, config: dict, folder: Path):
        self.config, self.folder = config, folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        path = self.folder / "server_config.json"
        path.write_text(json.dumps(self.config, ensure_ascii=False), "utf-8")
        self.log = open(self.folder / "server.log", "wb")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.server", str(path), str(self.port)], cwd=ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {(self.folder / 'server.log').read_text(errors='replace')[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start within 60 s")

    def rss_mb(self) -> float:
        """The server's resident memory (VmRSS) in MB."""
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server has used so far."""
        fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Client:
    """One keep-alive connection; `call(method, path, body, user)` returns (status, parsed JSON)."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.tokens: dict[str, str] = {}
        self.latencies: dict[str, list[float]] = {}  # per request key, seconds

    def login(self, *usernames: str) -> None:
        for name in usernames:
            status, body = self.call("POST", "/api/v1/auth/token", {"username": name, "password": DEMO_PASSWORD})
            if status != 200:
                raise RuntimeError(f"login {name}: {status} {body}")
            self.tokens[name] = body["token"]

    def call(self, method: str, path: str, body=None, user: str | None = None):
        headers = {"Accept": "application/json"}
        if user is not None:
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        payload = None
        if body is not None:
            payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        self.latencies.setdefault(request_key(method, path), []).append(time.perf_counter() - start)
        return response.status, (json.loads(raw) if raw else None)

    def ok(self, method: str, path: str, body=None, user: str | None = None, expect=(200, 201, 204)):
        status, data = self.call(method, path, body, user)
        if status not in expect:
            raise RuntimeError(f"{method} {path} as {user}: {status} {data}")
        return data

    def latency_table(self) -> dict[str, dict]:
        """{request: {"n", "p50_ms", "p95_ms"}} of what this client sent."""
        from .common import median, percentile

        return {k: {"n": len(v), "p50_ms": round(median(v) * 1000, 2), "p95_ms": round(percentile(v, 95) * 1000, 2)}
                for k, v in self.latencies.items()}

    def close(self) -> None:
        self.conn.close()
