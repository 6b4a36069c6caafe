"""Query approval: the extra cost of opening a form under a query grant (R4.4.1), against opening it as its own
department. Both are GET /api/v1/forms/{id} through Flask's test client on SQLite; under a grant the read also
checks the grant (one indexed query), masks the values and writes an access-log row and an audit event."""
from __future__ import annotations

import time

from .common import build_app, make_config, percentile, say, size, sqlite_url, tempdir

FORM = {"business_type": "个人贷款申请", "customer_name": "张三", "content": "申请个人住房贷款 50 万元",
        "handled_at": "2026-03-02 09:30", "handled_by": "陈柜员"}


def _token(client, username: str) -> dict:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": "guichet-demo"})
    return {"Authorization": f"Bearer {r.json['token']}"}


def _times(client, url: str, headers: dict, n: int) -> list[float]:
    found = []
    for _ in range(n):
        start = time.perf_counter()
        r = client.get(url, headers=headers)
        found.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, r.json
    return found


def run():
    """p95 of opening a form as its own department and under a grant, and the ratio."""
    n = size("QUERY_VIEWS", 300)
    folder = tempdir("queries")
    app = build_app(make_config(sqlite_url(folder), folder))
    client = app.test_client()
    clerk, archivist, manager = (_token(client, u) for u in ("clerk", "archivist", "manager"))
    form = client.post("/api/v1/forms", headers=clerk, json={"template_id": 1, "data": FORM, "submit": True}).json
    client.post("/api/v1/queries", headers=archivist, json={"form_ids": [form["id"]], "fields": ["customer_name"],
                                                            "purpose": "基准测试", "days": 30})
    (item,) = client.get("/api/v1/tasks", headers=manager, query_string={"process": "query_approval"}).json
    client.post(f"/api/v1/tasks/{item['id']}/complete", headers=manager,
                json={"data": {"decision": "approve", "comment": "同意"}})
    url = f"/api/v1/forms/{form['id']}"
    _times(client, url, clerk, 20), _times(client, url, archivist, 20)  # warm both paths
    own, granted = [], []
    for _ in range(5):  # interleaved, so drifts of a shared machine hit both alike
        own += _times(client, url, clerk, n // 5)
        granted += _times(client, url, archivist, n // 5)
    own_p95, granted_p95 = percentile(own, 95), percentile(granted, 95)
    say(f"  form read p95: own department {own_p95:.2f} ms, under a grant {granted_p95:.2f} ms")
    app.extensions["guichet_engine"].dispose()
    return ({"form_read_own_p95_ms": own_p95, "form_read_granted_p95_ms": granted_p95,
             "form_read_granted_extra_p95_ms": granted_p95 - own_p95,
             "form_read_granted_ratio_p95": granted_p95 / own_p95},
            {"queries": f"{n} reads each, interleaved; under a grant = grant check + masking + access log + audit"})
