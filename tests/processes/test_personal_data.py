"""Personal information (R4.1.4, R6.2): encrypted at rest, masked everywhere, revealed only with a reason."""
from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from engine.db import unit_of_work
from engine.models import ProcessInstance
from processes.forms import personal
from processes.forms.models import Attachment, Correction, Form, SensitiveValue
from processes.forms.validators import mask
from tests.conftest import GOOD_FORM, KYC_FORM, PG_URL
from webui.cli import main

IDS = ["11010519491231002X", "320102198805061230", "510107197511204569"]
CARDS = ["6222020200112345679", "6217000012345678907"]
BAD = ["110105194912310021", "6222020200112345678"]  # entered too, refused by validation


def post(client, auth, template_id, data, submit=True):
    return client.post("/api/v1/forms", headers=auth("clerk"), json={"template_id": template_id, "data": data,
                                                                     "submit": submit})


def test_masks():
    assert mask("id_card", "110105194912311234") == "110105********1234"
    assert mask("bank_card", "6222020200112345679") == "6222***********5679"
    assert mask("mobile", "13812345678") == "138****5678"
    assert mask("text", "张三") == "张*"


def test_values_are_encrypted_under_a_wrapped_data_key(client, auth, kyc_template, services):
    form = post(client, auth, kyc_template, KYC_FORM).json
    with unit_of_work(services.sessions) as s:
        row = s.get(Form, form["id"])
        sealed = s.scalars(select(SensitiveValue).where(SensitiveValue.form_id == form["id"])).all()
        assert row.values["customer_id"] == "110105********002X" and row.key_id == personal.keyring(services.config).primary_id
        assert {v.field for v in sealed} == {"customer_id", "card_no", "mobile"}
        assert all(v.ciphertext.startswith("v1:") and "1101051949" not in v.ciphertext for v in sealed)
        assert personal.load(s, personal.keyring(services.config), row, "customer_id") == "11010519491231002X"
    key_file = Path(services.config["app"]["instance_path"]) / "master.key"
    assert key_file.exists() and oct(key_file.stat().st_mode)[-3:] == "600"


@pytest.mark.parametrize("user,status", [("clerk", 200), ("manager", 200), ("handler", 200), ("head", 403),
                                         ("archivist", 403), ("inspector", 403)])
