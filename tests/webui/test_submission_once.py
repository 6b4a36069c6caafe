"""A form is filled once per page or per Idempotency-Key: a double click or a client's retry finds the first form."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from processes.forms.models import Form
from tests.conftest import GOOD_FORM, build_app


@pytest.fixture
def pages(make_config, demo_hash, clock):
    """login(username) -> a test client logged in as that user (CSRF checks off for brevity)."""
    app = build_app(make_config(), demo_hash, clock)
    app.config["WTF_CSRF_ENABLED"] = False

    def _login(username):
        c = app.test_client()
        assert c.post("/login", data={"username": username, "password": "guichet-demo"}).status_code == 302
        return c

    yield _login, app
    app.extensions["guichet_engine"].dispose()


def _count_forms(app) -> int:
    with app.extensions["guichet"].sessions() as session:
        return session.scalar(select(func.count()).select_from(Form))


def test_the_form_page_carries_a_one_time_token_and_a_resent_post_makes_no_second_form(pages):
    login, app = pages
    clerk = login("clerk")
    page = clerk.get("/forms/new").get_data(as_text=True)
    assert 'name="submission_key"' in page and "data-once" in page
    key = page.split('name="submission_key" value="', 1)[1].split('"', 1)[0]
    assert len(key) >= 16 and key not in clerk.get("/forms/new").get_data(as_text=True)  # a new one per page
    body = {**GOOD_FORM, "action": "submit", "submission_key": key}
    first = clerk.post("/forms/new", data=body)
    second = clerk.post("/forms/new", data=body)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert _count_forms(app) == 1
    assert "重复的提交未再生成业务单" in clerk.get(second.location).get_data(as_text=True)
    with app.extensions["guichet"].sessions() as session:
        (form,) = session.scalars(select(Form)).all()
        assert form.status == "in_transfer"


def test_a_refused_submission_keeps_its_token_so_the_corrected_one_still_counts_once(pages):
    login, app = pages
    clerk = login("clerk")
    key = "k" * 32
    r = clerk.post("/forms/new", data={**GOOD_FORM, "content": "", "action": "submit", "submission_key": key})
    assert r.status_code == 422 and f'value="{key}"' in r.get_data(as_text=True)
    assert clerk.post("/forms/new", data={**GOOD_FORM, "action": "submit", "submission_key": key}).status_code == 302
    assert clerk.post("/forms/new", data={**GOOD_FORM, "action": "submit", "submission_key": key}).status_code == 302
    assert _count_forms(app) == 1


def test_the_same_token_of_another_user_is_their_own(pages):
    login, app = pages
    key = "shared-token-123"
    for user in ("clerk", "handler"):
        assert login(user).post("/forms/new", data={**GOOD_FORM, "action": "submit",
                                                    "submission_key": key}).status_code == 302
    assert _count_forms(app) == 2


def test_submitting_a_draft_twice_shows_the_submitted_form(pages):
    login, app = pages
    clerk = login("clerk")
    r = clerk.post("/forms/new", data={**GOOD_FORM, "action": "draft"})
    form_id = int(r.location.rsplit("/", 1)[1])
    first = clerk.post(f"/forms/{form_id}/edit", data={**GOOD_FORM, "action": "submit"})
    second = clerk.post(f"/forms/{form_id}/edit", data={**GOOD_FORM, "action": "submit"})
    assert first.status_code == second.status_code == 302 and second.location.endswith(f"/forms/{form_id}")
    assert clerk.post(f"/forms/{form_id}/submit").location.endswith(f"/forms/{form_id}")


def _template_id(client, headers) -> int:
    return next(t["id"] for t in client.get("/api/v1/templates", headers=headers).json if t["code"] == "general")


def test_api_idempotency_key_returns_the_first_form(client, auth, app):
    headers = {**auth("clerk"), "Idempotency-Key": "retry-0001-abcdef"}
    body = {"template_id": _template_id(client, auth("clerk")), "data": GOOD_FORM, "submit": True}
    first = client.post("/api/v1/forms", headers=headers, json=body)
    again = client.post("/api/v1/forms", headers=headers, json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["id"] == first.json["id"] and again.json["number"] == first.json["number"]
    assert client.post("/api/v1/forms", headers=auth("clerk"), json=body).status_code == 201  # no key: a new one
    assert _count_forms(app) == 2


@pytest.mark.parametrize("key", ["short", "x" * 65, "有中文的键值abcdefgh", "with space 12345"])
def test_api_refuses_a_malformed_idempotency_key(client, auth, app, key):
    headers = {**auth("clerk"), "Idempotency-Key": key}
    body = {"template_id": _template_id(client, auth("clerk")), "data": GOOD_FORM, "submit": True}
    r = client.post("/api/v1/forms", headers=headers, json=body)
    assert r.status_code == 422 and "Idempotency-Key" in r.json["fields"]
    assert _count_forms(app) == 0


def test_submitting_an_incomplete_draft_shows_its_form_with_the_messages_beside_the_fields(pages):
    login, app = pages
    clerk = login("clerk")
    r = clerk.post("/forms/new", data={**GOOD_FORM, "content": "", "action": "draft"})
    form_id = int(r.location.rsplit("/", 1)[1])
    r = clerk.post(f"/forms/{form_id}/submit")
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="f-content"' in page and f'action="/forms/{form_id}/edit"' in page
    field = page[page.index('data-field="content"'):]
    assert "必填" in field[:field.index("</div>")]
    assert 'value="张三"' in page  # what was saved is still there
    r = clerk.post(f"/forms/{form_id}/edit", data={**GOOD_FORM, "action": "submit"})
    assert r.status_code == 302
    with app.extensions["guichet"].sessions() as session:
        assert session.get(Form, form_id).status == "in_transfer"
