"""GET /api/v1/tasks in pages: escalations first, a cursor to the next page, counts over every page."""
from __future__ import annotations

from engine.scheduler import TimerScheduler


def all_pages(client, headers, **query):
    seen, cursor, pages = [], None, 0
    while True:
        r = client.get("/api/v1/tasks", headers=headers, query_string={**query, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.json
        seen += r.json
        pages += 1
        cursor = r.headers.get("X-Next-Cursor")
        if not cursor:
            return seen, pages, r.headers


def test_escalations_come_first_and_no_item_is_crowded_out(client, auth, submit_form, services, clock):
    for _ in range(6):
        submit_form()
    clock.advance(hours=4, seconds=1)
    TimerScheduler(services.runtime, services.sessions, clock=clock).tick()  # 6 escalations reach the head
    for _ in range(5):
        submit_form()  # 5 more hops, not late, in the head's queue
    head = auth("head")
    first = client.get("/api/v1/tasks", headers=head, query_string={"limit": 4})
    assert [t["kind"] for t in first.json] == ["escalation"] * 4
    assert first.headers["X-Total-Count"] == "17" and first.headers["X-Escalation-Count"] == "6"
    assert first.headers["X-Overdue-Count"] == "6"
    items, pages, _ = all_pages(client, head, limit=4)
    assert pages == 5 and len(items) == 17 and len({t["id"] for t in items}) == 17
    kinds = [t["kind"] for t in items]
    assert kinds == ["escalation"] * 6 + ["task"] * 11
    tasks = items[6:]
    assert [t["due_at"] for t in tasks] == sorted(t["due_at"] for t in tasks)  # overdue first


def test_a_bad_cursor_or_limit_is_refused_with_a_message(client, auth):
    r = client.get("/api/v1/tasks", headers=auth("head"), query_string={"cursor": "not-a-cursor"})
    assert r.status_code == 422 and "cursor" in r.json["fields"]
    r = client.get("/api/v1/tasks", headers=auth("head"), query_string={"limit": 500})
    assert r.status_code == 422 and "limit" in r.json["fields"]


def test_each_filter_pages_the_items_it_names(client, auth, submit_form, services, clock):
    """Every kind of filter (its own prepared statements) walks to the same items as filtering all of them."""
    for _ in range(3):
        submit_form()
    clock.advance(hours=4, seconds=1)
    TimerScheduler(services.runtime, services.sessions, clock=clock).tick()  # 3 escalations reach the head
    for _ in range(2):
        submit_form()
    head = auth("head")
    everything, _, headers = all_pages(client, head, limit=2)
    assert headers["X-Total-Count"] == str(len(everything)) and len(everything) >= 8
    mine = [t for t in everything if t["assignee"] == "head"]
    queued = [t for t in everything if t["assignee"] is None]
    assert mine and queued and len(mine) + len(queued) == len(everything)
    process = everything[0]["process"]
    word = everything[0]["subject"][:2]
    cases = [({"scope": "mine"}, mine), ({"scope": "queue"}, queued),
             ({"overdue": "true"}, [t for t in everything if t["kind"] == "escalation" or t["overdue"]]),
             ({"process": process}, [t for t in everything if t["process"] == process]),
             ({"process": "no-such-process"}, []),
             ({"q": word}, [t for t in everything if word in t["subject"]]),
             ({"scope": "queue", "overdue": "true", "q": word, "process": process},
              [t for t in queued if (t["kind"] == "escalation" or t["overdue"]) and word in t["subject"]
               and t["process"] == process])]
    for query, expected in cases:
        items, _, headers = all_pages(client, head, limit=2, **query)
        assert [t["id"] for t in items] == [t["id"] for t in expected], query
        assert headers["X-Total-Count"] == str(len(expected)), query
