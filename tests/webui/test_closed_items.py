"""A closed item stops counting down: its page says when it was finished and whether that was on time."""
from __future__ import annotations

import pytest

from tests.conftest import build_app


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


def _hop(client, auth) -> str:
    (hop,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    assert client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("handler")).status_code == 200
    return hop["id"]


def test_an_item_finished_in_time_says_so_and_has_no_countdown(pages, client, auth, submit_form, clock):
    submit_form()
    hop = _hop(client, auth)
    clock.advance(minutes=30)
    handler = pages[0]("handler")
    assert handler.post(f"/tasks/{hop}/complete", data={"decision": "complete"}).status_code == 302
    clock.advance(hours=10)  # long after the deadline: a closed item must not turn late
    page = handler.get(f"/tasks/{hop}").get_data(as_text=True)
    assert "按时办结" in page and "办结时间" in page and "2026-03-02 09:30" in page
    assert "data-due" not in page and "已超时" not in page and "已办结" in page


def test_an_item_finished_late_says_how_late(pages, client, auth, submit_form, clock):
    submit_form()
    hop = _hop(client, auth)
    clock.advance(hours=5, minutes=10)
    handler = pages[0]("handler")
    r = handler.post(f"/tasks/{hop}/complete", data={"decision": "complete", "late_reason": "系统故障, 客户资料补交晚了"})
    assert r.status_code == 302
    page = handler.get(f"/tasks/{hop}").get_data(as_text=True)
    assert "超时 1小时10分 办结" in page and "data-due" not in page


def test_durations_read_in_words(app):
    from datetime import timedelta

    with app.test_request_context():
        duration = app.jinja_env.filters["duration"]
        assert duration(timedelta(seconds=40)) == "不足1分钟"
        assert duration(timedelta(minutes=5)) == "5分"
        assert duration(timedelta(days=1, minutes=5)) == "1天0小时5分"


def test_the_last_step_closes_and_intermediate_ones_hand_over(pages, client, auth, submit_form):
    form = submit_form()
    hop = _hop(client, auth)
    login = pages[0]
    handler = login("handler")
    page = handler.get(f"/tasks/{hop}").get_data(as_text=True)
    assert "办理完成并移交" in page and ">办结<" not in page
    handler.post(f"/tasks/{hop}/complete", data={"decision": "complete"})
    assert "已办理完成, 已移交下一环节" in handler.get("/inbox").get_data(as_text=True)
    (close,) = client.get("/api/v1/tasks", headers=auth("clerk")).json
    clerk = login("clerk")
    clerk.post(f"/tasks/{close['id']}/claim")
    page = clerk.get(f"/tasks/{close['id']}").get_data(as_text=True)
    assert ">办结<" in page and "办理完成并移交" not in page
    clerk.post(f"/tasks/{close['id']}/complete", data={"decision": "complete"})
    assert "已办结" in clerk.get("/inbox").get_data(as_text=True)
    page = clerk.get(f"/forms/{form['id']}").get_data(as_text=True)
    statuses = [s.split("<", 1)[0] for s in page.split('<td class="status">')[1:]]
    assert statuses == ["已移交", "已办结"]
