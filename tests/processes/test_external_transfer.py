"""External transfer (R4.2.3-R4.2.4): check, approval of full sensitive values, snapshot, receipt, escalation."""
from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

import processes
from engine.db import unit_of_work
from engine.runtime import Runtime
from processes.audit import service as audit_service
from processes.external.models import ExternalSnapshot
from tests.conftest import KYC_FORM

REQUEST = {"recipient_unit": "某某人民法院", "recipient_name": "孙法官", "recipient_contact": "010-12345678",
           "purpose": "协助调查 (2026) 京 01 民初 12 号"}


@pytest.fixture(params=["straight", "restore"])
def cold(request, services):
    """cold() before a step: in 'restore' mode the next step starts from a fresh runtime (state loaded from the DB)."""

    def _cold():
        if request.param == "restore":
            fresh = Runtime()
            processes.register_all(fresh, services.config)
            services.runtime = fresh

    return _cold


def items(client, auth, user, **query):
    return client.get("/api/v1/tasks", headers=auth(user), query_string={"process": "external_transfer", **query}).json


def decide(client, auth, user, item_id, decision, comment=""):
    return client.post(f"/api/v1/tasks/{item_id}/complete", headers=auth(user),
                       json={"data": {"decision": decision, "comment": comment}})


def start(client, auth, form_id, user="handler", **changes):
    return client.post(f"/api/v1/forms/{form_id}/external-transfers", headers=auth(user), json={**REQUEST, **changes})


def read(client, auth, transfer_id, user="handler"):
    r = client.get(f"/api/v1/external-transfers/{transfer_id}", headers=auth(user))
    assert r.status_code == 200, r.json
    return r.json


def send(client, auth, form_id, **changes):
    """Start and check a transfer as handler and head: the package is sent."""
    r = start(client, auth, form_id, **changes)
    assert r.status_code == 201, r.json
    (check,) = items(client, auth, "head")
    assert decide(client, auth, "head", check["id"], "approve").status_code == 200
    return r.json["id"]


def link(client, auth, transfer_id, user="handler"):
    r = client.post(f"/api/v1/external-transfers/{transfer_id}/receipt-link", headers=auth(user))
    assert r.status_code == 201, r.json
    return r.json


def path_of(url):
    return "/" + url.split("/", 3)[3]


def sign(client, url, code, **changes):
    body = {"name": "孙某", "position": "书记员", "unit": "某某人民法院", "code": code, **changes}
    return client.post(path_of(url), data=body)


@pytest.fixture
def app(make_config, demo_hash, clock):
    from tests.conftest import build_app

    app = build_app(make_config(security={"argon2_time_cost": 1, "argon2_memory_cost": 1024}), demo_hash, clock)
    app.config["WTF_CSRF_ENABLED"] = False  # the receipt page is a plain form; CSRF is tested in the browser
    yield app
    app.extensions["guichet_engine"].dispose()


def test_check_snapshot_receipt_straight_and_restored(client, auth, submit_form, cold, clock):
    form = submit_form()
    cold()
    r = start(client, auth, form["id"], fields=["business_type", "content", "customer_name"], receipt_days=7)
    assert r.status_code == 201, r.json
    transfer = r.json
    assert transfer["status"] == "checking" and transfer["snapshot_sha256"] is None
    (check,) = items(client, auth, "head")
    assert check["name"] == "核对移交内容" and check["assignee"] == "head"
    assert items(client, auth, "handler") == []  # the starter never checks their own package
    assert decide(client, auth, "handler", check["id"], "approve").status_code == 403
    cold()
    clock.advance(minutes=10)
    assert decide(client, auth, "head", check["id"], "approve", "与原件一致").status_code == 200
    sent = read(client, auth, transfer["id"])
    assert sent["status"] == "sent" and len(sent["snapshot_sha256"]) == 64 and sent["checked_by"] == "head"
    assert sent["due_at"].startswith((clock.now + timedelta(days=7)).date().isoformat())
    (wait,) = items(client, auth, "handler")
    assert wait["name"] == "等待接收单位签收" and wait["assignee"] == "handler"
    r = decide(client, auth, "handler", wait["id"], "approve")
    assert r.status_code == 422 and r.json["code"] == "awaiting_receipt"
    cold()
    issued = link(client, auth, transfer["id"])
    assert re.fullmatch(r"\d{6}", issued["code"]) and "/receipt/" in issued["url"]
    page = client.get(path_of(issued["url"]))
    assert page.status_code == 200 and sent["snapshot_sha256"] in page.text
    assert "孙法官" not in page.text and "010-12345678" not in page.text and "张三" not in page.text
    cold()
    clock.advance(hours=2)
    done = sign(client, issued["url"], issued["code"])
    assert done.status_code == 200 and "已签收" in done.text
    received = read(client, auth, transfer["id"])
    assert received["status"] == "received"
    assert received["receipt"]["signer_name"] == "孙某" and received["receipt"]["snapshot_sha256"] == sent["snapshot_sha256"]
    assert received["receipt"]["kind"] == "link" and received["receipt"]["client_address"]
    assert items(client, auth, "handler") == []
    assert client.get(path_of(issued["url"])).status_code == 410  # once only
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=auth("manager"),
                                               query_string={"object_type": "external_transfer"}).json]
    for action in ("start", "check", "snapshot", "link_issued", "link_used", "receipt"):
        assert f"external_transfer.{action}" in actions, action


