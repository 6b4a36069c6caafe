"""Smaller things a new user met: a new form is pre-filled, the general template is the default, date fields pick
dates, the form page prints, and each role sees only its areas."""
from __future__ import annotations

import pytest

from tests.conftest import build_app, approve_template


@pytest.fixture
def pages(make_config, demo_hash, clock):
    app = build_app(make_config(), demo_hash, clock)
    app.config["WTF_CSRF_ENABLED"] = False

    def _login(username):
        c = app.test_client()
        assert c.post("/login", data={"username": username, "password": "guichet-demo"}).status_code == 302
        return c

    yield _login, app
    app.extensions["guichet_engine"].dispose()


def test_a_new_form_is_prefilled_on_the_general_template(pages, client, auth):
    approve_template(client, auth, name="个人贷款申请单")  # sorts before 通用业务单
    page = pages[0]("clerk").get("/forms/new").get_data(as_text=True)
    assert "selected>通用业务单</option>" in page
    assert 'value="2026-03-02 09:00"' in page and 'value="陈柜员"' in page  # the fixed clock: 09:00 in Shanghai


def test_date_fields_pick_dates(pages, client, auth):
    template_id = approve_template(client, auth)
    page = pages[0]("clerk").get(f"/forms/new?template_id={template_id}").get_data(as_text=True)
    birth = page[page.index('id="f-birth"'):]
    assert 'type="date"' in birth[:birth.index(">")]


def test_each_role_sees_its_areas(pages):
    login = pages[0]
    archivist = login("archivist")
    inbox = archivist.get("/inbox").get_data(as_text=True)
    assert "填写业务单" not in inbox and "模板管理" not in inbox
    assert archivist.get("/forms/new").status_code == 403
    assert "填写业务单" in login("clerk").get("/inbox").get_data(as_text=True)


def test_the_form_page_prints(pages, submit_form):
    form = submit_form()
    page = pages[0]("clerk").get(f"/forms/{form['id']}").get_data(as_text=True)
    assert "data-print" in page  # app.js prints it (the CSP allows no inline handler)


def test_error_pages_are_headed_in_words(pages):
    page = pages[0]("archivist").get("/forms/new").get_data(as_text=True)
    assert '<h1 title="HTTP 403">无权进行此操作</h1>' in page and "<h1>403</h1>" not in page


def _design_rows(*rows):
    data = {"code": [], "label": [], "type": [], "required": [], "sensitive": [], "choices": [], "help": []}
    for code, label, kind in rows:
        for k, v in (("code", code), ("label", label), ("type", kind), ("required", "1"), ("sensitive", "0"),
                     ("choices", ""), ("help", "")):
            data[k].append(v)
    return data


def test_the_designer_makes_codes_from_labels_and_ignores_empty_rows(pages):
    handler = pages[0]("handler")
    rows = _design_rows(("", "业务类型", "text"), ("", "客户名称", "text"), ("", "业务内容", "text"),
                        ("", "办理时间", "datetime"), ("", "经办人员", "text"), ("", "贷款金额", "amount"),
                        ("", "", "text"), ("", "", "text"))
    r = handler.post("/templates/new", data={"name": "贷款登记", "business_type": "贷款", "action": "draft", **rows})
    assert r.status_code == 302, r.get_data(as_text=True)
    page = handler.get(r.location, follow_redirects=True).get_data(as_text=True)
    assert "daikuanjine" in page and "business_type" in page


def test_a_bad_code_is_reported_under_its_row(pages):
    handler = pages[0]("handler")
    rows = _design_rows(("business_type", "业务类型", "text"), ("customer_name", "客户名称", "text"),
                        ("content", "业务内容", "text"), ("handled_at", "办理时间", "datetime"),
                        ("handled_by", "经办人员", "text"), ("Amount", "贷款金额", "amount"))
    r = handler.post("/templates/new", data={"name": "贷款登记", "business_type": "贷款", "action": "draft", **rows})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and '<tr class="row-error">' in page and "第 6 行" in page
