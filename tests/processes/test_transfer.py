"""Internal transfer through the API at a fixed clock: handover records, returns, lateness and escalation."""
from __future__ import annotations

from engine.scheduler import TimerScheduler


def tasks(client, auth, user, **params):
    r = client.get("/api/v1/tasks", headers=auth(user), query_string=params)
    assert r.status_code == 200, r.json
    return r.json


def complete(client, auth, user, item_id, **data):
    return client.post(f"/api/v1/tasks/{item_id}/complete", headers=auth(user), json={"data": data})


def test_every_hop_writes_a_handover_record(client, auth, submit_form, clock):
    form = submit_form()
    (hop,) = tasks(client, auth, "handler")
    assert hop["subject"] == f"{form['number']} 个人贷款申请" and hop["queue"] == "信贷部"
    clock.advance(minutes=10)
    assert client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("handler")).status_code == 200
    clock.advance(minutes=20)
    assert complete(client, auth, "handler", hop["id"], comment="审核通过").status_code == 200
    (close,) = tasks(client, auth, "clerk")
    assert close["name"] == "营业部办结"
    assert complete(client, auth, "clerk", close["id"]).status_code == 200
    history = client.get(f"/api/v1/forms/{form['id']}/handovers", headers=auth("clerk")).json
    first, second = history
    assert (first["from_department"], first["from_user"], first["to_department"], first["to_user"]) == \
        ("营业部", "clerk", "信贷部", "handler")
    assert first["handed_at"].startswith("2026-03-02T01:00") and first["received_at"].startswith("2026-03-02T01:10")
    assert first["due_at"].startswith("2026-03-02T05:00") and first["status"] == "completed"
    assert first["comment"] == "审核通过"
    assert (second["from_department"], second["to_department"], second["status"]) == ("信贷部", "营业部", "completed")
    assert client.get(f"/api/v1/forms/{form['id']}", headers=auth("clerk")).json["status"] == "closed"


def test_return_for_correction_and_handover_again(client, auth, submit_form):
    form = submit_form()
    (hop,) = tasks(client, auth, "handler")
    assert complete(client, auth, "handler", hop["id"], decision="return", comment="缺少身份证明").status_code == 200
    (fix,) = tasks(client, auth, "clerk")
    assert fix["name"] == "营业部补正"
    assert complete(client, auth, "clerk", fix["id"]).status_code == 200
    (again,) = tasks(client, auth, "handler")
    assert again["name"] == "信贷部办理" and again["id"] != hop["id"]
    kinds = [(h["kind"], h["step"], h["status"]) for h in
             client.get(f"/api/v1/forms/{form['id']}/handovers", headers=auth("clerk")).json]
    assert kinds == [("handover", "hop_credit", "returned"), ("return", "fix_intake", "completed"),
                     ("handover", "hop_credit", "pending")]


def test_return_is_refused_where_the_diagram_has_no_return_path(client, auth, submit_form):
    submit_form()
    (hop,) = tasks(client, auth, "handler")
    complete(client, auth, "handler", hop["id"], decision="return")
    (fix,) = tasks(client, auth, "clerk")
    r = complete(client, auth, "clerk", fix["id"], decision="return")
    assert r.status_code == 422 and "decision" in r.json["fields"]


def test_late_completion_needs_a_reason(client, auth, submit_form, clock, services):
    submit_form()
    (hop,) = tasks(client, auth, "handler")
    clock.advance(hours=4, minutes=1)
    TimerScheduler(services.runtime, services.sessions, clock=clock).tick()
    (hop,) = tasks(client, auth, "handler")
    assert hop["overdue"] is True and hop["escalation_level"] == 1
    r = complete(client, auth, "handler", hop["id"])
    assert r.status_code == 422
    assert r.json["fields"] == {"late_reason": "已超过办理时限, 请填写逾期原因"}
    assert tasks(client, auth, "handler")[0]["id"] == hop["id"]  # nothing half-written
    assert complete(client, auth, "handler", hop["id"], late_reason="系统故障").status_code == 200


def test_a_comment_or_reason_is_refused_not_cut_when_too_long_or_not_text(client, auth, submit_form):
    form = submit_form()
    (hop,) = tasks(client, auth, "handler")
    for extra, field, message in (({"comment": "意" * 2001}, "comment", "不能超过 2000 个字 (现有 2001 个字)"),
                                  ({"comment": ["a"]}, "comment", "须为文本"),
                                  ({"late_reason": 5}, "late_reason", "须为文本")):
        r = complete(client, auth, "handler", hop["id"], **extra)
        assert r.status_code == 422 and r.json["fields"] == {field: message}, r.json
    assert tasks(client, auth, "handler")[0]["id"] == hop["id"]  # nothing half-written
    assert complete(client, auth, "handler", hop["id"], comment="意" * 2000).status_code == 200
    (record, _next) = client.get(f"/api/v1/forms/{form['id']}/handovers", headers=auth("clerk")).json
    assert record["comment"] == "意" * 2000


