"""The receipt link (once, expired, revoked, locked), the paper receipt, escalation of a missing receipt,
verification, and the request's bad input."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from engine.db import unit_of_work
from engine.scheduler import TimerScheduler
from processes.external.models import ExternalSnapshot, ExternalTransfer, ReceiptLink
from tests.processes.test_external_transfer import (  # noqa: F401 - the app fixture without CSRF
    REQUEST,
    app,
    decide,
    items,
    link,
    path_of,
    read,
    send,
    sign,
    start,
)
from webui.cli import main

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_link_works_once_and_a_new_one_revokes_the_old(client, auth, submit_form):
    transfer_id = send(client, auth, submit_form()["id"])
    first = link(client, auth, transfer_id)
    second = link(client, auth, transfer_id)
    assert first["url"] != second["url"]
    r = client.get(path_of(first["url"]))
    assert r.status_code == 410 and "作废" in r.text
    assert sign(client, first["url"], first["code"]).status_code == 410
    assert sign(client, second["url"], second["code"]).status_code == 200
    assert sign(client, second["url"], second["code"]).status_code == 410
    assert client.post(f"/api/v1/external-transfers/{transfer_id}/receipt-link", headers=auth("handler")).status_code == 409
    assert client.get("/receipt/not-a-token").status_code == 410


def test_a_link_expires_at_the_deadline(client, auth, submit_form, clock):
    transfer_id = send(client, auth, submit_form()["id"], receipt_days=3)
    issued = link(client, auth, transfer_id)
    assert issued["expires_at"] == read(client, auth, transfer_id)["due_at"]
    clock.advance(days=3, seconds=1)
    r = client.get(path_of(issued["url"]))
    assert r.status_code == 410 and "过期" in r.text
    assert sign(client, issued["url"], issued["code"]).status_code == 410
    assert read(client, auth, transfer_id)["status"] == "overdue"
    late = link(client, auth, transfer_id)  # after the deadline a new link still gives the recipient some days
    assert client.get(path_of(late["url"])).status_code == 200
    assert sign(client, late["url"], late["code"]).status_code == 200


def test_revoke_then_the_link_is_gone(client, auth, submit_form):
    transfer_id = send(client, auth, submit_form()["id"])
    issued = link(client, auth, transfer_id)
    assert client.delete(f"/api/v1/external-transfers/{transfer_id}/receipt-link", headers=auth("clerk")).status_code == 403
    assert client.delete(f"/api/v1/external-transfers/{transfer_id}/receipt-link", headers=auth("handler")).status_code == 204
    assert client.get(path_of(issued["url"])).status_code == 410


def test_five_wrong_codes_lock_the_link(client, auth, submit_form, services):
    transfer_id = send(client, auth, submit_form()["id"])
    issued = link(client, auth, transfer_id)
    wrong = "000000" if issued["code"] != "000000" else "111111"
    for attempt in range(1, 5):
        r = sign(client, issued["url"], wrong)
        assert r.status_code == 422 and f"还可尝试 {5 - attempt} 次" in r.text
    r = sign(client, issued["url"], wrong)
    assert r.status_code == 422 and "锁定" in r.text
    assert sign(client, issued["url"], issued["code"]).status_code == 410  # even the right code, once locked
    with unit_of_work(services.sessions) as session:
        (row,) = session.scalars(select(ReceiptLink)).all()
        assert row.failed_attempts == 5 and row.locked_at is not None and row.used_at is None
    assert read(client, auth, transfer_id)["status"] == "sent"
    fresh = link(client, auth, transfer_id)
    assert sign(client, fresh["url"], fresh["code"]).status_code == 200


def test_signing_needs_name_position_and_unit(client, auth, submit_form, services):
    transfer_id = send(client, auth, submit_form()["id"])
    issued = link(client, auth, transfer_id)
    r = sign(client, issued["url"], issued["code"], name="", position="x" * 101)
    assert r.status_code == 422 and "请填写签收人姓名" not in r.text and "请填写姓名" in r.text
    assert "职务不能超过 100 个字" in r.text
    with unit_of_work(services.sessions) as session:
        assert session.scalars(select(ReceiptLink)).one().failed_attempts == 0  # not a code attempt
    assert read(client, auth, transfer_id)["receipt"] is None


def test_paper_receipt_is_stored_sealed(client, auth, submit_form, services):
    transfer_id = send(client, auth, submit_form()["id"])
    url = f"/api/v1/external-transfers/{transfer_id}/paper-receipt"
    bad = client.post(url, headers=auth("handler"), data={"file": (__import__("io").BytesIO(b"x"), "r.exe",
                                                                   "application/x-msdownload")})
    assert bad.status_code == 422 and "PDF" in bad.json["fields"]["file"]
    assert client.post(url, headers=auth("handler"), data={}).status_code == 422
    r = client.post(url, headers=auth("handler"),
                    data={"file": (__import__("io").BytesIO(PNG), "签收凭证.png", "image/png")})
    assert r.status_code == 201, r.json
    assert r.json["status"] == "received" and r.json["receipt"]["kind"] == "paper"
    with unit_of_work(services.sessions) as session:
        transfer = session.get(ExternalTransfer, transfer_id)
        from processes.external.models import Receipt

        receipt = session.scalars(select(Receipt)).one()
        assert PNG not in receipt.scan_sealed and transfer.wrapped_key
    assert items(client, auth, "handler") == []


def test_verification_says_issued_to_whom_and_signed_without_personal_data(client, auth, submit_form):
    transfer_id = send(client, auth, submit_form()["id"])
    sha = read(client, auth, transfer_id)["snapshot_sha256"]
    page = client.get(f"/verify/{sha}")
    assert page.status_code == 200 and "某某人民法院" in page.text and "尚未签收" in page.text
    for private in ("孙法官", "010-12345678", "张三", "张经办", "handler"):
        assert private not in page.text, private
    issued = link(client, auth, transfer_id)
    sign(client, issued["url"], issued["code"])
    found = client.get(f"/verify/{sha}", query_string={"format": "json"}).json
    assert found["issued"] and found["signed"] and found["recipient_unit"] == "某某人民法院"
    assert "signer_name" not in found and "孙某" not in str(found)
    unknown = client.get("/verify/" + "0" * 64, query_string={"format": "json"}).json
    assert unknown == {"issued": False, "sha256": "0" * 64}
    assert "没有签发" in client.get("/verify/abc").text


def test_missing_receipt_escalates_to_the_superior_then_level_two(client, auth, submit_form, clock, services):
    transfer_id = send(client, auth, submit_form()["id"], receipt_days=2)
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock)
    clock.advance(days=2, seconds=1)
    scheduler.tick()
    (level1,) = items(client, auth, "head")
    assert level1["kind"] == "escalation" and level1["escalation_level"] == 1
    overdue = read(client, auth, transfer_id)
    assert overdue["status"] == "overdue" and overdue["escalation_level"] == 1
    assert client.post(f"/api/v1/tasks/{level1['id']}/urge", headers=auth("head")).status_code == 204
    clock.advance(days=2)
    scheduler.tick()
    (level2,) = items(client, auth, "manager")
    assert level2["escalation_level"] == 2
    r = client.post(f"/api/v1/tasks/{level1['id']}/take-over", headers=auth("head"))
    assert r.status_code == 200 and r.json["assignee"] == "head"
    issued = link(client, auth, transfer_id, user="head")  # the one who took it over acts for the sender
    assert sign(client, issued["url"], issued["code"]).status_code == 200
    assert items(client, auth, "head") == [] and items(client, auth, "manager") == []
    handovers = client.get(f"/api/v1/forms/{overdue['form_id']}/handovers", headers=auth("handler")).json
    (wait,) = [h for h in handovers if h["step"] == "await_receipt"]
    assert wait["overdue"] is True and wait["status"] == "completed"
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=auth("manager"),
                                               query_string={"action": "external_transfer.escalate"}).json]
    assert len(actions) == 2


@pytest.mark.parametrize("changes, field", [
    ({"fields": ["content", "nope", "also_nope"]}, "fields"),
    ({"full_fields": ["no_such"]}, "full_fields"),
    ({"full_fields": ["content"], "full_reason": "需要"}, "full_fields"),
    ({"receipt_days": 0}, "receipt_days"),
    ({"receipt_days": 91}, "receipt_days"),
    ({"receipt_days": "7"}, "receipt_days"),
    ({"recipient_unit": ""}, "recipient_unit"),
    ({"purpose": "x" * 1001}, "purpose"),
    ({"fields": []}, "fields"),
])
def test_bad_requests_are_refused_with_a_message_and_nothing_written(client, auth, submit_form, services, changes, field):
    form = submit_form()
    r = start(client, auth, form["id"], **changes)
    assert r.status_code == 422 and field in r.json["fields"], r.json
    if changes.get("fields") and "nope" in changes["fields"]:
        assert "nope" in r.json["fields"]["fields"] and "also_nope" in r.json["fields"]["fields"]
    with unit_of_work(services.sessions) as session:
        assert session.scalars(select(ExternalTransfer)).all() == []


def test_only_the_department_holding_the_form_sends_it(client, auth, submit_form):
    form = submit_form()  # submitted by 营业部, now held by 信贷部
    assert start(client, auth, form["id"], user="clerk").status_code == 403
    assert start(client, auth, form["id"], user="archivist").status_code == 403
    assert start(client, auth, form["id"], user="inspector").status_code == 403
    transfer_id = start(client, auth, form["id"]).json["id"]
    assert client.get(f"/api/v1/external-transfers/{transfer_id}", headers=auth("clerk")).status_code == 403
    assert client.post(f"/api/v1/external-transfers/{transfer_id}/receipt-link",
                       headers=auth("clerk")).status_code == 403
    assert client.get(f"/api/v1/forms/{form['id']}/external-transfers", headers=auth("archivist")).status_code == 403
    listed = client.get(f"/api/v1/forms/{form['id']}/external-transfers", headers=auth("manager")).json
    assert [t["id"] for t in listed] == [transfer_id]
    assert client.get("/api/v1/external-transfers/999", headers=auth("handler")).status_code == 404


def test_cli_audit_verify_reports_an_altered_snapshot(client, auth, submit_form, services):
    send(client, auth, submit_form()["id"])
    env = {"GUICHET_DATABASE_URL": services.config["database"]["url"],
           "GUICHET_APP_INSTANCE_PATH": services.config["app"]["instance_path"]}
    ok = CliRunner().invoke(main, ["audit", "verify"], env=env, catch_exceptions=False)
    assert ok.exit_code == 0 and "intact" in ok.output
    with unit_of_work(services.sessions) as session:
        session.execute(update(ExternalSnapshot).values(sha256="f" * 64))
    broken = CliRunner().invoke(main, ["audit", "verify"], env=env, catch_exceptions=False)
    assert broken.exit_code == 1 and "对外移交 #1" in broken.output and "altered record" in broken.output


def test_a_closed_form_is_sent_by_its_own_department(client, auth, submit_form):
    form = submit_form()
    for user in ("handler", "manager"):  # 信贷部 hands it back, 营业部 (its head is manager) closes it
        (hop,) = [i for i in client.get("/api/v1/tasks", headers=auth(user)).json if i["kind"] == "task"] or [None]
        if hop is None:
            (hop,) = client.get("/api/v1/tasks", headers=auth("clerk")).json
            user = "clerk"
        assert client.post(f"/api/v1/tasks/{hop['id']}/complete", headers=auth(user),
                           json={"data": {"decision": "complete"}}).status_code == 200
    assert client.get(f"/api/v1/forms/{form['id']}", headers=auth("clerk")).json["status"] == "closed"
    assert start(client, auth, form["id"], user="handler").status_code == 403
    r = start(client, auth, form["id"], user="clerk")
    assert r.status_code == 201
    (check,) = items(client, auth, "manager")  # 营业部's head checks
    assert decide(client, auth, "manager", check["id"], "approve").status_code == 200
    assert read(client, auth, r.json["id"], user="clerk")["status"] == "sent"


def test_demo_one_transfer_awaits_its_receipt_and_one_is_signed(services, client, auth, clock):
    from processes.demo_history import seed_history
    from processes.external.demo import seed_external

    with unit_of_work(services.sessions) as session:
        seed_history(session, services.runtime, services.config, count=12)
        assert len(seed_external(session, services.runtime, services.config, now=clock.now)) == 2
    with unit_of_work(services.sessions) as session:
        assert seed_external(session, services.runtime, services.config, now=clock.now) == []  # once
        transfers = session.scalars(select(ExternalTransfer).order_by(ExternalTransfer.id)).all()
        assert [t.status for t in transfers] == ["sent", "received"]
        assert all(t.due_at > clock.now for t in transfers)  # nothing escalates right after make run
    listed = client.get("/api/v1/tasks", headers=auth("clerk"), query_string={"process": "external_transfer"}).json
    assert [i["name"] for i in listed] == ["等待接收单位签收"]


def test_key_rotation_keeps_the_snapshot_readable(client, auth, submit_form, services):
    from pathlib import Path

    from processes.external import snapshot
    from processes.forms import personal

    transfer_id = send(client, auth, submit_form()["id"])
    before = client.get(f"/api/v1/external-transfers/{transfer_id}/package.json", headers=auth("handler")).json
    env = {"GUICHET_DATABASE_URL": services.config["database"]["url"],
           "GUICHET_APP_INSTANCE_PATH": services.config["app"]["instance_path"]}
    r = CliRunner().invoke(main, ["rotate-key"], env=env, catch_exceptions=False)
    assert r.exit_code == 0 and "1 data keys re-wrapped" in r.output  # the form's; the transfer's key is wrapped under it
    personal.forget_keyrings()
    (Path(services.config["app"]["instance_path"]) / "master.key.previous").unlink()
    with unit_of_work(services.sessions) as session:
        transfer = session.get(ExternalTransfer, transfer_id)
        assert snapshot.read(session, services.config, transfer) == before["content"]
        assert snapshot.check_all(session, services.config) == []
