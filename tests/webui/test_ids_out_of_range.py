"""An id outside the id columns' range is a 404 on every route that takes one, never a 500."""
from __future__ import annotations

import re

import pytest

from tests.webui.test_pages import csrf
from tests.conftest import DEMO_PASSWORD

HUGE = [2**31, 2**63, 10**30]


def int_routes(app):
    """(path template, methods) of every route with an <int:…> part."""
    for rule in app.url_map.iter_rules():
        if any(type(conv).__name__ == "IdConverter" for conv in rule._converters.values()):
            yield rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"})


def fill(template: str, number: int) -> str:
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: str(number) if m.group(1) == "int" else "internal_transfer", template)


@pytest.mark.parametrize("number", HUGE)
def test_every_id_route_answers_404(app, auth, number):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "manager", "password": DEMO_PASSWORD, "csrf_token": csrf(page)})
    headers = auth("manager")
    routes = list(int_routes(app))
    assert len(routes) >= 25
    for template, methods in routes:
        path = fill(template, number)
        for method in methods:
            r = client.open(path, method=method, headers=headers if path.startswith("/api/") else {},
                            json={} if method in ("POST", "PUT") and path.startswith("/api/") else None)
            assert r.status_code == 404, (method, path, r.status_code, r.get_data(as_text=True)[:200])


def test_the_openapi_document_declares_the_range(client):
    spec = client.get("/api/v1/openapi.json").json
    (param,) = [p for p in spec["paths"]["/api/v1/forms/{form_id}"]["parameters"] if p["name"] == "form_id"]
    assert param["schema"] == {"type": "integer", "format": "int32", "minimum": 0, "maximum": 2**31 - 1}


def test_an_id_in_range_still_works(client, auth, submit_form):
    form = submit_form()
    assert client.get(f"/api/v1/forms/{form['id']}", headers=auth("clerk")).status_code == 200
    assert client.get("/api/v1/forms/2147483647", headers=auth("clerk")).status_code == 404
