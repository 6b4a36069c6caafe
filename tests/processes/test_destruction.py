"""Retention, holds and destruction (R4.5): rules, the scan, both approval paths (straight and restored between
steps), the checks before execution, two supervisors, crypto-shredding that reaches an earlier backup, tombstones,
and the register."""
from __future__ import annotations

import io
import random
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

import processes
from engine import WorkItem
from engine.db import unit_of_work
from engine.runtime import Runtime
from processes.archive import backups
from processes.archive import service as archive
from processes.archive.models import Filing
from processes.audit import service as audit
from processes.demo_history import _handle, _open_item, seed_history
from processes.destruction import retention
from processes.destruction import service as destruction
from processes.destruction.models import DestructionItem
from processes.forms import keystore, personal
from processes.forms.models import Attachment, Correction, Form
from processes.org import service as org
from tests.conftest import KYC_FORM, START

FUTURE = datetime(2036, 6, 1, 2, 0, tzinfo=timezone.utc)  # D10 forms closed in 2025 or before are past retention
PROCESS = {"process": "destruction_approval"}


@pytest.fixture(params=["straight", "restore"])
def cold(request, services):
    """cold() before a step: in 'restore' mode the next step starts from a fresh runtime (state loaded from the DB)."""

    def _cold():
        if request.param == "restore":
            fresh = Runtime()
            processes.register_all(fresh, services.config)
            services.runtime = fresh

    return _cold


def filed_history(services, count=16) -> dict[int, Filing]:
    """Closed forms of 2024-2026, all filed; {form_id: filing}."""
    with unit_of_work(services.sessions) as session:
        seed_history(session, services.runtime, services.config, count=count)
        archivist = org.get_by_username(session, "archivist")
        ids = [f.id for f in archive.queue(session, limit=1000)]
        archive.file_forms(session, services.config, actor=archivist, form_ids=ids, now=START)
    with services.sessions() as session:
        return {f.form_id: f for f in session.scalars(select(Filing))}


def past_retention(filings: dict[int, Filing], on: datetime) -> set[int]:
    """Computed by hand: D-codes whose last year (closing year + years) ended before `on`'s year."""
    return {i for i, f in filings.items() if f.retention != "Y" and f.year + int(f.retention[1:]) < on.year}


def decide(client, auth, user, decision="approve", comment="同意销毁"):
    (item,) = client.get("/api/v1/tasks", headers=auth(user), query_string=PROCESS).json
    return item, client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth(user),
                             json={"data": {"decision": decision, "comment": comment}})


def logged_in(app, username):
    """A browser-like client logged in as `username`."""
    from tests.webui.test_pages import DEMO_PASSWORD, csrf

    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    assert browser.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                        "csrf_token": csrf(page)}).status_code == 302
    return browser


SUPERVISORS = [{"username": "inspector", "password": "guichet-demo"}, {"username": "manager2", "password": "guichet-demo"}]


# --- rules ---------------------------------------------------------------------------------------------
def test_rules_are_seeded_from_settings_and_refuse_under_five_years(client, auth, services):
    rules = client.get("/api/v1/retention-rules", headers=auth("manager")).json
    assert {"business_type": "个人贷款申请", "retention": "D30"}.items() <= rules[0].items() or \
        any(r["business_type"] == "个人贷款申请" and r["retention"] == "D30" for r in rules)
    url = "/api/v1/retention-rules/挂失补办"
    r = client.put(url, headers=auth("manager"), json={"retention": "D3"})
    assert r.status_code == 422 and "不得少于 5 年" in r.json["fields"]["retention"]
    r = client.put(url, headers=auth("manager"), json={"retention": "D10", "minimum_years": 15})
    assert r.status_code == 422 and "法律依据" in r.json["fields"]["legal_basis"]
    r = client.put(url, headers=auth("manager"), json={"retention": "D10", "minimum_years": 15, "legal_basis": "某规定"})
    assert r.status_code == 422 and "15 年" in r.json["fields"]["retention"]
    assert client.put(url, headers=auth("archivist"), json={"retention": "D10"}).status_code == 403
    r = client.put(url, headers=auth("manager"), json={"retention": "D5"})
    assert r.status_code == 200 and r.json["retention"] == "D5"
    with services.sessions() as session:
        assert retention.retention_for(session, services.config, "挂失补办") == "D5"  # filing now uses the rule
        (event,) = audit.list_events(session, audit.AuditFilter(action="retention.rule"))
        assert event.details["retention"] == "D5"
    assert client.get("/api/v1/retention-rules", headers=auth("hr")).status_code == 403


def test_retention_counts_from_the_first_of_january_after_closing():
    assert retention.ends_on("D10", 2015) == datetime(2025, 12, 31).date()
    assert retention.ends_on("Y", 2015) is None and retention.label("D30") == "30年"


