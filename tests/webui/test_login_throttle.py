"""Brute force: per-account delay and lockout in the database (so every process sees it), per-client rate
limits, one message for locked, unknown and wrong, and an audit event for a lockout."""
from __future__ import annotations

from datetime import timedelta

import pytest

import webui.api.auth
import webui.pages.auth
from engine.db import utcnow
from tests.conftest import DEMO_PASSWORD, build_app
from tests.webui.test_pages import csrf

TOKEN = "/api/v1/auth/token"


@pytest.fixture
def app(make_config, demo_hash):
    """The app with the per-client limit out of the way, so the per-account rules show alone."""
    app = build_app(make_config(security={"login_rate_limit": "1000 per minute"}), demo_hash)
    yield app
    app.extensions["guichet_engine"].dispose()


def at(monkeypatch, when):
    for module in (webui.api.auth, webui.pages.auth):
        monkeypatch.setattr(module, "session_clock", lambda: when)


def test_fifty_wrong_passwords_then_the_right_one_is_refused(app, client, monkeypatch):
    now = utcnow()
    at(monkeypatch, now)
    bodies = {client.post(TOKEN, json={"username": "handler", "password": f"wrong{i}"}).get_data(as_text=True)
              for i in range(50)}
    right = client.post(TOKEN, json={"username": "handler", "password": DEMO_PASSWORD})
    unknown = client.post(TOKEN, json={"username": "nobody", "password": "x"})
    assert right.status_code == 401 and unknown.status_code == 401
    assert bodies == {right.get_data(as_text=True)} == {unknown.get_data(as_text=True)}  # one message for all
    at(monkeypatch, now + timedelta(minutes=16))  # the lockout is served
    assert client.post(TOKEN, json={"username": "handler", "password": DEMO_PASSWORD}).status_code == 200
    events = client.get("/api/v1/audit", headers={"Authorization": "Bearer " + client.post(
        TOKEN, json={"username": "manager", "password": DEMO_PASSWORD}).json["token"]},
        query_string={"action": "auth.lockout"}).json
    assert len(events) >= 1 and events[0]["details"]["username"] == "handler"


def test_the_delay_grows_after_the_free_failures(app, client, monkeypatch):
    now = utcnow()
    at(monkeypatch, now)
    for i in range(3):
        client.post(TOKEN, json={"username": "clerk", "password": "wrong"})
    # after three free failures each attempt waits 1 s, 2 s, 4 s … after the last; one that does not wait counts
    for later, code in ((0.5, 401), (1.6, 401), (5.7, 200)):
        at(monkeypatch, now + timedelta(seconds=later))
        assert client.post(TOKEN, json={"username": "clerk", "password": DEMO_PASSWORD}).status_code == code, later


def test_a_lockout_holds_in_another_process(make_config, demo_hash, monkeypatch):
    first = build_app(make_config(), demo_hash)
    second = create_second_app(first)
    try:
        at(monkeypatch, utcnow())
        for i in range(10):
            first.test_client().post(TOKEN, json={"username": "head", "password": "wrong"})
        assert second.test_client().post(TOKEN, json={"username": "head", "password": DEMO_PASSWORD}).status_code == 401
    finally:
        second.extensions["guichet_engine"].dispose()
        first.extensions["guichet_engine"].dispose()


def create_second_app(first):
    from webui.app import create_app

    return create_app(config=first.extensions["guichet"].config)


def test_the_login_page_is_throttled_too(app, monkeypatch):
    at(monkeypatch, utcnow())
    client = app.test_client()
    for i in range(10):
        page = client.get("/login").get_data(as_text=True)
        r = client.post("/login", data={"username": "archivist", "password": "wrong", "csrf_token": csrf(page)})
        assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    r = client.post("/login", data={"username": "archivist", "password": DEMO_PASSWORD, "csrf_token": csrf(page)})
    assert r.status_code == 401


@pytest.fixture
def strict_app(make_config, demo_hash):
    app = build_app(make_config(security={"login_rate_limit": "5 per minute"}), demo_hash)
    yield app
    app.extensions["guichet_engine"].dispose()


def test_per_client_rate_limit(strict_app):
    client = strict_app.test_client()
    codes = [client.post(TOKEN, json={"username": f"user{i}", "password": "x"}).status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    r = client.post(TOKEN, json={"username": "clerk", "password": DEMO_PASSWORD})
    assert r.status_code == 429 and r.json["code"] == "too_many_requests" and "频繁" in r.json["message"]
    assert "Retry-After" in r.headers
