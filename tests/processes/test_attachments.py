"""Attachments: added to a draft, stored encrypted with the form's data key, opened only by those allowed, audited."""
from __future__ import annotations

import io
import re

from sqlalchemy import select

from engine.db import unit_of_work
from processes.forms.models import Attachment
from tests.conftest import KYC_FORM
from tests.webui.test_pages import csrf, login  # noqa: F401 - fixture

SECRET = b"%PDF-1.4 scan of resident ID 11010519491231002X, very private"


def draft(client, auth, template_id):
    data = {k: v for k, v in KYC_FORM.items() if k != "proof"}
    r = client.post("/api/v1/forms", headers=auth("clerk"), json={"template_id": template_id, "data": data, "submit": False})
    assert r.status_code == 201, r.json
    return r.json


def upload(client, auth, form_id, field="proof", content=SECRET, name="身份证复印件.pdf", user="clerk"):
    return client.post(f"/api/v1/forms/{form_id}/attachments", headers=auth(user), content_type="multipart/form-data",
                       data={"field": field, "file": (io.BytesIO(content), name, "application/pdf")})


def test_attach_submit_and_open(client, auth, kyc_template, services):
    form = draft(client, auth, kyc_template)
    r = upload(client, auth, form["id"])
    assert r.status_code == 201 and r.json["filename"] == "身份证复印件.pdf" and r.json["size"] == len(SECRET)
    shown = client.get(f"/api/v1/forms/{form['id']}", headers=auth("clerk")).json["data"]["proof"]
    assert shown == f"附件#{r.json['id']} 身份证复印件.pdf"
    assert client.post(f"/api/v1/forms/{form['id']}/submit", headers=auth("clerk")).status_code == 200
    listed = client.get(f"/api/v1/forms/{form['id']}/attachments", headers=auth("handler")).json
    assert [a["filename"] for a in listed] == ["身份证复印件.pdf"]
    opened = client.get(f"/api/v1/forms/{form['id']}/attachments/{r.json['id']}", headers=auth("clerk"))
    assert opened.status_code == 200 and opened.data == SECRET and "attachment;" in opened.headers["Content-Disposition"]
    assert client.get(f"/api/v1/forms/{form['id']}/attachments/{r.json['id']}", headers=auth("handler")).status_code == 403
    with unit_of_work(services.sessions) as s:
        stored = s.scalars(select(Attachment)).one()
        assert SECRET not in stored.sealed and b"11010519491231002X" not in stored.sealed
    events = client.get("/api/v1/audit", headers=auth("manager"), query_string={"action": "form.attachment_view"}).json
    assert len(events) == 1 and events[0]["actor"] == "clerk"


def test_refusals(client, auth, kyc_template, submit_form):
    form = draft(client, auth, kyc_template)
    assert upload(client, auth, form["id"], field="customer_name").status_code == 422
    assert upload(client, auth, form["id"], user="handler").status_code == 403
    assert upload(client, auth, form["id"], content=b"").json["fields"] == {"proof": "请选择要上传的文件"}
    big = upload(client, auth, form["id"], content=b"x" * 1_600_000)
    assert big.status_code in (413, 422) and big.json["message"]
    submitted = submit_form()
    assert upload(client, auth, submitted["id"]).status_code in (409, 422)
    forged = {**{k: v for k, v in KYC_FORM.items()}, "proof": "附件#999 伪造.pdf"}
    r = client.post("/api/v1/forms", headers=auth("clerk"), json={"template_id": kyc_template, "data": forged, "submit": True})
    assert r.status_code == 422 and r.json["fields"] == {"proof": "附件引用无效, 请重新上传"}


def test_fill_page_uploads_the_file(login, kyc_template, client):  # noqa: F811
    clerk = login("clerk")
    page = clerk.get(f"/forms/new?template_id={kyc_template}").get_data(as_text=True)
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page
    data = {**KYC_FORM, "csrf_token": clerk.token, "action": "submit", "template_id": str(kyc_template)}
    data["proof"] = (io.BytesIO(SECRET), "合同扫描件.pdf", "application/pdf")
    r = clerk.post("/forms/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    detail = clerk.get(r.headers["Location"]).get_data(as_text=True)
    assert "合同扫描件.pdf" in detail and "已提交" in detail
    link = re.search(r'href="(/forms/\d+/attachments/\d+)"', detail).group(1)
    assert clerk.get(link).data == SECRET