def test_full_sensitive_values_need_management_approval(client, auth, kyc_template, cold):
    form = client.post("/api/v1/forms", headers=auth("clerk"),
                       json={"template_id": kyc_template, "data": KYC_FORM, "submit": True}).json
    r = start(client, auth, form["id"], full_fields=["customer_id"])
    assert r.status_code == 422 and "full_reason" in r.json["fields"]
    r = start(client, auth, form["id"], full_fields=["customer_id"], full_reason="法院协助执行通知书要求提供身份证号")
    assert r.status_code == 201, r.json
    transfer_id = r.json["id"]
    (check,) = items(client, auth, "head")
    cold()
    assert decide(client, auth, "head", check["id"], "approve").status_code == 200
    assert read(client, auth, transfer_id)["status"] == "awaiting_approval"
    (approval,) = items(client, auth, "manager")
    assert approval["name"] == "管理层批准发送全文"
    assert decide(client, auth, "head", approval["id"], "approve").status_code == 403
    cold()
    assert decide(client, auth, "manager", approval["id"], "approve").status_code == 200
    sent = read(client, auth, transfer_id)
    assert sent["status"] == "sent" and sent["approved_by"] == "manager"
    content = client.get(f"/api/v1/external-transfers/{transfer_id}/package.json", headers=auth("handler")).json
    values = {f["code"]: f for f in content["content"]["fields"]}
    assert values["customer_id"]["value"] == KYC_FORM["customer_id"] and not values["customer_id"]["masked"]
    assert values["card_no"]["masked"] and KYC_FORM["card_no"] not in str(values["card_no"]["value"])
    assert content["snapshot_sha256"] == sent["snapshot_sha256"]


@pytest.mark.parametrize("who", ["head", "manager"])
def test_return_at_check_or_approval_sends_nothing(client, auth, kyc_template, who):
    form = client.post("/api/v1/forms", headers=auth("clerk"),
                       json={"template_id": kyc_template, "data": KYC_FORM, "submit": True}).json
    transfer_id = start(client, auth, form["id"], full_fields=["customer_id"], full_reason="监管检查需要").json["id"]
    (check,) = items(client, auth, "head")
    if who == "manager":
        decide(client, auth, "head", check["id"], "approve")
        (check,) = items(client, auth, "manager")
    assert decide(client, auth, who, check["id"], "return").status_code == 422  # a return needs a comment
    assert decide(client, auth, who, check["id"], "return", "用途不明确").status_code == 200
    returned = read(client, auth, transfer_id)
    assert returned["status"] == "returned" and returned["snapshot_sha256"] is None
    assert client.get(f"/api/v1/external-transfers/{transfer_id}/package.pdf", headers=auth("handler")).status_code == 409
    assert client.post(f"/api/v1/external-transfers/{transfer_id}/receipt-link", headers=auth("handler")).status_code == 409