def test_escalation_goes_up_the_org_chart_and_closes_itself(client, auth, submit_form, clock, services):
    form = submit_form()
    (hop,) = tasks(client, auth, "handler")
    client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("handler"))
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock)
    clock.advance(hours=4, seconds=1)
    scheduler.tick()
    (level1,) = tasks(client, auth, "head")
    assert level1["kind"] == "escalation" and level1["escalation_level"] == 1 and level1["form_id"] == form["id"]
    assert tasks(client, auth, "manager") == []
    clock.advance(hours=4)
    scheduler.tick()
    (level2,) = tasks(client, auth, "manager")
    assert level2["escalation_level"] == 2
    # escalation does not take the item away from the handler
    (still,) = tasks(client, auth, "handler")
    assert still["id"] == hop["id"] and still["escalation_level"] == 2
    assert client.post(f"/api/v1/tasks/{level1['id']}/urge", headers=auth("head")).status_code == 204
    r = complete(client, auth, "head", level1["id"])
    assert r.status_code == 422 and r.json["code"] == "not_a_task"
    assert complete(client, auth, "handler", hop["id"], late_reason="客户补件").status_code == 200
    assert tasks(client, auth, "head") == [] and tasks(client, auth, "manager") == []
    (record,) = [h for h in client.get(f"/api/v1/forms/{form['id']}/handovers", headers=auth("clerk")).json
                 if h["step"] == "hop_credit"]
    assert record["overdue"] is True and record["late_reason"] == "客户补件"


def test_superior_takes_over_or_reassigns(client, auth, submit_form, clock, services):
    submit_form()
    submit_form()
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock)
    first, second = tasks(client, auth, "handler")
    client.post(f"/api/v1/tasks/{first['id']}/claim", headers=auth("handler"))
    client.post(f"/api/v1/tasks/{second['id']}/claim", headers=auth("handler"))
    clock.advance(hours=4, seconds=1)
    scheduler.tick()
    esc_a, esc_b = tasks(client, auth, "head")
    r = client.post(f"/api/v1/tasks/{esc_a['id']}/take-over", headers=auth("head"))
    assert r.status_code == 200 and r.json["assignee"] == "head"
    r = client.post(f"/api/v1/tasks/{esc_b['id']}/reassign", headers=auth("head"), json={"assignee": "clerk"})
    assert r.status_code == 422 and "assignee" in r.json["fields"]
    r = client.post(f"/api/v1/tasks/{esc_b['id']}/reassign", headers=auth("head"), json={"assignee": "head"})
    assert r.status_code == 200
    mine = [t for t in tasks(client, auth, "head") if t["kind"] == "task"]
    assert len(mine) == 2
    assert tasks(client, auth, "handler") == []
    r = client.post(f"/api/v1/tasks/{esc_a['id']}/urge", headers=auth("handler"))
    assert r.status_code == 403


def test_other_departments_cannot_touch_the_item(client, auth, submit_form):
    submit_form()
    (hop,) = tasks(client, auth, "handler")
    assert tasks(client, auth, "archivist") == []
    assert client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("archivist")).status_code == 403
    assert complete(client, auth, "archivist", hop["id"]).status_code == 403
    client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("handler"))
    r = client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("head"))
    assert r.status_code == 409 and r.json["code"] == "already_claimed"


def test_the_head_assigns_a_queued_item(client, auth, submit_form):
    submit_form()
    (hop,) = tasks(client, auth, "handler")
    r = client.post(f"/api/v1/tasks/{hop['id']}/assign", headers=auth("handler"), json={"assignee": "handler"})
    assert r.status_code == 403 and "部门负责人" in r.json["message"]
    r = client.post(f"/api/v1/tasks/{hop['id']}/assign", headers=auth("head"), json={"assignee": "clerk"})
    assert r.status_code == 422 and "不在 信贷部" in r.json["fields"]["assignee"]
    r = client.post(f"/api/v1/tasks/{hop['id']}/assign", headers=auth("head"), json={"assignee": "handler"})
    assert r.status_code == 200 and r.json["assignee"] == "handler"
    assert tasks(client, auth, "handler", scope="mine")[0]["id"] == hop["id"]
    history = client.get(f"/api/v1/forms/{hop['form_id']}/handovers", headers=auth("clerk")).json
    assert (history[0]["to_user"], history[0]["status"]) == ("handler", "received")


def test_outsiders_learn_nothing_about_an_item(client, auth, submit_form, clock, services):
    """Authorization comes first: someone outside the item's department gets 403, never what the item is or who holds it."""
    submit_form()
    (hop,) = tasks(client, auth, "handler")
    client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("handler"))
    r = client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("archivist"))
    assert r.status_code == 403 and "handler" not in r.json["message"] and "张经办" not in r.json["message"]
    for action in ("urge", "take-over"):
        r = client.post(f"/api/v1/tasks/{hop['id']}/{action}", headers=auth("archivist"))
        assert r.status_code == 403, (action, r.json)
    r = client.post(f"/api/v1/tasks/{hop['id']}/reassign", headers=auth("archivist"), json={"assignee": "archivist"})
    assert r.status_code == 403
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock)
    clock.advance(hours=4, seconds=1)
    scheduler.tick()
    (esc,) = tasks(client, auth, "head")
    r = complete(client, auth, "archivist", esc["id"])
    assert r.status_code == 403
    r = client.post(f"/api/v1/tasks/{esc['id']}/claim", headers=auth("archivist"))
    assert r.status_code == 403
    r = client.post(f"/api/v1/tasks/{esc['id']}/assign", headers=auth("archivist"), json={"assignee": "archivist"})
    assert r.status_code == 403
