"""Shared fixtures: a real database (SQLite file, or PostgreSQL when GUICHET_TEST_DATABASE_URL says so),
the app with the demo organisation and the shipped diagrams, API tokens, and a fixed clock."""
from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from engine.config import ROOT, load_config
from engine.db import Base, unit_of_work
from engine.migrate import upgrade

PG_URL = os.environ.get("GUICHET_TEST_DATABASE_URL", "")

# CI explores the same property-test examples every run (reproducible); developers get fresh ones.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")
DEMO_PASSWORD = "guichet-demo"

# Tests that start a scheduler thread or an HTTP server get a hard timeout of their own (pytest-timeout):
# a deadlock in a thread's shutdown must fail that test, never hang the whole run.
LIVE_FIXTURES = {"live", "live_server", "new_page"}
LIVE_TIMEOUT_SECONDS = 180


def pytest_collection_modifyitems(items):
    """Give every test that starts a scheduler or server a hard timeout unless it chose its own."""
    for item in items:
        if item.get_closest_marker("timeout") is None and (
                LIVE_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("browser")):
            item.add_marker(pytest.mark.timeout(LIVE_TIMEOUT_SECONDS))

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai


class FixedClock:
    """A clock tests move by hand; SLA logic reads only this."""

    def __init__(self, start: datetime = START):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        """Move the clock forward."""
        self.now += timedelta(**delta)
        return self.now


def _worker() -> str:
    """This test process's name, so parallel runs (xdist workers, several checkouts) use their own database."""
    return os.environ.get("GUICHET_TEST_DB_PREFIX", "") + os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """A migrated empty database: a SQLite file to copy per test, or a PostgreSQL database to truncate per test."""
    if PG_URL:
        base, _, _name = PG_URL.rpartition("/")
        dbname = f"guichet_test_{_worker()}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))
        admin.dispose()
        url = f"{base}/{dbname}"
        upgrade(url)
        return url
    path = tmp_path_factory.mktemp("template") / "guichet.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(database_template, tmp_path):
    """A fresh, migrated database for one test."""
    if PG_URL:
        engine = create_engine(database_template)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return database_template
    path = tmp_path / "guichet.db"
    shutil.copy(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def demo_hash():
    """One argon2 hash of the demo password, reused for speed (cheap parameters, tests only)."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024).hash(DEMO_PASSWORD)


@pytest.fixture
def clock():
    """The fixed clock the app under test reads."""
    return FixedClock()


@pytest.fixture
def make_config(database_url, tmp_path):
    """Settings for one test, with overrides per section."""

    def _make(**sections) -> dict:
        overrides = {
            "app": {"instance_path": str(tmp_path / "instance"), "secret_key": "test-secret", "demo": True},
            "database": {"url": database_url},
            "security": {"argon2_time_cost": 1, "argon2_memory_cost": 1024},
            "scheduler": {"tick_seconds": 0.2},
        }
        for section, values in sections.items():
            overrides.setdefault(section, {}).update(values)
        return load_config(env={}, overrides=overrides)

    return _make


def build_app(config: dict, demo_hash: str, clock=None):
    """An app over a database holding the demo organisation and every shipped diagram."""
    from processes.demo import seed_demo
    from webui.app import create_app

    app = create_app(config=config, clock=clock)
    services = app.extensions["guichet"]
    with unit_of_work(services.sessions) as session:
        seed_demo(session, password_hash=demo_hash, now=START)
        for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
            services.runtime.deploy(session, path.read_text("utf-8"), actor="system", now=START)
    return app


@pytest.fixture
def app(make_config, demo_hash, clock):
    """The app on a fresh database, at the fixed clock."""
    app = build_app(make_config(), demo_hash, clock)
    yield app
    app.extensions["guichet_engine"].dispose()


@pytest.fixture
def services(app):
    """The app's services (sessions, runtime, config, clock)."""
    return app.extensions["guichet"]


@pytest.fixture
def client(app):
    """A Flask test client."""
    return app.test_client()


@pytest.fixture
def auth(client):
    """auth("clerk") -> headers with a bearer token for that demo user."""
    cache = {}

    def _auth(username: str) -> dict:
        if username not in cache:
            r = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.json
            cache[username] = {"Authorization": f"Bearer {r.json['token']}"}
        return cache[username]

    return _auth


GOOD_FORM = {
    "business_type": "个人贷款申请",
    "customer_name": "张三",
    "content": "申请个人住房贷款 50 万元",
    "handled_at": "2026-03-02 09:30",
    "handled_by": "陈柜员",
}


@pytest.fixture
def submit_form(client, auth):
    """submit_form(**changes) -> the created form (JSON) after the clerk submits it."""

    def _submit(**changes):
        template_id = next(t["id"] for t in client.get("/api/v1/templates", headers=auth("clerk")).json
                           if t["code"] == "general")
        r = client.post("/api/v1/forms", headers=auth("clerk"),
                        json={"template_id": template_id, "data": {**GOOD_FORM, **changes}, "submit": True})
        assert r.status_code == 201, r.json
        return r.json

    return _submit


# A template with personal information (designed by handler, reviewed by head, approved by manager).
KYC_FIELDS = [
    {"code": "business_type", "label": "业务类型", "type": "text", "required": True},
    {"code": "customer_name", "label": "客户姓名", "type": "text", "required": True},
    {"code": "customer_id", "label": "身份证号码", "type": "id_card", "required": True, "sensitive": True},
    {"code": "card_no", "label": "银行卡号", "type": "bank_card", "required": False, "sensitive": True},
    {"code": "mobile", "label": "手机号码", "type": "mobile", "required": False},
    {"code": "amount", "label": "贷款金额", "type": "amount", "required": True},
    {"code": "birth", "label": "签约日期", "type": "date", "required": False},
    {"code": "count", "label": "份数", "type": "number", "required": False},
    {"code": "term", "label": "期限", "type": "choice", "required": True, "choices": ["12个月", "24个月"]},
    {"code": "proof", "label": "附件", "type": "attachment", "required": False},
    {"code": "content", "label": "业务内容", "type": "text", "required": True},
    {"code": "handled_at", "label": "办理时间", "type": "datetime", "required": True},
    {"code": "handled_by", "label": "经办人员", "type": "text", "required": True},
]
KYC_FORM = {**GOOD_FORM, "customer_id": "11010519491231002X", "card_no": "6222020200112345679",
            "mobile": "13812345678", "amount": "500000", "term": "12个月"}


def approve_template(client, auth, name: str = "个人贷款申请单", fields=None) -> int:
    """Design a template as handler and let head and manager approve it; returns its id."""
    r = client.post("/api/v1/templates", headers=auth("handler"),
                    json={"name": name, "business_type": "个人贷款", "fields": fields or KYC_FIELDS, "submit": True})
    assert r.status_code == 201, r.json
    for user in ("head", "manager"):
        (item,) = client.get("/api/v1/tasks", headers=auth(user), query_string={"process": "template_approval"}).json
        done = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth(user),
                           json={"data": {"decision": "approve", "comment": ""}})
        assert done.status_code == 200, done.json
    return r.json["id"]


@pytest.fixture
def kyc_template(client, auth):
    """The id of an approved template holding an ID number, a bank card and a mobile number."""
    return approve_template(client, auth)
