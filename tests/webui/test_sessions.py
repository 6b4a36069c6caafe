"""Page sessions end on the server: at logout, on deactivation, on a password change, after idle and absolute
timeouts; a login starts a new session; API tokens stop at deactivation and revocation."""
from __future__ import annotations

from datetime import timedelta

import pytest
import webui.app
import webui.auth
from engine.db import unit_of_work, utcnow
from processes.org import access
from tests.conftest import DEMO_PASSWORD
from tests.webui.test_pages import csrf


def page_login(app, username="handler"):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf(page)})
    assert r.status_code == 302
    return client


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def opens_inbox(app, cookie: str) -> bool:
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/inbox").status_code == 200


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app):
    client = page_login(app)
    saved = session_cookie(client)
    assert opens_inbox(app, saved)
    token = csrf(client.get("/inbox").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/inbox").status_code == 302
    assert not opens_inbox(app, saved)


def test_login_rotates_the_session(app):
    client = page_login(app)
    before = session_cookie(client)
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "handler", "password": DEMO_PASSWORD, "csrf_token": csrf(page)})
    assert session_cookie(client) != before
    assert not opens_inbox(app, before) and opens_inbox(app, session_cookie(client))


def test_deactivation_ends_page_sessions_and_tokens(app, client, auth, services):
    browser = page_login(app)
    headers = auth("handler")
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    with unit_of_work(services.sessions) as s:
        user = access.deactivate(s, username="handler", actor="manager", now=utcnow())
    with app.app_context():
        webui.auth.forget_recent(user.id)
    assert browser.get("/inbox").status_code == 302
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "handler", "password": DEMO_PASSWORD}).status_code == 401


def test_password_change_and_revocation_end_sessions_and_tokens(app, client, auth, services):
    browser = page_login(app, "clerk")
    headers = auth("clerk")
    with unit_of_work(services.sessions) as s:
        user = access.set_password(s, username="clerk", password="a-new-secret", ph=access.PasswordHasher(
            time_cost=1, memory_cost=1024), actor="clerk", now=utcnow())
    with app.app_context():
        webui.auth.forget_recent(user.id)
    assert browser.get("/inbox").status_code == 302
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "clerk", "password": "a-new-secret"})
    assert r.status_code == 200
    fresh = {"Authorization": f"Bearer {r.json['token']}"}
    assert client.get("/api/v1/tasks", headers=fresh).status_code == 200
    with unit_of_work(services.sessions) as s:
        access.revoke(s, username="clerk", actor="manager", now=utcnow())
    with app.app_context():
        webui.auth.forget_recent(user.id)
    assert client.get("/api/v1/tasks", headers=fresh).status_code == 401


@pytest.mark.parametrize("idle, later, open_", [(True, timedelta(minutes=31), False), (False, timedelta(hours=13), False),
                                                (True, timedelta(minutes=20), True)])
def test_idle_and_absolute_timeouts(app, monkeypatch, idle, later, open_):
    client = page_login(app)
    start = utcnow()
    if idle:
        monkeypatch.setattr(webui.auth, "session_clock", lambda: start + later)
        monkeypatch.setattr(webui.app, "session_clock", lambda: start + later)
        assert (client.get("/inbox").status_code == 200) is open_
    else:  # active every 20 minutes, still ended at the absolute limit
        step, ended = timedelta(), None
        while step < later and ended is None:
            step += timedelta(minutes=20)
            monkeypatch.setattr(webui.app, "session_clock", lambda s=step: start + s)
            if client.get("/inbox").status_code != 200:
                ended = step
        assert ended is not None and timedelta(hours=12) <= ended <= timedelta(hours=12, minutes=20)


def test_cli_deactivates_and_revokes(tmp_path):
    from tests.webui.test_cli import run

    run(tmp_path, "migrate")
    run(tmp_path, "deploy")
    run(tmp_path, "seed-demo", GUICHET_APP_DEMO_HISTORY_FORMS="0")
    assert "deactivated" in run(tmp_path, "user", "deactivate", "handler").output
    assert "signed out" in run(tmp_path, "user", "revoke", "clerk").output
    missing = run(tmp_path, "user", "deactivate", "nobody")
    assert missing.exit_code == 1 and "找不到该用户" in missing.output
    assert "password set" in run(tmp_path, "user", "set-password", "clerk", "--password", "long-enough-1").output


@pytest.mark.parametrize("end", ["deactivate", "revoke", "password"])
def test_a_token_ended_in_one_process_is_refused_at_once_by_every_other(app, make_config, clock, end):
    """Two app instances on one database stand for two web processes: each remembers the token it verified, and
    an end of the user's tokens made through the other (or the CLI) holds at the very next request, no waiting."""
    from webui.app import create_app

    other = create_app(config=make_config(), clock=clock)
    try:
        token = app.test_client().post("/api/v1/auth/token", json={"username": "handler", "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {token.json['token']}"}
        for instance in (app, other, app, other):  # each has verified and remembered the token
            assert instance.test_client().get("/api/v1/tasks", headers=headers).status_code == 200
        with unit_of_work(other.extensions["guichet"].sessions) as s:
            if end == "deactivate":
                access.deactivate(s, username="handler", actor="manager", now=utcnow())
            elif end == "revoke":
                access.revoke(s, username="handler", actor="manager", now=utcnow())
            else:
                access.set_password(s, username="handler", password="a-new-secret", ph=access.PasswordHasher(
                    time_cost=1, memory_cost=1024), actor="handler", now=utcnow())
        for instance in (app, other):
            r = instance.test_client().get("/api/v1/tasks", headers=headers)
            assert r.status_code == 401 and r.json["code"] == "unauthorized"
    finally:
        other.extensions["guichet_engine"].dispose()


def test_a_role_changed_in_another_process_is_seen_at_once(app, make_config, clock):
    """The remembered user is not trusted past a change of role: the next request works with the new one."""
    from sqlalchemy import select

    from processes.org.models import User
    from webui.app import create_app

    other = create_app(config=make_config(), clock=clock)
    try:
        headers = {"Authorization": "Bearer " + app.test_client().post(
            "/api/v1/auth/token", json={"username": "clerk", "password": DEMO_PASSWORD}).json["token"]}
        assert app.test_client().get("/api/v1/audit", headers=headers).status_code == 403
        with unit_of_work(other.extensions["guichet"].sessions) as s:
            s.scalars(select(User).where(User.username == "clerk")).one().role = "manager"
        assert app.test_client().get("/api/v1/audit", headers=headers).status_code == 200
    finally:
        other.extensions["guichet_engine"].dispose()
