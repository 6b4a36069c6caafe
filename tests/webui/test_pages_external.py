"""External-transfer pages through the Flask test client (CSRF included): request, transfer page, link, revoke,
paper receipt, package downloads, the open receipt and verification pages, and who may see what."""
from __future__ import annotations

import io
import re

from tests.webui.test_pages import csrf, login  # noqa: F401 - the login fixture

REQUEST = {"recipient_unit": "某某银行", "recipient_name": "钱经理", "recipient_contact": "021-1234",
           "purpose": "联合授信审查", "scope": "whole", "receipt_days": "5"}


def text(r) -> str:
    return r.get_data(as_text=True)


def request_transfer(handler, form_id, **changes):
    return handler.post(f"/forms/{form_id}/external-transfers/new",
                        data={**REQUEST, **changes, "csrf_token": handler.token})


def check(login, transfer_id):  # noqa: F811
    head = login("head")
    inbox = text(head.get("/inbox"))
    (item_id,) = [m.group(1) for m in re.finditer(r'data-item="([^"]+)">(.*?)</tr>', inbox, re.S) if "核对移交内容" in m.group(2)]
    task = text(head.get(f"/tasks/{item_id}"))
    assert f"/external-transfers/{transfer_id}" in task and "查看移交内容" in task
    r = head.post(f"/tasks/{item_id}/complete", data={"decision": "approve", "comment": "", "csrf_token": head.token})
    assert r.status_code == 302, text(r)


def test_request_check_link_and_sign_through_the_pages(login, submit_form, app):  # noqa: F811
    form = submit_form()
    handler = login("handler")
    page = text(handler.get(f"/forms/{form['id']}"))
    assert "申请对外移交" in page
    assert "申请对外移交" not in text(login("clerk").get(f"/forms/{form['id']}"))  # 营业部 no longer holds it
    assert handler.get(f"/forms/{form['id']}/external-transfers/new").status_code == 200
    bad = request_transfer(handler, form["id"], scope="fields", receipt_days="abc")
    assert bad.status_code == 422
    assert "签收期限须为 1 至 90 天" in text(bad) and "请至少选择一个字段" in text(bad) and "某某银行" in text(bad)
    r = request_transfer(handler, form["id"])
    assert r.status_code == 302
    transfer_id = int(r.headers["Location"].rsplit("/", 1)[1])
    detail = text(handler.get(f"/external-transfers/{transfer_id}"))
    assert "待核对" in detail and "预览" in detail and "张三" in detail
    check(login, transfer_id)
    detail = text(handler.get(f"/external-transfers/{transfer_id}"))
    assert "已发出, 待签收" in detail and "下载移交包 (PDF)" in detail
    sha = re.search(r"data-hash>([0-9a-f]{64})<", detail).group(1)
    issued = handler.post(f"/external-transfers/{transfer_id}/receipt-link", data={"csrf_token": handler.token})
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    url = re.search(r"data-receipt-url>([^<]+)<", text(issued)).group(1)
    code = re.search(r"data-receipt-code[^>]*>(\d{6})<", text(issued)).group(1)
    assert code not in text(handler.get(f"/external-transfers/{transfer_id}"))  # shown once
    json_package = handler.get(f"/external-transfers/{transfer_id}/package.json")
    assert json_package.status_code == 200 and sha in text(json_package)
    assert handler.get(f"/external-transfers/{transfer_id}/package.xml").status_code == 404

    recipient = app.test_client()
    path = "/" + url.split("/", 3)[3]
    page = text(recipient.get(path))
    assert sha in page and "钱经理" not in page and "021-1234" not in page and "张三" not in page
    token = csrf(page)
    assert recipient.post(path, data={"name": "钱某", "position": "经理", "unit": "某某银行", "code": code}).status_code == 400
    done = recipient.post(path, data={"name": "钱某", "position": "经理", "unit": "某某银行", "code": code,
                                      "csrf_token": token})
    assert done.status_code == 200 and "已签收" in text(done)
    assert "已签收" in text(handler.get(f"/forms/{form['id']}"))
    assert "钱某" in text(handler.get(f"/external-transfers/{transfer_id}"))
    verify = text(recipient.get(f"/verify/{sha}"))
    assert "已签收" in verify and "钱某" not in verify