# --- holds and the scan --------------------------------------------------------------------------------
def test_scan_proposes_exactly_the_forms_past_retention_and_no_held_one(client, auth, services, clock):
    filings = filed_history(services)
    due = past_retention(filings, FUTURE)
    assert due and len(due) < len(filings)
    held = sorted(due)[0]
    r = client.post("/api/v1/holds", headers=auth("inspector"), json={"form_id": held, "reason": "诉讼未结"})
    assert r.status_code == 201, r.json
    assert client.post("/api/v1/holds", headers=auth("archivist"), json={"form_id": held, "reason": "x"}).status_code == 403
    assert client.post("/api/v1/holds", headers=auth("inspector"), json={"reason": "诉讼"}).status_code == 422
    clock.advance(seconds=(FUTURE - START).total_seconds())
    listed = {f["form_id"] for f in client.get("/api/v1/retention/due", headers=auth("archivist")).json}
    assert listed == due - {held}
    with unit_of_work(services.sessions) as session:
        batch = destruction.scan(session, services.runtime, services.config, now=FUTURE)
        assert set(destruction.item_form_ids(session, batch.id)) == due - {held} and batch.status == "proposed"
    # released: the next scan proposes it (the first proposal still holds the others)
    hold_id = r.json["id"]
    assert client.post(f"/api/v1/holds/{hold_id}/release", headers=auth("inspector"), json={}).status_code == 422
    assert client.post(f"/api/v1/holds/{hold_id}/release", headers=auth("inspector"),
                       json={"reason": "判决已生效"}).json["released_by"] == "inspector"
    with unit_of_work(services.sessions) as session:
        again = destruction.scan(session, services.runtime, services.config, now=FUTURE)
        assert destruction.item_form_ids(session, again.id) == [held]
        first_id = batch.id
    assert [h["id"] for h in client.get("/api/v1/holds", headers=auth("manager")).json] == [hold_id]
    assert {b["status"] for b in client.get("/api/v1/destructions", headers=auth("archivist")).json} == {"proposed"}
    # the archivist submits the first proposal, leaving one form out
    url = f"/api/v1/destructions/{first_id}/submit"
    assert client.post(url, headers=auth("manager"), json={}).status_code == 403
    left_out = sorted(due - {held})[0]
    r = client.post(url, headers=auth("archivist"), json={"exclude": [left_out]})
    assert r.status_code == 201, r.json
    assert set(r.json["form_ids"]) == due - {held, left_out} and r.json["status"] == "in_approval"
    assert client.post(url, headers=auth("archivist"), json={}).status_code == 409
    assert client.get(f"/api/v1/destructions/{first_id}", headers=auth("inspector")).json["status"] == "superseded"
    assert client.get("/api/v1/destructions/9999", headers=auth("inspector")).status_code == 404
    assert client.get("/api/v1/destructions", headers=auth("hr")).status_code == 403


def test_a_held_volume_holds_its_forms(app, client, auth, services, clock):
    filings = filed_history(services)
    with unit_of_work(services.sessions) as session:
        from processes.archive import volumes
        archivist = org.get_by_username(session, "archivist")
        due = sorted(past_retention(filings, FUTURE))
        kind = filings[due[0]].business_type
        same = [i for i in due if filings[i].business_type == kind and filings[i].year == filings[due[0]].year]
        volume = volumes.create_volume(session, actor=archivist, title="卷", business_type=kind,
                                       year=filings[due[0]].year, now=START)
        volumes.add_items(session, actor=archivist, volume=volume, form_ids=same, now=START)
        volume_id = volume.id
    assert client.post("/api/v1/holds", headers=auth("manager"), json={"volume_id": volume_id, "reason": "审计"}).status_code == 201
    clock.advance(seconds=(FUTURE - START).total_seconds())
    listed = {f["form_id"] for f in client.get("/api/v1/retention/due", headers=auth("archivist")).json}
    assert listed == set(due) - set(same)
    r = client.post("/api/v1/destructions", headers=auth("archivist"),
                    json={"kind": "retention", "form_ids": same, "reason": "保管期满"})
    assert r.status_code == 422 and "暂缓销毁" in r.json["message"]
    # the pages: who may read them
    assert logged_in(app, "archivist").get("/destruction").status_code == 200
    assert logged_in(app, "hr").get("/destruction").status_code == 403


