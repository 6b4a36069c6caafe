"""The archive API: filing with gap-free 档号, volumes and their catalogue, custody, and who may do what."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from engine.db import unit_of_work
from processes.demo_history import seed_history


@pytest.fixture
def closed(services):
    """Closed forms of earlier years (the demo history, a few of them): [(id, business_type, closed year)]."""
    with unit_of_work(services.sessions) as session:
        seed_history(session, services.runtime, services.config, count=12)
    from sqlalchemy import select

    from processes.forms.models import Form

    with services.sessions() as session:
        return [(f.id, f.business_type, f.closed_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).year)
                for f in session.scalars(select(Form).order_by(Form.closed_at))]


def file(client, auth, ids, user="archivist"):
    return client.post("/api/v1/archive/filings", headers=auth(user), json={"form_ids": ids})


def test_queue_then_filing_gives_gap_free_codes_in_closing_order(client, auth, closed):
    queue = client.get("/api/v1/archive/queue", headers=auth("archivist")).json
    assert [q["id"] for q in queue] == [i for i, _t, _y in closed]
    r = file(client, auth, [i for i, _t, _y in reversed(closed)])
    assert r.status_code == 201, r.json
    codes = {row["form_id"]: row["archival_code"] for row in r.json}
    assert all(c.startswith("G001-YW·") for c in codes.values())
    by_series = {}
    for form_id, _t, _y in closed:  # in closing order
        series, _, number = codes[form_id].rpartition("-")
        by_series.setdefault(series, []).append(int(number))
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in by_series.values())
    first_id, kind, year = closed[0]
    retention = {"个人贷款申请": "D30", "对公开户": "D30", "贷款展期": "D30"}.get(kind, "D10")
    assert codes[first_id] == f"G001-YW·{year}-{retention}-YY-0001"
    assert client.get("/api/v1/archive/queue", headers=auth("archivist")).json == []
    form = client.get(f"/api/v1/forms/{first_id}", headers=auth("manager")).json
    assert form["archival_code"] == codes[first_id] and form["volume_id"] is None


def test_filing_refuses_open_filed_unknown_and_bad_input(client, auth, closed, submit_form):
    open_form = submit_form()
    r = file(client, auth, [closed[0][0], open_form["id"]])
    assert r.status_code == 409 and r.json["code"] == "form_not_closed" and "尚未办结" in r.json["message"]
    assert client.get("/api/v1/archive/queue", headers=auth("archivist")).json[0]["id"] == closed[0][0]  # nothing filed
    assert file(client, auth, [closed[0][0]]).status_code == 201
    r = file(client, auth, [closed[0][0]])
    assert r.status_code == 409 and r.json["code"] == "already_filed"
    assert file(client, auth, [999999]).status_code == 404
    for bad in ([], "1", [1, "x"], [True], [closed[1][0], closed[1][0]]):
        r = file(client, auth, bad)
        assert r.status_code == 422 and "form_ids" in r.json["fields"], bad
    assert client.post("/api/v1/archive/filings", headers=auth("archivist"), json={}).status_code == 422


def test_only_the_archivist_files_binds_moves_and_lends_and_readers_read(client, auth, closed):
    for user in ("clerk", "handler", "head", "manager", "inspector"):
        assert file(client, auth, [closed[0][0]], user=user).status_code == 403
        assert client.post("/api/v1/archive/volumes", headers=auth(user),
                           json={"title": "x", "business_type": "x", "year": 2025}).status_code == 403
    for user in ("clerk", "handler", "head"):
        for path in ("queue", "filings", "volumes", "backups", "integrity", "loans", "room-visits"):
            assert client.get(f"/api/v1/archive/{path}", headers=auth(user)).status_code == 403, (user, path)
    for user in ("manager", "inspector", "archivist"):
        for path in ("queue", "filings", "volumes", "backups", "integrity", "loans", "room-visits"):
            assert client.get(f"/api/v1/archive/{path}", headers=auth(user)).status_code == 200, (user, path)
    assert client.get("/api/v1/archive/queue").status_code == 401


def _volume(client, auth, closed):
    """File every form and bind those of the first form's type and year."""
    file(client, auth, [i for i, _t, _y in closed])
    _id, kind, year = closed[0]
    members = [i for i, t, y in closed if (t, y) == (kind, year)]
    r = client.post("/api/v1/archive/volumes", headers=auth("archivist"),
                    json={"title": f"{year}年{kind}业务单", "business_type": kind, "year": year})
    assert r.status_code == 201, r.json
    return r.json, members


