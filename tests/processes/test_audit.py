"""The audit chain: every action appends a hash-chained event; an edited, deleted or reordered event is named."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import delete, select, update

from engine.db import unit_of_work
from processes.audit import rows as audit_rows
from processes.audit import service as audit
from processes.audit.models import AuditEvent
from webui.cli import main


def _events(services):
    with unit_of_work(services.sessions) as s:
        return [(e.seq, e.action) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def _verify(services):
    with unit_of_work(services.sessions) as s:
        return audit.verify(s)


def _tamper(services, statement):
    with unit_of_work(services.sessions) as s:
        s.execute(statement)


def test_submit_and_hand_over_append_a_chain(submit_form, client, auth, services):
    form = submit_form()
    (item,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"), json={"data": {}})
    assert [a for _s, a in _events(services)] == ["form.create", "form.handover", "form.handover"]
    verdict = _verify(services)
    assert verdict.ok and verdict.checked == 3
    events = client.get("/api/v1/audit", headers=auth("manager"), query_string={"object_id": form["id"]}).json
    assert events[0]["details"]["from_department"] == "信贷部" and events[-1]["actor"] == "clerk"
    assert events[1]["prev_hash"] == events[2]["hash"]


def _three_forms(submit_form, services):
    for _ in range(3):
        submit_form()
    assert len(_events(services)) == 6 and _verify(services).ok


def test_an_edited_event_is_named(submit_form, services):
    _three_forms(submit_form, services)
    _tamper(services, update(AuditEvent).where(AuditEvent.seq == 3).values(actor="handler"))
    verdict = _verify(services)
    assert not verdict.ok and verdict.broken_seq == 3 and "修改" in verdict.reason


def test_a_deleted_event_is_named(submit_form, services):
    _three_forms(submit_form, services)
    _tamper(services, delete(AuditEvent).where(AuditEvent.seq == 4))
    verdict = _verify(services)
    assert not verdict.ok and verdict.broken_seq == 5


def test_a_deleted_last_event_is_noticed(submit_form, services):
    _three_forms(submit_form, services)
    _tamper(services, delete(AuditEvent).where(AuditEvent.seq == 6))
    verdict = _verify(services)
    assert not verdict.ok and verdict.broken_seq == 6


def test_a_reordered_event_is_named(submit_form, services):
    _three_forms(submit_form, services)
    # swap events 2 and 3 by their sequence numbers (through a free number, the column is unique)
    _tamper(services, update(AuditEvent).where(AuditEvent.seq == 2).values(seq=999))
    _tamper(services, update(AuditEvent).where(AuditEvent.seq == 3).values(seq=2))
    _tamper(services, update(AuditEvent).where(AuditEvent.seq == 999).values(seq=3))
    verdict = _verify(services)
    assert not verdict.ok and verdict.broken_seq == 2


def test_cli_verify_names_the_first_broken_event(submit_form, services, make_config, monkeypatch):
    _three_forms(submit_form, services)
    url = services.config["database"]["url"]
    env = {"GUICHET_DATABASE_URL": url, "GUICHET_APP_INSTANCE_PATH": services.config["app"]["instance_path"]}
    ok = CliRunner().invoke(main, ["audit", "verify"], env=env, catch_exceptions=False)
    assert ok.exit_code == 0 and "intact: 6 events" in ok.output
    _tamper(services, update(AuditEvent).where(AuditEvent.seq == 2).values(details={"number": "x"}))
    broken = CliRunner().invoke(main, ["audit", "verify"], env=env, catch_exceptions=False)
    assert broken.exit_code == 1 and "event #2" in broken.output


def test_audit_api_filters_and_permissions(submit_form, client, auth):
    submit_form()
    assert client.get("/api/v1/audit", headers=auth("clerk")).status_code == 403
    assert client.get("/api/v1/audit", headers=auth("archivist")).status_code == 403
    all_events = client.get("/api/v1/audit", headers=auth("manager")).json
    assert [e["seq"] for e in all_events] == [2, 1]
    assert [e["action"] for e in client.get("/api/v1/audit", headers=auth("inspector"),
                                            query_string={"action": "form.create"}).json] == ["form.create"]
    assert client.get("/api/v1/audit", headers=auth("manager"), query_string={"actor": "nobody"}).json == []
    # By login name, or by part of the person's name as the audit page shows it (陈柜员(营业部) is clerk).
    for who in ("clerk", "陈柜员", "营业部"):
        found = client.get("/api/v1/audit", headers=auth("manager"), query_string={"actor": who}).json
        assert [e["seq"] for e in found] == [2, 1], who
    assert client.get("/api/v1/audit", headers=auth("manager"), query_string={"actor": "张经办"}).json == []
    assert client.get("/api/v1/audit", headers=auth("manager"), query_string={"actor": "%"}).json == []
    assert client.get("/api/v1/audit", headers=auth("manager"),
                      query_string={"since": "2030-01-01T00:00:00+00:00"}).json == []
    assert client.get("/api/v1/audit", headers=auth("manager"), query_string={"since": "bad"}).status_code == 422
    assert client.get("/api/v1/audit/verify", headers=auth("manager")).json == \
        {"ok": True, "checked": 2, "broken_seq": None, "reason": ""}


def test_concurrent_appends_keep_one_chain(app, client, auth, services):
    """Eight clerks' submissions at the same moment: every event lands, in one unbroken chain."""
    import threading

    from tests.conftest import GOOD_FORM

    template_id = client.get("/api/v1/templates", headers=auth("clerk")).json[0]["id"]
    headers = auth("clerk")
    barrier, codes = threading.Barrier(8), []

    def submit():
        c = app.test_client()
        barrier.wait()
        r = c.post("/api/v1/forms", headers=headers, json={"template_id": template_id, "data": GOOD_FORM, "submit": True})
        codes.append(r.status_code)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [201] * 8
    verdict = _verify(services)
    assert verdict.ok and verdict.checked == 16


def _append(services, action, *, commit=True):
    session = services.sessions()
    try:
        audit.record(session, actor="clerk", action=action, object_type="form", object_id=1, now=services.clock())
        session.commit() if commit else session.rollback()
    finally:
        session.close()


def test_an_append_after_another_process_moved_the_head_chains_onto_the_row(services):
    """This process's remembered head is only a guess: another writer's events are chained onto, not forked."""
    _append(services, "a.first")
    remembered = dict(audit_rows._last_head[services.sessions.kw["bind"]])
    _append(services, "a.second")  # stands for another process: it moves the head past what we remember
    audit_rows._last_head[services.sessions.kw["bind"]] = remembered
    _append(services, "a.third")
    assert [a for _s, a in _events(services)] == ["a.first", "a.second", "a.third"]
    verdict = _verify(services)
    assert verdict.ok and verdict.checked == 3


def test_an_append_after_a_rolled_back_one_chains_onto_the_row(services):
    """A rolled-back append leaves a remembered head that the row never held; the next append notices."""
    _append(services, "b.kept")
    _append(services, "b.rolled_back", commit=False)
    _append(services, "b.next")
    assert [a for _s, a in _events(services)] == ["b.kept", "b.next"]
    verdict = _verify(services)
    assert verdict.ok and verdict.checked == 2