def test_revoke_and_paper_receipt_pages(login, submit_form):  # noqa: F811
    form = submit_form()
    handler = login("handler")
    transfer_id = int(request_transfer(handler, form["id"]).headers["Location"].rsplit("/", 1)[1])
    check(login, transfer_id)
    assert handler.post(f"/external-transfers/{transfer_id}/revoke", data={"csrf_token": handler.token}).status_code == 302
    handler.post(f"/external-transfers/{transfer_id}/receipt-link", data={"csrf_token": handler.token})
    r = handler.post(f"/external-transfers/{transfer_id}/revoke", data={"csrf_token": handler.token},
                     follow_redirects=True)
    assert "签收链接已作废" in text(r)
    bad = handler.post(f"/external-transfers/{transfer_id}/paper-receipt",
                       data={"csrf_token": handler.token, "file": (io.BytesIO(b"x"), "a.txt", "text/plain")})
    assert bad.status_code == 422 and "PDF、PNG 或 JPEG" in text(bad)
    ok = handler.post(f"/external-transfers/{transfer_id}/paper-receipt",
                      data={"csrf_token": handler.token, "file": (io.BytesIO(b"%PDF-1.4 signed"), "回执.pdf",
                                                                  "application/pdf")})
    assert ok.status_code == 302
    page = text(handler.get(f"/external-transfers/{transfer_id}"))
    assert "纸质签收凭证" in page and "回执.pdf" in page
    scan = handler.get(f"/external-transfers/{transfer_id}/paper-receipt")
    assert scan.status_code == 200 and scan.data == b"%PDF-1.4 signed"
    assert login("clerk").get(f"/external-transfers/{transfer_id}/paper-receipt").status_code == 403


def test_who_may_open_the_transfer_pages(login, submit_form):  # noqa: F811
    form = submit_form()
    handler = login("handler")
    transfer_id = int(request_transfer(handler, form["id"]).headers["Location"].rsplit("/", 1)[1])
    clerk = login("clerk")
    assert clerk.get(f"/forms/{form['id']}/external-transfers/new").status_code == 403
    assert clerk.get(f"/external-transfers/{transfer_id}").status_code == 403
    assert login("archivist").get(f"/external-transfers/{transfer_id}").status_code == 403
    assert login("inspector").get(f"/external-transfers/{transfer_id}").status_code == 200
    assert handler.get("/external-transfers/999").status_code == 404
    assert handler.get(f"/external-transfers/{transfer_id}/package.pdf").status_code == 409  # not checked yet


def test_open_pages_need_no_login_and_answer_410_for_a_dead_link(client):
    r = client.get("/receipt/nothing-here")
    assert r.status_code == 410 and "签收链接无效" in text(r)
    assert client.get("/verify/" + "a" * 64).status_code == 200
    assert client.get("/external-transfers/1").status_code == 302  # staff pages still need a login


def test_open_pages_are_rate_limited_per_address(make_config, demo_hash, clock):
    from tests.conftest import build_app

    app = build_app(make_config(external={"public_requests_per_minute": 3}), demo_hash, clock)
    try:
        client = app.test_client()
        assert [client.get("/verify/" + "b" * 64).status_code for _ in range(3)] == [200, 200, 200]
        r = client.get("/receipt/x")
        assert r.status_code == 429 and "请求过于频繁" in text(r)
        other = app.test_client()
        assert other.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200  # staff pages: no limit
        assert other.get("/verify/" + "b" * 64, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    finally:
        app.extensions["guichet_engine"].dispose()


def test_nothing_else_is_open_without_login(app):
    """Every GET route answers an anonymous visitor with a login redirect, 401, 404 or 405, except these."""
    open_endpoints = {"public.receipt", "public.verify", "auth.login", "auth.set_language", "static", "vendor",
                      "health.healthz", "api-docs.openapi_json"}
    client = app.test_client()
    leaks = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in open_endpoints:
            continue
        url = rule.build({arg: 1 for arg in rule.arguments}, append_unknown=False)[1]
        status = client.get(url).status_code
        if status not in (302, 401, 404, 405):
            leaks.append((rule.endpoint, url, status))
    assert leaks == []
