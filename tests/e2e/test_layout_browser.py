"""Nothing hides anything: heat-map badges clear the timers on a step's edge, the modeler's palette clears the
lane labels, the handover table's short cells stay on one line (never "已退/回"). Checked by bounding boxes."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import DEMO_PASSWORD, GOOD_FORM

from .helpers import shoot

pytestmark = pytest.mark.browser


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def _api(live_server):
    client = live_server.app.test_client()
    tokens = {}

    def auth(user):
        if user not in tokens:
            r = client.post("/api/v1/auth/token", json={"username": user, "password": DEMO_PASSWORD})
            tokens[user] = {"Authorization": f"Bearer {r.json['token']}"}
        return tokens[user]

    return client, auth


def _work_at_every_step(live_server) -> int:
    """Forms waiting at 信贷部办理, at 营业部补正 (returned) and at 营业部办结 (handed on): every step has a badge."""
    client, auth = _api(live_server)
    template = next(t["id"] for t in client.get("/api/v1/templates", headers=auth("clerk")).json if t["code"] == "general")
    ids = [client.post("/api/v1/forms", headers=auth("clerk"), json={"template_id": template, "data": GOOD_FORM,
                                                                     "submit": True}).json["id"] for _ in range(3)]
    items = client.get("/api/v1/tasks", headers=auth("handler")).json
    for item, decision in zip(items[:2], ("complete", "return")):
        client.post(f"/api/v1/tasks/{item['id']}/claim", headers=auth("handler"))
        r = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"),
                        json={"data": {"decision": decision, "comment": "客户证件号码有误"}})
        assert r.status_code == 200, r.json
    return ids[1]  # the returned one


def test_heat_map_badges_clear_the_timers(new_page, live_server):
    _work_at_every_step(live_server)
    page = new_page("manager")
    page.goto("/procedures/internal_transfer")
    expect(page.locator('#heat[data-ready="1"]')).to_be_attached()
    badges = page.locator(".heat-badge")
    expect(badges).to_have_count(3)
    timers = {t: page.locator(f'#heat [data-element-id="{t}"] .djs-visual').first.bounding_box()
              for t in ("late_fix", "late_close", "late_credit", "late_fix_label", "late_close_label", "late_credit_label")}
    for i in range(badges.count()):
        box = badges.nth(i).bounding_box()
        hidden = [t for t, timer in timers.items() if _overlap(box, timer)]
        assert hidden == [], f"{badges.nth(i).get_attribute('data-step')} badge covers {hidden}"
    page.locator("#heat").scroll_into_view_if_needed()
    shoot(page, "p12-after-heat-map-badges", full_page=False)


def test_the_palette_clears_the_lane_labels(new_page):
    page = new_page("manager")
    page.goto("/procedures/internal_transfer/modeler")
    expect(page.locator('#canvas[data-ready="1"]')).to_be_attached()
    palette = page.locator("#canvas .djs-palette").bounding_box()
    labels = page.locator('#canvas [data-element-id^="Lane_"] .djs-visual text, '
                          '#canvas [data-element-id="Participant_transfer"] .djs-visual text')
    assert labels.count() >= 3
    for i in range(labels.count()):
        assert not _overlap(palette, labels.nth(i).bounding_box()), labels.nth(i).inner_text()
    page.locator('#canvas [data-element-id="hop_credit"]').first.click(force=True)
    expect(page.locator("#p-type")).to_have_text("人工环节")  # in words, not "hop_credit UserTask"
    expect(page.locator("#p-id")).to_have_text("信贷部办理")
    expect(page.locator("#p-id")).to_have_attribute("title", "hop_credit")
    shoot(page, "p12-after-modeler-palette", full_page=False)


def test_the_handover_table_keeps_short_cells_on_one_line(new_page, live_server):
    returned = _work_at_every_step(live_server)
    page = new_page("clerk")
    page.set_viewport_size({"width": 900, "height": 900})  # a counter's small screen
    page.goto(f"/forms/{returned}")
    rows = page.locator("table.handovers tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table.handovers")).to_contain_text("已退回")
    cells = page.locator("table.handovers td.status, table.handovers th, table.handovers td:nth-child(4)")
    for i in range(cells.count()):
        lines = cells.nth(i).evaluate(
            "el => { const r = document.createRange(); r.selectNodeContents(el); return r.getClientRects().length; }")
        text = cells.nth(i).inner_text()
        # one line box per word group: a broken word would give two rects on different lines
        tops = cells.nth(i).evaluate(
            "el => { const r = document.createRange(); r.selectNodeContents(el);"
            " return [...new Set([...r.getClientRects()].map(x => Math.round(x.top)))].length; }")
        assert tops == 1, f"{text!r} wraps onto {tops} lines ({lines} boxes)"
    page.locator("table.handovers").scroll_into_view_if_needed()
    shoot(page, "p12-after-handover-table", full_page=False)
