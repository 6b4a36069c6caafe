"""What a frontend does over the API, written once for both a real HTTP connection and Flask's test client."""
from __future__ import annotations

import time

from .common import DEMO_PASSWORD, GOOD_FORM
from .httpclient import request_key


class FlaskClient:
    """The Client interface (login/ok) over app.test_client(), for in-process counting and profiling."""

    def __init__(self, app, counts: dict | None = None):
        self.client = app.test_client()
        self.tokens: dict[str, str] = {}
        self.counts = counts  # a live sql_counter dict: per-request deltas go to self.per_request
        self.per_request: dict[str, list[int]] = {}

    def login(self, *usernames: str) -> None:
        for name in usernames:
            r = self.client.post("/api/v1/auth/token", json={"username": name, "password": DEMO_PASSWORD})
            if r.status_code != 200:
                raise RuntimeError(f"login {name}: {r.status_code} {r.json}")
            self.tokens[name] = r.json["token"]

    def ok(self, method: str, path: str, body=None, user: str | None = None, expect=(200, 201, 204)):
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        before = dict(self.counts) if self.counts is not None else None
        r = self.client.open(path, method=method, json=body, headers=headers)
        if before is not None:
            key = request_key(method, path)
            totals = self.per_request.setdefault(key, [0, 0, 0])
            totals[0] += 1
            totals[1] += self.counts["sql"] - before["sql"]
            totals[2] += self.counts["commits"] - before["commits"]
        if r.status_code not in expect:
            raise RuntimeError(f"{method} {path} as {user}: {r.status_code} {r.get_data(as_text=True)[:500]}")
        return r.json

    def close(self) -> None:
        pass

    def per_request_table(self) -> dict[str, dict]:
        """{request: {"n", "sql", "commits"}} with per-request averages."""
        return {k: {"n": n, "sql": round(sql / n, 1), "commits": round(c / n, 2)}
                for k, (n, sql, c) in self.per_request.items()}


def template_id(client) -> int:
    return client.ok("GET", "/api/v1/templates", user="clerk")[0]["id"]


def submit(client, tid: int) -> int:
    """POST /forms with submit; the form id."""
    return client.ok("POST", "/api/v1/forms", {"template_id": tid, "data": GOOD_FORM, "submit": True}, user="clerk")["id"]


def complete_next(client, form_id: int, user: str, decision: str = "complete", timings: list | None = None) -> None:
    """As a frontend: list the inbox, pick the form's item, complete it (time the completion into `timings`)."""
    items = client.ok("GET", "/api/v1/tasks", user=user)
    item = next((i for i in items if i["form_id"] == form_id and i["kind"] == "task"), None)
    if item is None:
        raise RuntimeError(f"no item of form {form_id} in {user}'s inbox: {items[:3]}")
    start = time.perf_counter()
    client.ok("POST", f"/api/v1/tasks/{item['id']}/complete", {"data": {"decision": decision}}, user=user)
    if timings is not None:
        timings.append(time.perf_counter() - start)


def transfer_lifecycle(client, tid: int) -> None:
    """The internal transfer: submit, handler completes hop_credit, clerk completes hop_close."""
    form_id = submit(client, tid)
    complete_next(client, form_id, "handler")
    complete_next(client, form_id, "clerk")


def three_task_instance(client, tid: int, timings: list | None = None) -> None:
    """The three-task diagram: submit, then the clerk lists + completes A, B and C."""
    form_id = submit(client, tid)
    for _ in range(3):
        complete_next(client, form_id, "clerk", timings=timings)
