"""Pages of templates, intake and audit through the Flask test client (logged-in sessions, CSRF off)."""
from __future__ import annotations

import re

import pytest

from tests.conftest import GOOD_FORM, KYC_FORM, approve_template, build_app


@pytest.fixture
def pages(make_config, demo_hash, clock):
    """login(username) -> a test client logged in as that user (CSRF checks off for brevity)."""
    app = build_app(make_config(), demo_hash, clock)
    app.config["WTF_CSRF_ENABLED"] = False

    def _login(username):
        c = app.test_client()
        r = c.post("/login", data={"username": username, "password": "guichet-demo"})
        assert r.status_code == 302
        return c

    yield _login, app
    app.extensions["guichet_engine"].dispose()


def rows(*fields):
    data = {"code": [], "label": [], "type": [], "required": [], "sensitive": [], "choices": [], "help": []}
    for code, label, kind in fields:
        for k, v in (("code", code), ("label", label), ("type", kind), ("required", "1"), ("sensitive", "0"),
                     ("choices", ""), ("help", "")):
            data[k].append(v)
    return data


BASE = [("business_type", "业务类型", "text"), ("customer_name", "客户名称", "text"), ("content", "业务内容", "text"),
        ("handled_at", "办理时间", "datetime"), ("handled_by", "经办人员", "text")]


def test_design_page_approval_on_task_page_and_template_detail(pages):
    login, _app = pages
    handler, head, manager = login("handler"), login("head"), login("manager")
    assert "业务类型" in handler.get("/templates/new").get_data(as_text=True)
    r = handler.post("/templates/new", data={"name": "开户申请", "business_type": "开户", "action": "submit",
                                             **rows(*BASE[:3])})
    assert r.status_code == 422 and "办理时间" in r.get_data(as_text=True)
    r = handler.post("/templates/new", data={"name": "开户申请", "business_type": "开户", "action": "submit",
                                             **rows(*BASE, ("customer_id", "身份证号码", "id_card"))})
    assert r.status_code == 302
    detail = handler.get(r.location).get_data(as_text=True)
    assert "审批中" in detail and "身份证号码" in detail
    inbox = head.get("/inbox").get_data(as_text=True)
    item_id = re.search(r'/tasks/([0-9a-f-]{36})', inbox).group(1)
    version_link = re.search(r'/templates/versions/(\d+)', inbox).group(0)
    assert head.get(version_link).location.endswith("/templates/2#v1")
    page = head.get(f"/tasks/{item_id}").get_data(as_text=True)
    assert "批准" in page and "退回" in page and "办理完成并移交" not in page and "customer_id" in page
    r = head.post(f"/tasks/{item_id}/complete", data={"decision": "return", "comment": ""})
    assert r.status_code == 422 and "退回时请填写意见" in r.get_data(as_text=True)
    assert head.post(f"/tasks/{item_id}/complete", data={"decision": "approve", "comment": "可以"}).status_code == 302
    item_id = re.search(r'/tasks/([0-9a-f-]{36})', manager.get("/inbox").get_data(as_text=True)).group(1)
    assert manager.post(f"/tasks/{item_id}/complete", data={"decision": "approve", "comment": ""}).status_code == 302
    listing = handler.get("/templates").get_data(as_text=True)
    assert "开户申请" in listing and "已启用" in listing
    assert "开户申请" in login("clerk").get("/forms/new").get_data(as_text=True)
    change = handler.get("/templates/2/versions/new").get_data(as_text=True)
    assert 'value="customer_id"' in change


