"""Security headers on every answer; HSTS and Secure session cookies when the site is served over HTTPS."""
from __future__ import annotations

import pytest

from tests.conftest import DEMO_PASSWORD, build_app
from tests.webui.test_pages import csrf


def test_pages_and_api_carry_the_headers(client):
    for path in ("/login", "/api/v1/openapi.json", "/api/v1/tasks"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in r.headers  # plain HTTP, not configured as HTTPS


def login_cookie(app, **environ):
    client = app.test_client()
    page = client.get("/login", **environ).get_data(as_text=True)
    r = client.post("/login", data={"username": "clerk", "password": DEMO_PASSWORD, "csrf_token": csrf(page)}, **environ)
    assert r.status_code == 302
    return r.headers["Set-Cookie"], r


def test_plain_http_cookie_is_not_secure(app):
    cookie, _ = login_cookie(app)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


@pytest.fixture
def https_app(make_config, demo_hash, request):
    app = build_app(make_config(server=request.param), demo_hash)
    yield app
    app.extensions["guichet_engine"].dispose()


@pytest.mark.parametrize("https_app", [{"https": True}], indirect=True)
def test_https_site_sets_hsts_and_secure_cookies(https_app):
    cookie, r = login_cookie(https_app, base_url="https://guichet.example",
                             headers={"Referer": "https://guichet.example/login"})  # CSRF checks it over HTTPS
    assert "Secure" in cookie
    assert "max-age" in r.headers["Strict-Transport-Security"]


@pytest.mark.parametrize("https_app", [{"trusted_proxies": 1}], indirect=True)
def test_a_trusted_proxy_saying_https_makes_the_cookie_secure(https_app):
    cookie, _ = login_cookie(https_app, headers={"X-Forwarded-Proto": "https", "Referer": "https://localhost/login"})
    assert "Secure" in cookie


def test_an_untrusted_forwarded_header_is_ignored(app):
    cookie, _ = login_cookie(app, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in cookie


def test_no_template_has_an_inline_script_or_handler():
    """The CSP runs no inline script: a handler attribute (onclick=…) or a <script> without src (JSON data aside) would be dead."""
    import re
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "webui" / "templates"
    found = []
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        pattern = r'\son[a-z]+\s*=|<script(?![^>]*\b(?:src=|type="application/json"))[^>]*>'
        found += [f"{path.name}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert found == []