def test_the_snapshot_survives_a_correction_and_an_altered_row_is_reported(client, auth, submit_form, services):
    form = submit_form()
    transfer_id = send(client, auth, form["id"])
    before = client.get(f"/api/v1/external-transfers/{transfer_id}/package.json", headers=auth("handler")).json
    r = client.post(f"/api/v1/forms/{form['id']}/corrections", headers=auth("clerk"),
                    json={"field": "content", "new_value": "申请个人住房贷款 60 万元", "reason": "客户更正金额",
                          "password": "guichet-demo"})
    assert r.status_code == 201, r.json
    after = client.get(f"/api/v1/external-transfers/{transfer_id}/package.json", headers=auth("handler")).json
    assert after == before and "50 万元" in str(after["content"]["fields"])
    with unit_of_work(services.sessions) as session:
        assert processes.record_checks(session, services.config) == []
        assert audit_service.verify(session).ok
        snap = session.scalars(select(ExternalSnapshot)).one()
        assert hashlib.sha256(snap.sealed).hexdigest() == snap.sealed_sha256
        session.execute(update(ExternalSnapshot).values(sealed=snap.sealed[:-1] + bytes([snap.sealed[-1] ^ 1])))
    with unit_of_work(services.sessions) as session:
        (problem,) = processes.record_checks(session, services.config)
        assert f"#{transfer_id}" in problem and "被修改" in problem


def test_package_pdf_holds_the_chinese_text_and_the_hash(client, auth, submit_form):
    form = submit_form()
    transfer_id = send(client, auth, form["id"])
    sha = read(client, auth, transfer_id)["snapshot_sha256"]
    r = client.get(f"/api/v1/external-transfers/{transfer_id}/package.pdf", headers=auth("handler"))
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    for words in ("对外移交清单", "某某人民法院", "协助调查", "申请个人住房贷款", sha, f"/verify/{sha}"):
        assert words in text.replace("\n", ""), words
    assert client.get(f"/api/v1/external-transfers/{transfer_id}/package.pdf", headers=auth("clerk")).status_code == 403
    downloads = client.get("/api/v1/audit", headers=auth("manager"),
                           query_string={"action": "external_transfer.package_download"}).json
    assert len(downloads) == 1 and downloads[0]["details"]["format"] == "pdf"


def test_the_snapshot_goes_with_the_forms_data_key(app, client, auth, kyc_template, services):
    """What was sent is a copy of the form: its key is wrapped under the form's data key, so destroying the form
    (crypto-shredding its key) leaves the snapshot unreadable everywhere; the record and its hashes stay."""
    from processes import record_checks
    from processes.external.models import ExternalTransfer
    from processes.forms import personal
    from processes.forms.models import Form

    form = client.post("/api/v1/forms", headers=auth("clerk"),
                       json={"template_id": kyc_template, "data": KYC_FORM, "submit": True}).json
    transfer_id = start(client, auth, form["id"], full_fields=["customer_id"], full_reason="法院协助执行").json["id"]
    (check,) = items(client, auth, "head")
    decide(client, auth, "head", check["id"], "approve")
    (approval,) = items(client, auth, "manager")
    decide(client, auth, "manager", approval["id"], "approve")
    before = client.get(f"/api/v1/external-transfers/{transfer_id}/package.json", headers=auth("handler")).json
    assert KYC_FORM["customer_id"] in str(before["content"]["fields"])
    with unit_of_work(services.sessions) as session:
        transfer = session.get(ExternalTransfer, transfer_id)
        assert transfer.key_id == "form" and transfer.wrapped_key.startswith(personal.SEALED)
        session.execute(update(Form).where(Form.id == form["id"]).values(status="destroyed", sealed_data=None))
        assert personal.destroy_data_keys(session, personal.keyring(services.config), [form["id"]]) == 1
    after = client.get(f"/api/v1/external-transfers/{transfer_id}/package.json", headers=auth("handler"))
    assert after.status_code == 409 and after.json["code"] == "data_key_destroyed" and "销毁" in after.json["message"]
    with unit_of_work(services.sessions) as session:
        assert record_checks(session, services.config) == []  # shredded, not altered
    from tests.processes.test_destruction import logged_in

    page = logged_in(app, "handler").get(f"/external-transfers/{transfer_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "备份快照随之销毁" in text and KYC_FORM["customer_name"] not in text
