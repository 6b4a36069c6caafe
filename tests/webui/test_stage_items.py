"""The items of the later stages (external transfer, archive loans, query approval, destruction, rectification)
obey the inbox's rules like a hand-over: outsiders learn nothing (403/404 only), only the holder completes, and of
two claims at once exactly one wins, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engine.db import unit_of_work
from engine.models import WorkItem
from processes.demo import DEPARTMENTS, USERS

pytestmark = pytest.mark.timeout(300)  # starts threads that race

STAGES = {"external_transfer", "archive_loan", "query_approval", "destruction_approval", "rectification"}
PEOPLE = [u[0] for u in USERS]
DEPARTMENT_OF = {u[0]: dict(DEPARTMENTS)[u[3]] for u in USERS}
ACTIONS = {"claim": None, "assign": {"assignee": "handler"}, "release": None, "complete": {"data": {}},
           "urge": None, "reassign": {"assignee": "handler"}, "take-over": None}


@pytest.fixture
def stage_items(services, client, auth) -> dict[str, WorkItem]:
    """One open item of each later stage: the demo's records, its destruction proposal submitted, a volume lent."""
    from processes.demo import seed_stages

    config = {**services.config, "app": {**services.config["app"], "demo_history_forms": 10}}
    with unit_of_work(services.sessions) as s:
        seed_stages(s, services.runtime, config)
    (proposal,) = [b for b in client.get("/api/v1/destructions", headers=auth("archivist")).json
                   if b["status"] == "proposed"]
    assert client.post(f"/api/v1/destructions/{proposal['id']}/submit", headers=auth("archivist"),
                       json={}).status_code == 201
    volume = client.get("/api/v1/archive/volumes", headers=auth("archivist")).json[0]
    assert client.post("/api/v1/archive/loans", headers=auth("archivist"),
                       json={"volume_id": volume["id"], "borrower": "handler", "due_date": "2026-03-20"}).status_code == 201
    with services.sessions() as s:
        items = {w.process_key: w for w in s.scalars(select(WorkItem).where(WorkItem.status == "open",
                                                                            WorkItem.process_key.in_(STAGES)))}
        s.expunge_all()
    assert set(items) == STAGES
    return items


def holder_of(services, item_id: str) -> str | None:
    with services.sessions() as s:
        return s.get(WorkItem, item_id).assignee


def test_outsiders_get_403_or_404_and_no_detail(client, auth, services, stage_items):
    """Someone outside the item's queue who does not hold it gets 403 or 404 from every action on it, never a 409
    naming the holder or a 422 about what kind of item it is; and nothing changes. (A colleague of the queue may
    learn who holds it, as with a hand-over.)"""
    outsiders = 0
    for key, item in stage_items.items():
        for user in PEOPLE:
            if user == item.assignee or DEPARTMENT_OF[user] == item.candidate_group:
                continue
            assert client.get(f"/api/v1/tasks/{item.id}", headers=auth(user)).status_code in (403, 404), (key, user)
            outsiders += 1
            for action, body in ACTIONS.items():
                if action == "assign" and item.assignee is None and user in ("manager", "manager2"):
                    continue  # management assigns what waits in any queue (a wrong person is a 422 on the field)
                r = client.post(f"/api/v1/tasks/{item.id}/{action}", headers=auth(user), json=body)
                assert r.status_code in (403, 404), (key, user, action, r.status_code, r.json)
                assert item.assignee is None or item.assignee not in r.get_data(as_text=True), (key, user, action)
        assert holder_of(services, item.id) == item.assignee, key
    assert outsiders >= 20


def test_only_the_holder_completes_an_item_of_every_stage(client, auth, services, stage_items):
    """Whoever holds the item (claimed from the queue, or given by its lane) is the only one whose completion is
    accepted: every other person, the department head and management included, gets 403 or 409."""
    for key, item in stage_items.items():
        holder = item.assignee
        if holder is None:
            tried = {u: client.post(f"/api/v1/tasks/{item.id}/claim", headers=auth(u)) for u in PEOPLE
                     if DEPARTMENT_OF[u] == item.candidate_group}
            holder = next((u for u, r in tried.items() if r.status_code == 200), None)
            assert holder is not None, (key, {u: (r.status_code, r.json) for u, r in tried.items()})
        for user in PEOPLE:
            if user == holder:
                continue
            r = client.post(f"/api/v1/tasks/{item.id}/complete", headers=auth(user), json={"data": {}})
            assert r.status_code in (403, 409), (key, holder, user, r.status_code, r.json)
        assert holder_of(services, item.id) == holder, key
        with services.sessions() as s:
            assert s.get(WorkItem, item.id).status == "open", key


def race(app, item_id: str, tokens: dict[str, dict]) -> dict[str, int]:
    barrier, results = threading.Barrier(len(tokens)), {}

    def claim(user):
        c = app.test_client()
        barrier.wait()
        results[user] = c.post(f"/api/v1/tasks/{item_id}/claim", headers=tokens[user]).status_code

    threads = [threading.Thread(target=claim, args=(u,)) for u in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_claims_at_once_on_an_item_of_every_stage_one_wins(app, client, auth, services, stage_items):
    """Two people of the item's queue claim it at the same moment: exactly one 200. An item in a queue is
    released and raced for again, several rounds; one given by its lane is raced by its holder and another."""
    for key, item in stage_items.items():
        members = [u for u in PEOPLE if DEPARTMENT_OF[u] == item.candidate_group and u != item.assignee]
        if item.assignee is None:
            pair, rounds = members[:2], 5
        else:  # given by its lane: its holder and a colleague of the queue
            pair, rounds = [item.assignee, *(members[:1] or ["manager"])], 1  # alone in its queue: someone else
        assert len(pair) == 2, (key, members)
        for _ in range(rounds):
            results = race(app, item.id, {u: auth(u) for u in pair})
            assert list(results.values()).count(200) == 1, (key, results)
            assert set(results.values()) <= {200, 403, 409}, (key, results)
            winner = next(u for u, code in results.items() if code == 200)
            assert holder_of(services, item.id) == winner, key
            if item.assignee is None:
                assert client.post(f"/api/v1/tasks/{item.id}/release", headers=auth(winner)).status_code == 200
