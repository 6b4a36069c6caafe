"""Every demo user walks every page their menu offers (with work in every stage's inbox): no page shows a raw code
(snake_case ids, BPMN types, HTTP statuses as headings, clause numbers), nothing errors."""
from __future__ import annotations

import json
import re

import pytest

from conftest import DEMO_PASSWORD, GOOD_FORM

pytestmark = pytest.mark.browser
USERS = ("clerk", "handler", "head", "manager", "manager2", "archivist", "archive_head", "inspector", "hr")
RAW = [re.compile(p) for p in (
    r"\b[a-z]+(?:_[a-z]+)+\b",                # hop_credit, internal_transfer, mobile_no
    r"\b(?:User|Service|Script)Task\b",        # BPMN types
    r"\b(?:bpmn|form|query|archive|destruction)\.[a-z_]+\b",  # audit action codes
    r"\(R\d+(?:\.\d+)+\)",                     # clause numbers
    r"\b[a-z_]+:\d+\b",                        # object refs like deployment_request:1
)]
ALLOWED = {"guichet-demo", "archive_head"}  # what a user may legitimately read: the password, login names


def _seed(live_server) -> None:
    client = live_server.app.test_client()
    tokens = {}

    def auth(user):
        if user not in tokens:
            r = client.post("/api/v1/auth/token", json={"username": user, "password": DEMO_PASSWORD})
            tokens[user] = {"Authorization": f"Bearer {r.json['token']}"}
        return tokens[user]

    template = next(t["id"] for t in client.get("/api/v1/templates", headers=auth("clerk")).json if t["code"] == "general")
    for _ in range(2):
        client.post("/api/v1/forms", headers=auth("clerk"), json={"template_id": template, "data": GOOD_FORM, "submit": True})
    item = client.get("/api/v1/tasks", headers=auth("handler")).json[0]
    client.post(f"/api/v1/tasks/{item['id']}/claim", headers=auth("handler"))
    client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"),
                json={"data": {"decision": "return", "comment": "证件号码有误"}})


def _raw_codes(text: str) -> list[str]:
    found = []
    for pattern in RAW:
        found += [m.group(0) for m in pattern.finditer(text) if m.group(0) not in ALLOWED]
    return found


@pytest.mark.timeout(300)
@pytest.mark.parametrize("user", USERS)
def test_every_page_every_user_reads_is_in_words(new_page, live_server, user):
    _seed(live_server)
    problems = {}
    if True:
        page = new_page(user)
        links = sorted({page.locator(".topbar nav a").nth(i).get_attribute("href")
                        for i in range(page.locator(".topbar nav a").count())})
        # and one level down: the rows each list links to (tasks, forms, procedures…), a few of each
        seen = set()
        for link in links:
            page.goto(link)
            hrefs = [page.locator("main a[href^='/']").nth(i).get_attribute("href")
                     for i in range(min(page.locator("main a[href^='/']").count(), 6))]
            for target in [link] + hrefs:
                base = target.split("?")[0].split("#")[0]
                if base in seen or base.endswith((".pdf", ".bpmn", ".csv", ".zip", ".xlsx", ".png", ".json")) or "/download" in base \
                        or "/logout" in base or "/lang/" in base:
                    continue
                seen.add(base)
                response = page.goto(target)
                if response is None or response.status >= 500:
                    problems[f"{user} {target}"] = f"HTTP {response.status if response else '?'}"
                    continue
                text = page.locator("main").inner_text()
                raw = _raw_codes(text)
                if raw:
                    problems[f"{user} {target}"] = sorted(set(raw))[:8]
    assert problems == {}, json.dumps(problems, ensure_ascii=False)