def test_who_may_reveal(client, auth, kyc_template, user, status):
    form = post(client, auth, kyc_template, KYC_FORM).json
    (item,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    client.post(f"/api/v1/tasks/{item['id']}/claim", headers=auth("handler"))  # the handler holds it now; head does not
    r = client.post(f"/api/v1/forms/{form['id']}/reveal", headers=auth(user), json={"field": "card_no", "reason": "核对"})
    assert r.status_code == status, r.json
    if status == 200:
        assert r.json == {"field": "card_no", "value": "6222020200112345679", "seq": None}


def test_reveal_needs_a_reason_and_a_sensitive_field_and_is_audited(client, auth, kyc_template):
    form = post(client, auth, kyc_template, KYC_FORM).json
    url = f"/api/v1/forms/{form['id']}/reveal"
    assert client.post(url, headers=auth("clerk"), json={"field": "card_no"}).json["fields"] == {"reason": "必填项, 请填写"}
    assert client.post(url, headers=auth("clerk"), json={"field": "customer_name", "reason": "核对"}).status_code == 422
    assert client.post(url, headers=auth("clerk"), json={"field": "mobile", "reason": "回访客户"}).status_code == 200
    (event,) = client.get("/api/v1/audit", headers=auth("manager"), query_string={"action": "form.reveal"}).json
    assert event["actor"] == "clerk" and event["details"] == {"number": form["number"], "field": "mobile", "seq": None,
                                                               "reason": "回访客户"}


def test_rotation_rewraps_data_keys_only(client, auth, kyc_template, services):
    form = post(client, auth, kyc_template, KYC_FORM).json
    with unit_of_work(services.sessions) as s:
        before = {v.id: v.ciphertext for v in s.scalars(select(SensitiveValue))}
        store = personal.keyring(services.config).store
        slot = s.get(Form, form["id"]).key_slot
        old_wrapped = store.slot(slot)
        assert s.get(Form, form["id"]).wrapped_key is None  # kept in the key store, not in the database
    env = {"GUICHET_DATABASE_URL": services.config["database"]["url"],
           "GUICHET_APP_INSTANCE_PATH": services.config["app"]["instance_path"]}
    r = CliRunner().invoke(main, ["rotate-key"], env=env, catch_exceptions=False)
    assert r.exit_code == 0 and "1 data keys re-wrapped" in r.output
    personal.forget_keyrings()
    (Path(services.config["app"]["instance_path"]) / "master.key.previous").unlink()  # the old key is gone
    with unit_of_work(services.sessions) as s:
        row = s.get(Form, form["id"])
        assert store.slot(slot) != old_wrapped and row.key_id == store.slot(slot)[1]
        assert {v.id: v.ciphertext for v in s.scalars(select(SensitiveValue))} == before
        assert personal.load(s, personal.keyring(services.config), row, "customer_id") == "11010519491231002X"


def test_new_forms_take_keys_made_ahead_in_one_write(tmp_path, monkeypatch):
    ring = personal.keyring({"app": {"instance_path": str(tmp_path)}})
    reserved = []
    monkeypatch.setattr(ring.store, "reserve", lambda rows, real=ring.store.reserve: reserved.append(len(rows))
                        or real(rows))
    taken = [ring.slots.take(ring) for _ in range(personal.SLOT_BATCH + 1)]
    assert reserved == [personal.SLOT_BATCH, personal.SLOT_BATCH]  # one synced write per batch, not per form
    assert len({slot for slot, _k, _kid in taken}) == len(taken)
    for slot, key, kid in taken:  # each key is in the store already, before any form has it
        assert ring.unwrap(*ring.store.slot(slot)) == key and kid == ring.primary_id
    last = 2 * personal.SLOT_BATCH  # the last slot made
    assert ring.store.destroy([], [taken[0][0], last]) == 2 and ring.store.slot(taken[0][0]) is None
    assert ring.store.reserve([ring.wrap(b"d" * 32)]) == [last + 1]  # a destroyed slot's number is never used again
    monkeypatch.setattr(personal.os, "getpid", lambda: -5)  # a forked child hands out none of its parent's keys
    assert ring.slots.take(ring)[0] not in {slot for slot, _k, _kid in taken} and reserved[-1] == personal.SLOT_BATCH


def test_master_key_from_the_environment(tmp_path):
    key = base64.b64encode(b"k" * 32).decode()
    config = {"app": {"instance_path": str(tmp_path)}, "security": {"master_key": key}}
    ring = personal.keyring(config)
    assert ring.primary == b"k" * 32 and not (tmp_path / "master.key").exists()
    wrapped, kid = ring.wrap(b"d" * 32)
    assert ring.unwrap(wrapped, kid) == b"d" * 32


def test_no_plaintext_anywhere(client, auth, kyc_template, services, caplog):
    caplog.set_level(logging.DEBUG)
    ids = []
    for i, (id_no, card) in enumerate(zip(IDS, CARDS + CARDS)):
        form = post(client, auth, kyc_template, {**KYC_FORM, "customer_id": id_no, "card_no": card}, submit=bool(i % 2 == 0))
        assert form.status_code == 201, form.json
        ids.append(form.json["id"])
    for bad_id, bad_card in [BAD]:
        assert post(client, auth, kyc_template, {**KYC_FORM, "customer_id": bad_id}).status_code == 422
        assert post(client, auth, kyc_template, {**KYC_FORM, "card_no": bad_card}).status_code == 422
    client.post(f"/api/v1/forms/{ids[0]}/corrections", headers=auth("clerk"),
                json={"field": "customer_id", "new_value": IDS[2], "reason": "抄错", "password": "guichet-demo"})
    client.post(f"/api/v1/forms/{ids[0]}/corrections", headers=auth("clerk"),
                json={"field": "card_no", "new_value": CARDS[1], "reason": "抄错", "password": "bad"})
    client.post(f"/api/v1/forms/{ids[0]}/reveal", headers=auth("clerk"), json={"field": "customer_id", "reason": "核对"})
    (item, *_rest) = client.get("/api/v1/tasks", headers=auth("handler")).json
    client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"), json={"data": {"comment": "ok"}})

    dump = []
    for form_id in ids:
        for path in ("", "/corrections", "/handovers"):
            dump.append(client.get(f"/api/v1/forms/{form_id}{path}", headers=auth("clerk")).get_data(as_text=True))
    for user in ("clerk", "handler", "manager"):
        dump.append(client.get("/api/v1/tasks", headers=auth(user)).get_data(as_text=True))
    dump.append(client.get("/api/v1/audit", headers=auth("manager")).get_data(as_text=True))
    dump.append(client.get(f"/api/v1/templates/{kyc_template}", headers=auth("clerk")).get_data(as_text=True))
    with unit_of_work(services.sessions) as s:
        states = [i.state for i in s.scalars(select(ProcessInstance))]
        rows = [json.dumps([list(r) for r in s.execute(text(f"SELECT * FROM {table}"))], default=str, ensure_ascii=False)
                for table in ("form", "sensitive_value", "correction", "audit_event", "work_item", "handover")]
    assert states and len(dump) > 10
    places = {"api": "\n".join(dump), "workflow states": "\n".join(states), "tables": "\n".join(rows),
              "log": caplog.text + "\n".join(r.getMessage() for r in caplog.records)}
    if not PG_URL:
        db_file = Path(services.config["database"]["url"].split("///", 1)[1])
        wal = db_file.with_name(db_file.name + "-wal")
        assert wal.exists()
        places["sqlite file"] = db_file.read_bytes().decode("latin-1")
        places["sqlite wal"] = wal.read_bytes().decode("latin-1")
    # the scan does see the data where it is shown: the masked values are in the API's answers
    assert "110105********002X" in places["api"] and GOOD_FORM["content"] in places["api"] and "抄错" in places["api"]
    # ...and nowhere stored: the masked values, the other values and the corrections' reasons are sealed too
    stored = {place: content for place, content in places.items() if place not in ("api", "log")}
    for word in ("110105********002X", GOOD_FORM["content"], GOOD_FORM["customer_name"], "抄错"):
        for form in {word, json.dumps(word)[1:-1]}:  # as it is, and as JSON escapes it
            assert not {place for place, content in stored.items() if form in content}, word
    secrets = IDS + CARDS + BAD + ["13812345678"]
    hits = {(place, secret) for place, content in places.items() for secret in secrets if secret in content}
    assert hits == set()


def test_migrate_seals_what_older_versions_stored_in_clear_and_keeps_archive_seals_true(client, auth, kyc_template,
                                                                                          services):
    """A database from before sealing: values, a correction and an attachment name in clear, the forms filed. `guichet
    migrate` seals them; a seal that matched is made anew (the integrity check still passes), one that did not
    match stays as it was (the form still shows as altered)."""
    from processes.archive import service as archive
    from processes.archive.models import Filing
    from processes.org import service as org
    from tests.processes.test_destruction import START, close

    ids = [post(client, auth, kyc_template, KYC_FORM).json["id"] for _ in range(2)]
    r = client.post(f"/api/v1/forms/{ids[0]}/corrections", headers=auth("clerk"),
                    json={"field": "customer_name", "new_value": "李四", "reason": "姓名抄错", "password": "guichet-demo"})
    assert r.status_code == 201, r.json
    for form_id in ids:
        close(services, form_id, START)
    with unit_of_work(services.sessions) as s:
        shown = {i: s.get(Form, i).values for i in ids}
        correction = s.scalars(select(Correction).where(Correction.form_id == ids[0])).one()
        clear = (correction.old_value, correction.new_value, correction.reason)
        # as an older version stored them: in clear
        s.execute(update(Form).where(Form.id.in_(ids)).values(sealed_data=None))
        for i in ids:
            s.execute(update(Form).where(Form.id == i).values(data=shown[i]))
        s.execute(update(Correction.__table__).where(Correction.id == correction.id).values(
            old_value=clear[0], new_value=clear[1], reason=clear[2]))
        s.add(Attachment(form_id=ids[1], field_code="proof", filename_sealed="旧附件.pdf", content_type="application/pdf",
                         size=1, sealed=b"x", uploaded_by="clerk", uploaded_at=START))
        s.flush()
        archive.file_forms(s, services.config, actor=org.get_by_username(s, "archivist"), form_ids=ids, now=START)
        tampered = s.scalars(select(Filing).where(Filing.form_id == ids[1])).one()
        tampered.seal = "0" * 64  # altered before the upgrade: must stay visible after it
    env = {"GUICHET_DATABASE_URL": services.config["database"]["url"],
           "GUICHET_APP_INSTANCE_PATH": services.config["app"]["instance_path"]}
    r = CliRunner().invoke(main, ["migrate"], env=env, catch_exceptions=False)
    assert r.exit_code == 0 and "2 forms' values sealed" in r.output, r.output
    with unit_of_work(services.sessions) as s:
        forms = {i: s.get(Form, i) for i in ids}
        assert all(f.data == {} and f.sealed_data.startswith(personal.SEALED) for f in forms.values())
        assert {i: f.values for i, f in forms.items()} == shown
        correction = s.scalars(select(Correction).where(Correction.form_id == ids[0])).one()
        assert (correction.old_value, correction.new_value, correction.reason) == clear
        assert all(v.startswith(personal.SEALED) for v in (correction.old_sealed, correction.new_sealed,
                                                            correction.reason_sealed))
        (attachment,) = s.scalars(select(Attachment).where(Attachment.form_id == ids[1])).all()
        assert attachment.filename == "旧附件.pdf" and attachment.filename_sealed.startswith(personal.SEALED)
        seals = archive.seals_of(s, ids)
        filings = {f.form_id: f.seal for f in s.scalars(select(Filing).where(Filing.form_id.in_(ids)))}
        assert filings[ids[0]] == seals[ids[0]] and filings[ids[1]] == "0" * 64
    r = CliRunner().invoke(main, ["migrate"], env=env, catch_exceptions=False)  # again: nothing left to seal
    assert r.exit_code == 0 and "values sealed" not in r.output


def test_the_search_index_holds_no_text_and_is_emptied_when_the_form_closes(client, auth, kyc_template, services):
    from processes.forms import service as forms
    from tests.processes.test_destruction import START, close

    form_id = post(client, auth, kyc_template, KYC_FORM).json["id"]
    config = services.config
    with unit_of_work(services.sessions) as s:
        row = s.get(Form, form_id)
        assert row.search and KYC_FORM["customer_name"] not in row.search and "张" not in row.search
        assert forms.ids_mentioning(s, config, KYC_FORM["customer_name"]) == (form_id,)
        assert forms.ids_mentioning(s, config, f"  {KYC_FORM['customer_name']} ") == (form_id,)  # trimmed
        assert forms.ids_mentioning(s, config, "110105********002X") == ()  # sensitive values are not indexed
        assert forms.ids_mentioning(s, config, "%") == ()
    close(services, form_id, START)
    with unit_of_work(services.sessions) as s:
        assert s.get(Form, form_id).search is None
        assert forms.ids_mentioning(s, config, KYC_FORM["customer_name"]) == ()
