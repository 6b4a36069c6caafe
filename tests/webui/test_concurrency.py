"""Two people complete the same task at the same moment: one wins, the other gets 409, nothing half-written."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine.db import unit_of_work
from engine.models import WorkItem
from processes.transfer.models import Handover

pytestmark = pytest.mark.timeout(120)  # starts threads that race


def test_two_concurrent_completions(app, client, auth, submit_form, services):
    for round_ in range(5):
        submit_form()
    items = client.get("/api/v1/tasks", headers=auth("handler")).json
    assert len(items) == 5
    headers = {"handler": auth("handler"), "head": auth("head")}
    for item in items:
        barrier = threading.Barrier(2)
        results = {}

        def complete(user):
            c = app.test_client()
            barrier.wait()
            r = c.post(f"/api/v1/tasks/{item['id']}/complete", headers=headers[user], json={"data": {}})
            results[user] = (r.status_code, r.json)

        threads = [threading.Thread(target=complete, args=(u,)) for u in headers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(code for code, _ in results.values())
        assert statuses == [200, 409], results
        loser = next(body for code, body in results.values() if code == 409)
        assert loser["message"] and loser["code"] in ("task_closed", "concurrent_update", "task_changed", "commit_failed")
    with unit_of_work(services.sessions) as s:
        # exactly one next hop per form, and one completed handover per first hop
        open_close_hops = s.scalar(select(func.count()).select_from(WorkItem).where(
            WorkItem.task_name == "hop_close", WorkItem.status == "open"))
        completed = s.scalar(select(func.count()).select_from(Handover).where(
            Handover.step == "hop_credit", Handover.status == "completed"))
        handovers = s.scalar(select(func.count()).select_from(Handover))
    assert (open_close_hops, completed, handovers) == (5, 5, 10)


def test_two_concurrent_claims(app, client, auth, submit_form, services):
    """Two people of one queue claim the same item at once: one 200, one 409, one receipt, on every database."""
    for _ in range(5):
        submit_form()
    items = client.get("/api/v1/tasks", headers=auth("handler")).json
    headers = {"handler": auth("handler"), "head": auth("head")}
    for item in items:
        barrier, results = threading.Barrier(2), {}

        def claim(user):
            c = app.test_client()
            barrier.wait()
            r = c.post(f"/api/v1/tasks/{item['id']}/claim", headers=headers[user])
            results[user] = (r.status_code, r.json)

        threads = [threading.Thread(target=claim, args=(u,)) for u in headers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(code for code, _ in results.values()) == [200, 409], results
        winner = next(user for user, (code, _) in results.items() if code == 200)
        loser = next(body for code, body in results.values() if code == 409)
        assert loser["code"] == "already_claimed" and loser["message"]
        with unit_of_work(services.sessions) as s:
            assert s.get(WorkItem, item["id"]).assignee == winner
            received = s.scalars(select(Handover.to_user).where(Handover.work_item_id == item["id"])).all()
        assert received == [winner]