def test_volume_binding_catalogue_and_closing(client, auth, closed):
    volume, members = _volume(client, auth, closed)
    vid = volume["id"]
    others = [i for i, t, y in closed if i not in members]
    r = client.post(f"/api/v1/archive/volumes/{vid}/items", headers=auth("archivist"), json={"form_ids": others[:1]})
    assert r.status_code == 422 and ("年度" in r.json["fields"]["form_ids"] or "业务类型" in r.json["fields"]["form_ids"])
    r = client.post(f"/api/v1/archive/volumes/{vid}/items", headers=auth("archivist"), json={"form_ids": members})
    assert r.status_code == 200 and [x["volume_seq"] for x in r.json] == list(range(1, len(members) + 1))
    assert client.get(f"/api/v1/forms/{members[0]}", headers=auth("manager")).json["volume_id"] == vid
    pdf = client.get(f"/api/v1/archive/volumes/{vid}/catalogue.pdf", headers=auth("inspector"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "卷内目录" in text and r.json[0]["archival_code"] in text
    assert client.post(f"/api/v1/archive/volumes/{vid}/close", headers=auth("archivist")).status_code == 200
    r = client.post(f"/api/v1/archive/volumes/{vid}/items", headers=auth("archivist"), json={"form_ids": members})
    assert r.status_code == 409 and r.json["code"] == "volume_closed"
    assert client.post(f"/api/v1/archive/volumes/{vid}/close", headers=auth("archivist")).status_code == 409
    r = client.post("/api/v1/archive/volumes", headers=auth("archivist"), json={"title": "", "business_type": 3, "year": "x"})
    assert r.status_code == 422 and set(r.json["fields"]) == {"title", "business_type", "year"}
    assert client.get("/api/v1/archive/volumes/999/catalogue.pdf", headers=auth("archivist")).status_code == 404


def test_archive_list_filters_and_pages_by_keyset(client, auth, closed):
    file(client, auth, [i for i, _t, _y in closed])
    seen, before = [], None
    while True:
        r = client.get("/api/v1/archive/filings", headers=auth("inspector"),
                       query_string={"limit": 5, **({"before": before} if before else {})})
        seen += [x["form_id"] for x in r.json["items"]]
        before = r.json["next_before"]
        if before is None:
            break
    assert sorted(seen) == sorted(i for i, _t, _y in closed) and len(seen) == len(set(seen))
    year = closed[0][2]
    r = client.get("/api/v1/archive/filings", headers=auth("inspector"), query_string={"year": year})
    assert {x["year"] for x in r.json["items"]} == {year}
    prefix = f"G001-YW·{year}-"
    r = client.get("/api/v1/archive/filings", headers=auth("inspector"), query_string={"code": prefix})
    assert r.json["items"] and all(x["archival_code"].startswith(prefix) for x in r.json["items"])


def test_location_moves_and_room_visits(client, auth, closed):
    volume, members = _volume(client, auth, closed)
    vid = volume["id"]
    put = lambda **place: client.put(f"/api/v1/archive/volumes/{vid}/location", headers=auth("archivist"), json=place)  # noqa: E731
    r = put(room="不存在的房间", cabinet="", shelf="2", box="3")
    assert r.status_code == 422 and set(r.json["fields"]) == {"room", "cabinet"}
    assert put(room="一号档案室", cabinet="A01", shelf="2", box="3").status_code == 200
    assert put(room="一号档案室", cabinet="A02", shelf="1", box="1").json["cabinet"] == "A02"
    moves = client.get(f"/api/v1/archive/volumes/{vid}/movements", headers=auth("manager")).json
    assert [(m["from"], m["to"], m["moved_by"]) for m in moves] == [
        ("未上架", "一号档案室 · A01柜 · 2层 · 3盒", "archivist"),
        ("一号档案室 · A01柜 · 2层 · 3盒", "一号档案室 · A02柜 · 1层 · 1盒", "archivist")]
    r = client.post("/api/v1/archive/room-visits", headers=auth("archivist"),
                    json={"room": "一号档案室", "visitor": "inspector", "purpose": "年度档案检查", "accompanied_by": "archivist"})
    assert r.status_code == 201, r.json
    visit = r.json["id"]
    assert client.post(f"/api/v1/archive/room-visits/{visit}/leave", headers=auth("archivist")).status_code == 200
    assert client.post(f"/api/v1/archive/room-visits/{visit}/leave", headers=auth("archivist")).status_code == 409
    r = client.post("/api/v1/archive/room-visits", headers=auth("archivist"),
                    json={"room": "一号档案室", "visitor": "nobody", "purpose": "", "accompanied_by": "archivist"})
    assert r.status_code == 422 and set(r.json["fields"]) == {"visitor", "purpose"}


def _close_through_the_inbox(client, auth, form_id):
    for user in ("handler", "clerk"):
        (item,) = [t for t in client.get("/api/v1/tasks", headers=auth(user)).json if t["kind"] == "task"]
        assert client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth(user),
                           json={"data": {"decision": "complete"}}).status_code == 200
    assert client.get(f"/api/v1/forms/{form_id}", headers=auth("clerk")).json["status"] == "closed"


def test_a_volume_with_personal_information_is_lent_only_after_management_approves(client, auth, kyc_template, clock):
    from tests.conftest import KYC_FORM

    r = client.post("/api/v1/forms", headers=auth("clerk"),
                    json={"template_id": kyc_template, "data": KYC_FORM, "submit": True})
    form = r.json
    _close_through_the_inbox(client, auth, form["id"])
    assert file(client, auth, [form["id"]]).status_code == 201
    volume = client.post("/api/v1/archive/volumes", headers=auth("archivist"),
                         json={"title": "含个人信息", "business_type": form["business_type"], "year": 2026}).json
    assert client.post(f"/api/v1/archive/volumes/{volume['id']}/items", headers=auth("archivist"),
                       json={"form_ids": [form["id"]]}).status_code == 200
    bad = client.post("/api/v1/archive/loans", headers=auth("archivist"),
                      json={"volume_id": volume["id"], "borrower": "nobody", "due_date": "2026-02-01"})
    assert bad.status_code == 422 and set(bad.json["fields"]) == {"borrower", "due_date"}
    loan = client.post("/api/v1/archive/loans", headers=auth("archivist"),
                       json={"volume_id": volume["id"], "borrower": "handler", "due_date": "2026-03-09"})
    assert loan.status_code == 201 and loan.json["status"] == "awaiting_approval"
    again = client.post("/api/v1/archive/loans", headers=auth("archivist"),
                        json={"volume_id": volume["id"], "borrower": "head", "due_date": "2026-03-09"})
    assert again.status_code == 409
    loan_id = loan.json["id"]
    assert client.post(f"/api/v1/archive/loans/{loan_id}/return", headers=auth("archivist")).status_code == 409
    for user in ("archivist", "head", "inspector"):
        assert client.post(f"/api/v1/archive/loans/{loan_id}/approve", headers=auth(user)).status_code == 403
    approved = client.post(f"/api/v1/archive/loans/{loan_id}/approve", headers=auth("manager"))
    assert approved.status_code == 200 and (approved.json["status"], approved.json["approved_by"]) == ("lent", "manager")
    (item,) = [t for t in client.get("/api/v1/tasks", headers=auth("archivist")).json if t["process"] == "archive_loan"]
    done = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("archivist"), json={"data": {}})
    assert done.status_code == 200  # returning from the inbox is recording the return
    (back,) = client.get("/api/v1/archive/loans", headers=auth("inspector")).json
    assert (back["status"], back["received_by"]) == ("returned", "archivist")


def test_a_filter_that_is_not_a_number_is_refused(client, auth):
    r = client.get("/api/v1/archive/filings", headers=auth("inspector"), query_string={"year": "二〇二五"})
    assert r.status_code == 422 and r.json["fields"] == {"year": "须为正整数"}