def test_fill_bad_id_fix_then_correct_with_signature(pages):
    login, app = pages
    client = app.test_client()
    token = lambda u: {"Authorization": "Bearer " + client.post("/api/v1/auth/token", json={"username": u, "password": "guichet-demo"}).json["token"]}  # noqa: E731
    tid = approve_template(client, token)
    clerk = login("clerk")
    data = {**KYC_FORM, "customer_id": "110105194912310021", "template_id": str(tid), "action": "submit"}
    r = clerk.post(f"/forms/new?template_id={tid}", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "身份证号码校验位不正确" in html
    r = clerk.post(f"/forms/new?template_id={tid}", data={**data, "customer_id": "11010519491231002X"})
    assert r.status_code == 302
    page = clerk.get(r.location).get_data(as_text=True)
    assert "110105********002X" in page and "11010519491231002X" not in page and "查看完整信息" in page
    form_id = int(r.location.rsplit("/", 1)[1])
    shown = clerk.post(f"/forms/{form_id}/reveal", data={"field": "customer_id", "reason": "核对"}).get_data(as_text=True)
    assert "11010519491231002X" in shown
    assert clerk.post(f"/forms/{form_id}/reveal", data={"field": "customer_id", "reason": ""}).status_code == 422
    # A reason too long is refused with its message and kept on the page, not cut (the page's own path).
    r = clerk.post(f"/forms/{form_id}/reveal", data={"field": "customer_id", "reason": "核" * 501})
    assert r.status_code == 422 and "不能超过 500 个字 (现有 501 个字)" in r.get_data(as_text=True)
    r = clerk.post(f"/forms/{form_id}/correct", data={"field": "customer_name", "new_value": "张三丰", "reason": "笔" * 501,
                                                      "password": "guichet-demo"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "不能超过 500 个字 (现有 501 个字)" in html and "笔" * 501 in html
    r = clerk.post(f"/forms/{form_id}/correct", data={"field": "customer_name", "new_value": "张三丰", "reason": "笔误",
                                                      "password": "nope"})
    assert r.status_code == 422 and "密码不正确" in r.get_data(as_text=True)
    r = clerk.post(f"/forms/{form_id}/correct", data={"field": "customer_name", "new_value": "张三丰", "reason": "笔误",
                                                      "password": "guichet-demo"})
    assert r.status_code == 302
    page = clerk.get(f"/forms/{form_id}").get_data(as_text=True)
    assert "张三丰" in page and "签名有效" in page and "第 1 号" in page
    assert login("archivist").post(f"/forms/{form_id}/reveal", data={"field": "customer_id", "reason": "x1"}).status_code == 403


def test_draft_resume_keeps_saved_sensitive_values(pages):
    login, app = pages
    client = app.test_client()
    token = lambda u: {"Authorization": "Bearer " + client.post("/api/v1/auth/token", json={"username": u, "password": "guichet-demo"}).json["token"]}  # noqa: E731
    tid = approve_template(client, token)
    clerk = login("clerk")
    r = clerk.post(f"/forms/new?template_id={tid}", data={"customer_id": "11010519491231002X", "action": "draft",
                                                          "template_id": str(tid)})
    form_id = int(r.location.rsplit("/", 1)[1])
    edit = clerk.get(f"/forms/{form_id}/edit").get_data(as_text=True)
    assert "110105********002X" in edit and "11010519491231002X" not in edit
    values = {k: v for k, v in KYC_FORM.items() if k not in ("customer_id", "card_no", "mobile")}
    r = clerk.post(f"/forms/{form_id}/edit", data={**values, "action": "submit"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert "流转中" in clerk.get(f"/forms/{form_id}").get_data(as_text=True)


def test_audit_page_for_management_only(pages, ):
    login, app = pages
    assert login("clerk").get("/audit").status_code == 403
    client = app.test_client()
    token = lambda u: {"Authorization": "Bearer " + client.post("/api/v1/auth/token", json={"username": u, "password": "guichet-demo"}).json["token"]}  # noqa: E731
    assert login("clerk").post("/forms/new", data={**GOOD_FORM, "action": "submit"}).status_code == 302
    approve_template(client, token)
    page = login("manager").get("/audit?verify=1").get_data(as_text=True)
    assert "审计链完整" in page
    assert "<td>陈柜员(营业部)</td>" in page and "<td>clerk</td>" not in page  # people by name
    assert "<td>陈柜员(营业部)</td>" in login("manager").get("/audit?actor=陈柜员").get_data(as_text=True)
    # Details as an inspector reads them, not as the services record them.
    assert "<span>决定: 提交</span>" in page and "<span>移交至: 信贷部</span>" in page and "<span>已办结: 否</span>" in page
    assert "decision=" not in page and '<td title="form.create">填单</td>' in page and '<td title="form.handover">移交</td>' in page
    links = set(re.findall(r'href="(/(?:forms/\d+|templates/versions|procedures)/?[^"]*)"', page))
    assert any(link.startswith("/forms/") for link in links) and any(link.startswith("/templates/") for link in links)
    for link in links:  # each event's object opens for whoever may read the audit log
        assert login("inspector").get(link, follow_redirects=True).status_code == 200, link
    english = login("manager")
    english.get("/lang/en")
    page = english.get("/audit").get_data(as_text=True)
    assert "<span>Decision: Submitted</span>" in page and ">Handover</td>" in page and ">Form filled</td>" in page
    assert login("inspector").get("/audit?action=form.create&since=2026-01-01&until=bad").status_code == 200