# --- the retention path ------------------------------------------------------------------------------
def test_retention_path_appraisal_approval_execution_and_register(app, client, auth, services, clock, cold):
    filings = filed_history(services)
    due = sorted(past_retention(filings, FUTURE))
    young = next(i for i in filings if i not in due)
    clock.advance(seconds=(FUTURE - START).total_seconds())
    r = client.post("/api/v1/destructions", headers=auth("archivist"),
                    json={"kind": "retention", "form_ids": due + [young], "reason": "保管期满"})
    assert r.status_code == 422 and filings[young].archival_code in r.json["message"]
    assert client.post("/api/v1/destructions", headers=auth("clerk"),
                       json={"kind": "retention", "form_ids": due, "reason": "保管期满"}).status_code == 403
    r = client.post("/api/v1/destructions", headers=auth("archivist"),
                    json={"kind": "retention", "form_ids": due, "reason": "保管期满"})
    assert r.status_code == 201, r.json
    batch = r.json
    assert batch["status"] == "in_approval" and batch["form_ids"] == due
    cold()
    item, done = decide(client, auth, "archive_head", comment="已鉴定, 无继续保存价值")
    assert item["name"] == "档案室负责人鉴定" and done.status_code == 200, done.json
    cold()
    (item,) = client.get("/api/v1/tasks", headers=auth("manager"), query_string=PROCESS).json
    assert item["name"] == "业务部门鉴定"  # the forms are 营业部's; its head is manager
    assert client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("manager"),
                       json={"data": {"decision": "approve"}}).status_code == 422  # an appraisal needs its opinion
    item, done = decide(client, auth, "manager", comment="业务部门同意")
    assert done.status_code == 200
    cold()
    (item,) = client.get("/api/v1/tasks", headers=auth("manager"), query_string=PROCESS).json
    assert item["name"] == "公司管理层批准"
    assert client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("archivist"),
                       json={"data": {"decision": "approve"}}).status_code == 403
    _item, done = decide(client, auth, "manager")
    assert done.status_code == 200
    url = f"/api/v1/destructions/{batch['id']}"
    assert client.get(url, headers=auth("manager")).json["status"] == "approved"
    cold()
    # the supervisors: one, the same twice, an approver, a wrong password
    execute = f"{url}/execute"
    r = client.post(execute, headers=auth("archivist"), json={"supervisors": SUPERVISORS[:1]})
    assert r.status_code == 422 and "两名监销人" in r.json["fields"]["supervisors"]
    r = client.post(execute, headers=auth("archivist"), json={"supervisors": [SUPERVISORS[0], SUPERVISORS[0]]})
    assert r.status_code == 422 and "同一人" in r.json["fields"]["supervisors"]
    r = client.post(execute, headers=auth("archivist"),
                    json={"supervisors": [SUPERVISORS[0], {"username": "manager", "password": "guichet-demo"}]})
    assert r.status_code == 422 and "参与了" in r.json["fields"]["supervisors"]
    r = client.post(execute, headers=auth("archivist"),
                    json={"supervisors": [SUPERVISORS[0], {"username": "manager2", "password": "wrong"}]})
    assert r.status_code == 403 and "密码不正确" in r.json["message"]
    assert client.post(execute, headers=auth("manager2"), json={"supervisors": SUPERVISORS}).status_code == 403
    with services.sessions() as session:
        assert session.scalar(select(Form.status).where(Form.id == due[0])) == "closed"  # nothing half-done
    r = client.post(execute, headers=auth("archivist"), json={"supervisors": SUPERVISORS})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "executed" and r.json["supervisors"] == ["inspector", "manager2"]
    assert r.json["key_backups_expire_at"]
    gone = client.get(f"/api/v1/forms/{due[0]}", headers=auth("manager"))
    assert gone.status_code == 410 and gone.json["tombstone"]["archival_code"] == filings[due[0]].archival_code
    assert gone.json["tombstone"]["destruction_id"] == batch["id"] and "data" not in gone.json["tombstone"]
    assert client.get(f"/api/v1/forms/{young}", headers=auth("manager")).status_code == 200
    # the register lists every 档号
    pdf = client.get(f"{url}/register.pdf", headers=auth("inspector"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert all(filings[i].archival_code in text for i in due) and "销毁清册" in text
    assert client.get(f"{url}/register.pdf", headers=auth("hr")).status_code == 403
    with services.sessions() as session:
        actions = [e.action for e in audit.list_events(session, audit.AuditFilter(object_type="destruction"))]
        assert {"destruction.propose", "destruction.appraise_archive", "destruction.appraise_department",
                "destruction.approve", "destruction.execute"} <= set(actions)
        assert audit.verify(session).ok
    # executed once
    assert client.post(execute, headers=auth("archivist"), json={"supervisors": SUPERVISORS}).status_code == 409
    # the pages: a destroyed form shows its tombstone; a kept one its retention and when it ends
    browser = logged_in(app, "manager")
    page = browser.get(f"/forms/{due[0]}")
    assert page.status_code == 410 and filings[due[0]].archival_code in page.get_data(as_text=True)
    kept = browser.get(f"/forms/{young}").get_data(as_text=True)
    end = retention.ends_on(filings[young].retention, filings[young].year)
    assert "保管期限" in kept and f"至 {end.isoformat()}" in kept


def test_a_returned_batch_destroys_nothing(client, auth, services, clock):
    filings = filed_history(services)
    due = sorted(past_retention(filings, FUTURE))
    clock.advance(seconds=(FUTURE - START).total_seconds())
    batch = client.post("/api/v1/destructions", headers=auth("archivist"),
                        json={"kind": "retention", "form_ids": due, "reason": "保管期满"}).json
    _item, done = decide(client, auth, "archive_head", "return", "仍有查考价值")
    assert done.status_code == 200
    assert client.get(f"/api/v1/destructions/{batch['id']}", headers=auth("manager")).json["status"] == "returned"
    r = client.post(f"/api/v1/destructions/{batch['id']}/execute", headers=auth("archivist"),
                    json={"supervisors": SUPERVISORS})
    assert r.status_code == 409
    assert {f["form_id"] for f in client.get("/api/v1/retention/due", headers=auth("archivist")).json} == set(due)


def test_the_check_before_execution_catches_a_form_added_after_approval(client, auth, services, clock):
    filings = filed_history(services)
    due = sorted(past_retention(filings, FUTURE))
    clock.advance(seconds=(FUTURE - START).total_seconds())
    batch = client.post("/api/v1/destructions", headers=auth("archivist"),
                        json={"kind": "retention", "form_ids": due[:-1], "reason": "保管期满"}).json
    for user in ("archive_head", "manager", "manager"):
        assert decide(client, auth, user, comment="同意")[1].status_code == 200
    with unit_of_work(services.sessions) as session:  # a row slipped into the list after management approved it
        f = filings[due[-1]]
        session.execute(insert(DestructionItem).values(
            destruction_id=batch["id"], form_id=f.form_id, archival_code=f.archival_code, title=f.title,
            business_type=f.business_type, department_id=f.department_id, year=f.year, retention=f.retention))
        # and one form is under a live query grant (R4.4) until tomorrow
        from processes.queries.models import AccessGrant, GrantedForm, QueryRequest
        request = QueryRequest(number="CX-1", kind="internal", status="approved", applicant="inspector",
                               form_ids=[due[0]], fields=[], purpose="审计", created_at=FUTURE)
        session.add(request)
        session.flush()
        grant = AccessGrant(request_id=request.id, grantee="inspector", form_ids=[due[0]], fields=[],
                            starts_at=FUTURE, expires_at=FUTURE + timedelta(days=1))
        session.add(grant)
        session.flush()
        session.add(GrantedForm(grant_id=grant.id, form_id=due[0], grantee="inspector", expires_at=grant.expires_at))
    r = client.post(f"/api/v1/destructions/{batch['id']}/execute", headers=auth("archivist"),
                    json={"supervisors": SUPERVISORS})
    assert r.status_code == 409 and r.json["code"] == "destruction_check_failed"
    differences = r.json["fields"]["differences"]
    assert any(f.archival_code in d and "批准后加入" in d for d in differences)
    assert any(filings[due[0]].archival_code in d and "查询授权" in d for d in differences)
    with services.sessions() as session:
        assert session.scalar(select(Form.status).where(Form.id == due[0])) == "closed"


# --- the error path, crypto-shredding and backups ------------------------------------------------------
def close(services, form_id: int, at: datetime) -> None:
    """Carry a submitted form through its hops to 办结."""
    rng = random.Random(1)
    with unit_of_work(services.sessions) as session:
        form = session.get(Form, form_id)
        handler, clerk = org.get_by_username(session, "handler"), org.get_by_username(session, "clerk")
        now, hop = _handle(session, services.runtime, rng, _open_item(session, form), handler, at, decision="complete")
        _handle(session, services.runtime, rng, hop, clerk, now, decision="complete")


def test_error_path_shreds_the_key_so_an_earlier_backup_cannot_be_read(client, auth, services, kyc_template, cold):
    def post():
        r = client.post("/api/v1/forms", headers=auth("clerk"),
                        json={"template_id": kyc_template, "data": KYC_FORM, "submit": True})
        assert r.status_code == 201, r.json
        return r.json["id"]

    wrong, original = post(), post()
    r = client.post(f"/api/v1/forms/{wrong}/corrections", headers=auth("clerk"),
                    json={"field": "customer_name", "new_value": "李四", "reason": "姓名抄错", "password": "guichet-demo"})
    assert r.status_code == 201, r.json
    close(services, wrong, START)
    close(services, original, START)
    with unit_of_work(services.sessions) as session:
        evidence = Attachment(form_id=original, field_code="proof", content_type="application/pdf",
                              size=1, sealed=b"x", uploaded_by="clerk", uploaded_at=START)
        personal.seal_into(personal.keyring(services.config), session.get(Form, original), evidence,
                           "filename_sealed", "attachment-name", "原单.pdf")
        session.add(evidence)
        session.flush()
        evidence_id = evidence.id
    body = {"kind": "duplicate", "form_ids": [wrong], "reason": "重复录入", "evidence": [evidence_id]}
    assert client.post("/api/v1/destructions", headers=auth("handler"), json=body).status_code == 403  # not 营业部
    r = client.post("/api/v1/destructions", headers=auth("clerk"), json={**body, "evidence": []})
    assert r.status_code == 422 and "evidence" in r.json["fields"]
    r = client.post("/api/v1/destructions", headers=auth("clerk"), json=body)
    assert r.status_code == 201, r.json
    batch = r.json
    cold()
    item, done = decide(client, auth, "manager", comment="确属重复")
    assert item["name"] == "部门负责人审核" and done.status_code == 200
    cold()
    item, done = decide(client, auth, "manager2")
    assert item["name"] == "公司管理层批准" and done.status_code == 200
    # a backup of the database (and a key backup) before destruction
    config = services.config
    manifest = backups.take_backup(config, now=START)
    key_copy = keystore.backup_keys(config, now=START)
    with backups._scratch_database(config) as url:
        backups.restore(backups.backup_dir(config) / manifest["file"], url)
        assert read_id_from(url, config, wrong) == "11010519491231002X"  # beside the current key store: readable
        assert read_content_from(url, config, wrong) == (KYC_FORM["content"], "李四", "姓名抄错")
        r = client.post(f"/api/v1/destructions/{batch['id']}/execute", headers=auth("archivist"),
                        json={"supervisors": [{"username": "inspector", "password": "guichet-demo"},
                                              {"username": "archive_head", "password": "guichet-demo"}]})
        assert r.status_code == 200, r.json
        with pytest.raises(personal.KeyDestroyed):
            read_id_from(url, config, wrong)  # the same backup, now that the key is gone
        with pytest.raises(personal.KeyDestroyed):  # and every other value, correction and reason with it
            read_content_from(url, config, wrong)
        assert read_content_from(url, config, original)[0] == KYC_FORM["content"]
        assert read_id_from(url, config, original) == "11010519491231002X"
    expire = datetime.fromisoformat(r.json["key_backups_expire_at"])
    assert expire == START + timedelta(days=keystore.keep_days(config))
    assert key_copy.exists()
    later = expire + timedelta(days=30)  # a backup past its keeping and not yet pruned expires no earlier than now
    assert keystore.last_backup_expiry(config, now=later) == later
    keystore.prune_key_backups(config, now=expire + timedelta(seconds=1))
    assert not key_copy.exists()  # the last copy holding the key is gone: nothing anywhere can read the form
    with services.sessions() as session:
        row = session.get(Form, wrong)
        assert row.status == "destroyed" and row.data == {} and row.sealed_data is None and row.search is None and row.wrapped_key is None
    assert client.get(f"/api/v1/forms/{wrong}", headers=auth("clerk")).status_code == 410


@contextmanager
def restored(url: str, config: dict):
    """A session on a restored database, opening sealed values with the current key store."""
    engine = create_engine(url)
    try:
        with Session(engine, info={"config": config}) as session:
            yield session
    finally:
        engine.dispose()


def read_id_from(url: str, config: dict, form_id: int) -> str | None:
    """The form's ID number read from a restored database with the current key store."""
    with restored(url, config) as session:
        form = session.get(Form, form_id)
        assert form.wrapped_key is None  # no key in the backup
        return personal.load(session, personal.keyring(config), form, "customer_id")


def read_content_from(url: str, config: dict, form_id: int) -> tuple:
    """(a value, the last correction's value and reason) of a form in a restored database, with the current key store;
    none of them is stored in clear there."""
    with restored(url, config) as session:
        form = session.get(Form, form_id)
        assert form.data == {} and form.sealed_data.startswith(personal.SEALED)
        corrections = session.scalars(select(Correction).where(Correction.form_id == form_id)).all()
        assert all(c.reason_sealed.startswith(personal.SEALED) for c in corrections)
        last = corrections[-1] if corrections else None
        return form.values["content"], last and last.new_value, last and last.reason


def test_the_demo_has_old_forms_past_retention_one_held_and_a_proposal(services):
    from processes.demo import seed_stages
    from processes.destruction.models import Destruction, Hold

    config = {**services.config, "app": {**services.config["app"], "demo_history_forms": 10}}
    with unit_of_work(services.sessions) as session:
        seed_stages(session, services.runtime, config)
    with services.sessions() as session:
        old = {f.form_id: f for f in session.scalars(select(Filing).where(Filing.year < 2020))}
        (hold,) = session.scalars(select(Hold)).all()
        (proposal,) = session.scalars(select(Destruction)).all()
        listed = set(destruction.item_form_ids(session, proposal.id))
        assert proposal.status == "proposed" and hold.form_id in old and hold.form_id not in listed
        assert listed == {i for i, f in old.items() if f.retention == "D10"} - {hold.form_id} and listed
        assert all(f.volume_id for f in old.values())
        assert len({f.department_id for f in old.values()}) == 2  # two departments appraise the proposal
    assert list(keystore.backup_folder(config).glob("keys-*.sqlite"))


# --- paper volumes and the scan's index ----------------------------------------------------------------
def _volume_of_due(services, filings) -> tuple[int, list[int]]:
    """A volume holding the past-retention forms of one business type and year; (volume id, its forms)."""
    from processes.archive import volumes

    due = sorted(past_retention(filings, FUTURE))
    kind, year = filings[due[0]].business_type, filings[due[0]].year
    same = [i for i in due if filings[i].business_type == kind and filings[i].year == year]
    with unit_of_work(services.sessions) as session:
        archivist = org.get_by_username(session, "archivist")
        volume = volumes.create_volume(session, actor=archivist, title="2016年 资料卷", business_type=kind, year=year,
                                       now=START)
        volumes.add_items(session, actor=archivist, volume=volume, form_ids=same, now=START)
        return volume.id, same


def test_paper_volumes_need_a_method_and_place_each_shown_on_the_batch_and_the_register(app, client, auth, services,
                                                                                          clock):
    filings = filed_history(services)
    volume_id, in_volume = _volume_of_due(services, filings)
    clock.advance(seconds=(FUTURE - START).total_seconds())
    batch = client.post("/api/v1/destructions", headers=auth("archivist"),
                        json={"kind": "retention", "form_ids": in_volume, "reason": "保管期满"}).json
    for user in ("archive_head", "manager", "manager"):
        assert decide(client, auth, user, comment="同意")[1].status_code == 200
    execute = f"/api/v1/destructions/{batch['id']}/execute"
    place = "本公司档案室碎纸间"
    for paper, words in [(None, "未填写销毁方式"), ([], "未填写销毁方式"), ("碎纸", "须为列表"),
                         ([{"volume_id": volume_id, "method": "丢弃", "place": place}], "碎纸、焚烧 或 委托销毁"),
                         ([{"volume_id": volume_id, "method": "碎纸", "place": " "}], "销毁地点"),
                         ([{"volume_id": volume_id, "method": "碎纸", "place": 5}], "销毁地点"),
                         ([{"volume_id": volume_id + 99, "method": "碎纸", "place": place}], "不在本批次"),
                         ([{"volume_id": True, "method": "碎纸", "place": place}], "不在本批次"),
                         ([{"volume_id": volume_id, "method": "碎纸", "place": place}] * 2, "重复")]:
        body = {"supervisors": SUPERVISORS} | ({} if paper is None else {"paper": paper})
        r = client.post(execute, headers=auth("archivist"), json=body)
        assert r.status_code == 422 and words in r.json["fields"]["paper"], (paper, r.json)
    with services.sessions() as session:
        assert session.scalar(select(Form.status).where(Form.id == in_volume[0])) == "closed"  # nothing half-done
    r = client.post(execute, headers=auth("archivist"), json={
        "supervisors": SUPERVISORS, "paper": [{"volume_id": volume_id, "method": "焚烧", "place": place}]})
    assert r.status_code == 200, r.json
    shown = client.get(f"/api/v1/destructions/{batch['id']}", headers=auth("inspector")).json["paper"]
    assert shown == [{"volume_id": volume_id, "title": "2016年 资料卷", "method": "焚烧", "place": place}]
    page = logged_in(app, "archivist").get(f"/destruction/{batch['id']}").get_data(as_text=True)
    assert "纸质案卷销毁" in page and "焚烧" in page and place in page
    pdf = client.get(f"/api/v1/destructions/{batch['id']}/register.pdf", headers=auth("inspector"))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "资料卷" in text and place in text and text.count("焚烧") == 1 + len(in_volume)  # the volume, each row


def test_the_execute_page_asks_each_paper_volume_for_its_method_and_place(app, client, auth, services, clock):
    filings = filed_history(services)
    volume_id, in_volume = _volume_of_due(services, filings)
    clock.advance(seconds=(FUTURE - START).total_seconds())
    batch = client.post("/api/v1/destructions", headers=auth("archivist"),
                        json={"kind": "retention", "form_ids": in_volume, "reason": "保管期满"}).json
    for user in ("archive_head", "manager", "manager"):
        assert decide(client, auth, user, comment="同意")[1].status_code == 200
    from tests.webui.test_pages import csrf

    browser = logged_in(app, "archivist")
    page = browser.get(f"/destruction/{batch['id']}").get_data(as_text=True)
    assert f'name="method-{volume_id}"' in page and f'name="place-{volume_id}"' in page
    form = {"csrf_token": csrf(page), "supervisor1": "inspector", "password1": "guichet-demo",
            "supervisor2": "manager2", "password2": "guichet-demo", "volume_id": str(volume_id)}
    refused = browser.post(f"/destruction/{batch['id']}/execute", data=form | {f"method-{volume_id}": "碎纸"})
    assert refused.status_code == 422 and "销毁地点" in refused.get_data(as_text=True)
    done = browser.post(f"/destruction/{batch['id']}/execute",
                        data=form | {f"method-{volume_id}": "委托销毁", f"place-{volume_id}": "某某销毁公司 (合同 2036-08)"})
    assert done.status_code == 302
    with services.sessions() as session:
        from processes.destruction.models import Destruction

        assert session.get(Destruction, batch["id"]).paper[0]["method"] == "委托销毁"


def test_filing_records_when_retention_ends_and_the_scan_reads_it_off_its_index(services):
    filings = filed_history(services)
    assert all(f.retention_ends_on == retention.ends_on(f.retention, f.year) for f in filings.values())
    with services.sessions() as session:
        query = retention.due_query(session, FUTURE.date()).limit(10)
        plan = " ".join(str(row) for row in session.execute(
            __import__("sqlalchemy").text("EXPLAIN QUERY PLAN " + str(query.compile(
                session.bind, compile_kwargs={"literal_binds": True}))))) \
            if session.bind.dialect.name == "sqlite" else "ix_archive_filing_retention_ends_on"
        assert "ix_archive_filing_retention_ends_on" in plan
        due = list(session.scalars(retention.due_query(session, FUTURE.date())))
        assert [f.retention_ends_on for f in due] == sorted(f.retention_ends_on for f in due)  # the oldest first


# --- per-department appraisal, in parallel, with escalation ---------------------------------------------
def _two_departments(services, filings) -> list[int]:
    """The forms past retention, two of them moved to 信贷部 (head: `head`); the rest stay 营业部's (head: manager)."""
    due = sorted(past_retention(filings, FUTURE))
    with unit_of_work(services.sessions) as session:
        credit = org.get_by_username(session, "head").department_id
        for form_id in due[:2]:
            session.get(Form, form_id).department_id = credit
            session.scalars(select(Filing).where(Filing.form_id == form_id)).one().department_id = credit
    return due


def open_tasks(client, auth, user):
    return client.get("/api/v1/tasks", headers=auth(user), query_string=PROCESS).json


def test_each_department_appraises_in_parallel_with_the_archive_head_then_management(client, auth, services, clock,
                                                                                     cold):
    due = _two_departments(services, filed_history(services))
    clock.advance(seconds=(FUTURE - START).total_seconds())
    batch = client.post("/api/v1/destructions", headers=auth("archivist"),
                        json={"kind": "retention", "form_ids": due, "reason": "保管期满"}).json
    (archive,) = open_tasks(client, auth, "archive_head")
    (counter,) = open_tasks(client, auth, "manager")
    (credit,) = open_tasks(client, auth, "head")
    assert archive["name"] == "档案室负责人鉴定"
    assert (counter["name"], counter["queue"]) == ("业务部门鉴定", "营业部")
    assert (credit["name"], credit["queue"]) == ("业务部门鉴定", "信贷部")
    assert counter["due_at"] and credit["due_at"]  # each its own SLA
    detail = client.get(f"/api/v1/tasks/{credit['id']}", headers=auth("head")).json  # a step inside the subprocess
    assert detail["decisions"] == ["approve", "return"], detail
    body = {"data": {"decision": "approve", "comment": "同意"}}
    r = client.post(f"/api/v1/tasks/{counter['id']}/complete", headers=auth("head"), json=body)
    assert r.status_code == 403  # another department's appraisal
    cold()
    assert decide(client, auth, "head", comment="信贷部同意")[1].status_code == 200
    cold()
    assert decide(client, auth, "archive_head", comment="无保存价值")[1].status_code == 200
    assert client.get(f"/api/v1/destructions/{batch['id']}", headers=auth("manager")).json["status"] == "in_approval"
    (still,) = open_tasks(client, auth, "manager")
    assert still["id"] == counter["id"]  # management waits for every appraisal
    cold()
    assert decide(client, auth, "manager", comment="营业部同意")[1].status_code == 200
    cold()
    item, done = decide(client, auth, "manager", comment="批准")
    assert item["name"] == "公司管理层批准" and done.status_code == 200
    shown = client.get(f"/api/v1/destructions/{batch['id']}", headers=auth("manager")).json
    assert shown["status"] == "approved"
    assert sorted((s["step"], s["decided_by"]) for s in shown["steps"]) == sorted([
        ("appraise_department", "head"), ("appraise_archive", "archive_head"), ("appraise_department", "manager"),
        ("approve", "manager")])


def test_one_department_returning_closes_the_other_appraisals(client, auth, services, clock, cold):
    due = _two_departments(services, filed_history(services))
    clock.advance(seconds=(FUTURE - START).total_seconds())
    batch = client.post("/api/v1/destructions", headers=auth("archivist"),
                        json={"kind": "retention", "form_ids": due, "reason": "保管期满"}).json
    cold()
    assert decide(client, auth, "head", "return", "仍有未结贷款")[1].status_code == 200
    assert client.get(f"/api/v1/destructions/{batch['id']}", headers=auth("manager")).json["status"] == "returned"
    assert open_tasks(client, auth, "archive_head") == [] and open_tasks(client, auth, "manager") == []
    with services.sessions() as session:
        from engine import ProcessInstance
        from processes.destruction.models import Destruction

        instance = session.get(ProcessInstance, session.get(Destruction, batch["id"]).process_instance_id)
        assert instance.status == "completed"
    assert {f["form_id"] for f in client.get("/api/v1/retention/due", headers=auth("archivist")).json} == set(due)


def test_a_late_appraisal_escalates_to_the_superior_who_urges_or_takes_it_over(client, auth, services, clock):
    from engine.scheduler import TimerScheduler
    from processes.inbox import escalations as escalation

    due = _two_departments(services, filed_history(services))
    clock.advance(seconds=(FUTURE - START).total_seconds())
    r = client.post("/api/v1/destructions", headers=auth("archivist"),
                    json={"kind": "retention", "form_ids": due, "reason": "保管期满"})
    assert r.status_code == 201
    (late,) = open_tasks(client, auth, "head")
    clock.advance(days=5, seconds=1)  # [destruction] approval_sla
    TimerScheduler(services.runtime, services.sessions, clock=clock).tick()
    with services.sessions() as session:
        parents = dict(session.execute(select(WorkItem.id, WorkItem.parent_id)
                                       .where(WorkItem.kind == "escalation")).all())
    escalations = [t for t in client.get("/api/v1/tasks", headers=auth("manager")).json if t["kind"] == "escalation"]
    mine = [t for t in escalations if parents[t["id"]] == late["id"]]
    assert len(mine) == 1 and mine[0]["escalation_level"] == 1  # 信贷部's head's superior: manager
    with unit_of_work(services.sessions) as session:
        manager, head = org.get_by_username(session, "manager"), org.get_by_username(session, "head")
        with pytest.raises(Exception) as refused:
            escalation.urge(session, services.runtime, item_id=mine[0]["id"], actor=head, now=FUTURE)
        assert refused.value.status == 403
        step = escalation.urge(session, services.runtime, item_id=mine[0]["id"], actor=manager, now=FUTURE)
        assert step.id == late["id"] and step.assignee == "head"
        step = escalation.take_over(session, services.runtime, item_id=mine[0]["id"], actor=manager, now=FUTURE)
        assert step.assignee == "manager"
    r = client.post(f"/api/v1/tasks/{late['id']}/complete", headers=auth("head"),
                    json={"data": {"decision": "approve", "comment": "同意"}})
    assert r.status_code == 403  # no longer theirs
    r = client.post(f"/api/v1/tasks/{late['id']}/complete", headers=auth("manager"),
                    json={"data": {"decision": "approve", "comment": "接办后同意"}})
    assert r.status_code == 200, r.json
    with services.sessions() as session:
        actions = [e.action for e in audit.list_events(session, audit.AuditFilter(object_type="destruction"))]
        assert {"destruction.urge", "destruction.take_over"} <= set(actions)
    assert mine[0]["id"] not in {t["id"] for t in client.get("/api/v1/tasks", headers=auth("manager")).json}
    with services.sessions() as session:  # the escalation closed with its step
        assert session.get(WorkItem, mine[0]["id"]).status != "open"


# --- bad input through the API: a 4xx saying what is wrong, nothing written ------------------------------
def test_malformed_requests_are_refused_in_words_and_write_nothing(client, auth, services, clock):
    filings = filed_history(services)
    due = sorted(past_retention(filings, FUTURE))
    clock.advance(seconds=(FUTURE - START).total_seconds())
    post = lambda body, user="archivist": client.post("/api/v1/destructions", headers=auth(user), json=body)  # noqa: E731
    ok = {"kind": "retention", "form_ids": due[:1], "reason": "保管期满"}
    for body, field, words in [
            ({**ok, "kind": "burn"}, "kind", "销毁类型须为"),
            ({**ok, "form_ids": []}, "form_ids", "请选择"),
            ({**ok, "form_ids": "1,2"}, "form_ids", "业务单编号"),
            ({**ok, "form_ids": [due[0], due[0]]}, "form_ids", "不能重复"),
            ({**ok, "form_ids": [True]}, "form_ids", "业务单编号"),
            ({**ok, "reason": ""}, "reason", "理由"),
            ({**ok, "evidence": "附件"}, "evidence", "附件编号"),
            ({**ok, "kind": "error"}, "evidence", "证明材料")]:
        r = post(body)
        assert r.status_code == 422 and words in r.json["fields"][field], (body, r.json)
    assert post({**ok, "form_ids": [987654]}).status_code == 404
    # a held form, named with its hold
    hold = client.post("/api/v1/holds", headers=auth("inspector"), json={"form_id": due[0], "reason": "审计未结"}).json
    r = post(ok)
    assert r.status_code == 422 and filings[due[0]].archival_code in r.json["message"] and "审计未结" in r.json["message"]
    # holds: both or neither target, an unknown form, a second live hold, a release twice
    for body in ({"reason": "诉讼"}, {"form_id": due[1], "volume_id": 1, "reason": "诉讼"}, {"form_id": due[1]},
                 {"form_id": "x", "reason": "诉讼"}):
        assert client.post("/api/v1/holds", headers=auth("inspector"), json=body).status_code == 422, body
    assert client.post("/api/v1/holds", headers=auth("inspector"),
                       json={"form_id": 987654, "reason": "诉讼"}).status_code == 404
    again = client.post("/api/v1/holds", headers=auth("inspector"), json={"form_id": due[0], "reason": "又一次"})
    assert again.status_code == 409 and "审计未结" in again.json["message"]
    release = f"/api/v1/holds/{hold['id']}/release"
    assert client.post(release, headers=auth("inspector"), json={"reason": "审计结束"}).status_code == 200
    assert client.post(release, headers=auth("inspector"), json={"reason": "审计结束"}).status_code == 409
    assert client.post("/api/v1/holds/987654/release", headers=auth("inspector"), json={"reason": "x"}).status_code == 404
    # rules: only management edits; a code that is no code
    assert client.put("/api/v1/retention-rules/挂失补办", headers=auth("archivist"),
                      json={"retention": "D30"}).status_code == 403
    r = client.put("/api/v1/retention-rules/挂失补办", headers=auth("manager"), json={"retention": "十年"})
    assert r.status_code == 422 and "D30" in r.json["fields"]["retention"]
    with services.sessions() as session:
        from processes.destruction.models import Destruction

        assert session.scalars(select(Destruction)).all() == []  # nothing half-written
