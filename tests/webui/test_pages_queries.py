"""Query approval pages through the test client: apply, approve from the task page, read under a grant, revoke."""
from __future__ import annotations

import io
import re

from tests.conftest import GOOD_FORM
from tests.webui.test_pages import csrf, login  # noqa: F401 - fixture


def submit_form(client, auth):
    r = client.post("/api/v1/forms", headers=auth("clerk"), json={"template_id": 1, "data": GOOD_FORM, "submit": True})
    assert r.status_code == 201, r.json
    return r.json


def test_internal_query_through_the_pages(app, client, auth, login, clock):  # noqa: F811
    form = submit_form(client, auth)
    archivist = login("archivist")
    r = archivist.get(f"/forms/{form['id']}")
    assert r.status_code == 403 and "请申请查询授权" in r.get_data(as_text=True)
    page = archivist.get("/queries/new?customer_name=张三").get_data(as_text=True)
    assert form["number"] in page and "业务单查询申请表" in page
    bad = archivist.post("/queries/new", data={"csrf_token": archivist.token, "numbers": "YW-NOPE", "purpose": "x",
                                               "days": "31"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "YW-NOPE" in text and "1 至 30" in text and "请说明查询用途" in text
    r = archivist.post("/queries/new", data={"csrf_token": archivist.token, "numbers": form["number"],
                                             "purpose": "核对归档材料", "days": "2", "fields": ["customer_name"]})
    assert r.status_code == 302
    query_url = r.headers["Location"]
    assert "审批中" in archivist.get(query_url).get_data(as_text=True)
    assert "查询申请" in archivist.get("/queries").get_data(as_text=True)

    manager = login("archive_head")  # 档案室's head approves its archivist's query
    (item,) = client.get("/api/v1/tasks", headers=auth("archive_head"), query_string={"process": "query_approval"}).json
    task = manager.get(f"/tasks/{item['id']}").get_data(as_text=True)
    assert "核对归档材料" in task and form["number"] in task
    r = manager.post(f"/tasks/{item['id']}/complete", data={"csrf_token": manager.token, "decision": "approve",
                                                            "comment": ""})
    assert r.status_code == 422 and "请填写审批意见" in r.get_data(as_text=True)
    r = manager.post(f"/tasks/{item['id']}/complete", data={"csrf_token": manager.token, "decision": "approve",
                                                            "comment": "同意"})
    assert r.status_code == 302

    detail = archivist.get(query_url).get_data(as_text=True)
    assert "已批准" in detail and f"/forms/{form['id']}" in detail and "access-log" not in detail
    view = archivist.get(f"/forms/{form['id']}")
    html = view.get_data(as_text=True)
    grant_id = re.search(r"查询授权 #(\d+)", html).group(1)
    assert view.status_code == 200 and "赵档案员(档案室) 2026-03-02 09:00" in html and 'class="watermark"' in html
    assert "张三" in html and "******" in html and view.headers["Cache-Control"] == "no-store"
    qid = query_url.rstrip("/").rsplit("/", 1)[1]
    assert archivist.get(f"/queries/{qid}/forms/{form['id']}/pdf").status_code == 403  # no copy right

    log = manager.get(query_url).get_data(as_text=True)
    assert "access-log" in log and "(1)" in log and "撤销授权" in log and f"#{grant_id}" in log
    assert "<td>客户名称</td>" in log and f"<td>{form['number']}</td>" in log
    clock.advance(days=2, minutes=1)
    assert archivist.get(f"/forms/{form['id']}").status_code == 403  # the page already open stops at expiry
    assert "已到期" in archivist.get(query_url).get_data(as_text=True)


def test_revoke_from_the_page(client, auth, login):  # noqa: F811
    form = submit_form(client, auth)
    r = client.post("/api/v1/queries", headers=auth("archivist"), json={
        "form_ids": [form["id"]], "fields": ["customer_name"], "purpose": "核对", "days": 5})
    qid = r.json["id"]
    (item,) = client.get("/api/v1/tasks", headers=auth("archive_head"), query_string={"process": "query_approval"}).json
    client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("archive_head"),
                json={"data": {"decision": "approve", "comment": "同意"}})
    archivist, manager = login("archivist"), login("manager")
    assert archivist.get(f"/forms/{form['id']}").status_code == 200
    assert archivist.post(f"/queries/{qid}/revoke", data={"csrf_token": archivist.token}).status_code == 403
    assert manager.post(f"/queries/{qid}/revoke", data={"csrf_token": manager.token}).status_code == 302
    assert archivist.get(f"/forms/{form['id']}").status_code == 403
    assert login("clerk").get(f"/queries/{qid}").status_code == 403


def test_external_query_pages(client, auth, login):  # noqa: F811
    form = submit_form(client, auth)
    clerk = login("clerk")
    assert "登记外部查询" in clerk.get("/queries/external/new").get_data(as_text=True)
    assert login("archivist").get("/queries/external/new").status_code == 403
    bad = clerk.post("/queries/external/new", data={"csrf_token": clerk.token, "authority": "某某法院"})
    assert bad.status_code == 422 and "请登记至少一名执行人员" in bad.get_data(as_text=True)
    r = clerk.post("/queries/external/new", data={
        "csrf_token": clerk.token, "authority": "某某市人民法院", "document_number": "协查12号",
        "legal_basis": "民事诉讼法第六十七条", "purpose": "协助查询", "official_name": ["王法官", ""],
        "official_id": ["110101198001010013", ""], "numbers": form["number"], "fields": ["customer_name"],
        "due_date": "2026-03-10", "scans": (io.BytesIO(b"%PDF-1.4 scan"), "通知书.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)
    url = r.headers["Location"]
    page = clerk.get(url).get_data(as_text=True)
    assert "某某市人民法院" in page and "11************0013" in page and "110101198001010013" not in page
    qid = url.rsplit("/", 1)[1]
    scan_link = re.search(r'href="(/queries/\d+/scans/\d+)">通知书.pdf', page).group(1)
    assert clerk.get(scan_link).data == b"%PDF-1.4 scan"
    (report,) = client.get("/api/v1/tasks", headers=auth("manager"), query_string={"process": "query_approval"}).json
    assert "通知书.pdf" in login("manager").get(f"/tasks/{report['id']}").get_data(as_text=True)
    for user in ("manager", "inspector", "manager2"):
        (item,) = client.get("/api/v1/tasks", headers=auth(user), query_string={"process": "query_approval"}).json
        client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth(user),
                    json={"data": {"decision": "approve", "comment": "同意"}})
    page = clerk.get(url).get_data(as_text=True)
    assert "披露材料" in page and "登记交付" in page
    assert clerk.get(f"/queries/{qid}/disclosure.pdf").mimetype == "application/pdf"
    assert clerk.get(f"/queries/{qid}/disclosure.json").mimetype == "application/json"
    assert clerk.get(f"/queries/{qid}/disclosure.txt").status_code == 404
    r = clerk.post(f"/queries/{qid}/handover", data={"csrf_token": clerk.token, "received_by": "王法官", "note": ""})
    assert r.status_code == 302 and "王法官" in clerk.get(url).get_data(as_text=True)


def test_late_step_escalation_page_urges_and_takes_over(client, auth, login, services, clock):  # noqa: F811
    from engine.db import unit_of_work
    from engine.models import ProcessInstance

    form = submit_form(client, auth)
    client.post("/api/v1/queries", headers=auth("handler"), json={
        "form_ids": [form["id"]], "fields": ["customer_name"], "purpose": "复核", "days": 1})
    clock.advance(hours=8, minutes=1)
    with unit_of_work(services.sessions) as session:
        for instance in session.query(ProcessInstance).filter_by(status="running", process_key="query_approval"):
            services.runtime.fire_timers(session, instance.id, clock.now)
    (esc,) = [i for i in client.get("/api/v1/tasks", headers=auth("manager")).json if i["kind"] == "escalation"]
    manager = login("manager")
    page = manager.get(f"/tasks/{esc['id']}").get_data(as_text=True)
    # the task page offers the generic actions; the stage's own routes keep working
    assert f"/tasks/{esc['id']}/take-over" in page and "复核" in page and "不能改派" in page
    assert manager.post(f"/queries/escalations/{esc['id']}/urge", data={"csrf_token": manager.token}).status_code == 302
    head = login("head")
    assert head.post(f"/queries/escalations/{esc['id']}/urge", data={"csrf_token": head.token}).status_code == 403
    r = manager.post(f"/queries/escalations/{esc['id']}/take-over", data={"csrf_token": manager.token})
    assert r.status_code == 302 and "/tasks/" in r.headers["Location"]
    assert "批准" in manager.get(r.headers["Location"]).get_data(as_text=True)
