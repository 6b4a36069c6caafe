"""A manager changes a procedure in the browser modeler: lane department and SLA in the properties panel,
a broken condition shown on its element, fixed, deployed as version N+1; an instance page highlights its step."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import shoot, submit_new_form

pytestmark = pytest.mark.browser


def click_element(page, element_id: str) -> None:
    """Select an element as a click would; a connection's centre may lie on a lane, so it is selected directly."""
    if element_id.startswith("flow_"):
        page.evaluate("id => { const m = window.guichetModeler; "
                      "m.get('selection').select(m.get('elementRegistry').get(id)); }", element_id)
    else:
        page.locator(f'#canvas [data-element-id="{element_id}"]').first.click(force=True)
    expect(page.locator("#p-id")).to_have_attribute("title", element_id)  # the id on hover; the name in words


def test_manager_edits_validates_and_deploys(new_page):
    page = new_page("manager")
    page.get_by_role("link", name="流程管理").click()
    page.get_by_role("link", name="内部移交").click()
    expect(page.locator("table.versions tr[data-version]")).to_have_count(1)
    page.get_by_role("link", name="在建模器中编辑最新版本").click()
    expect(page.locator('#canvas[data-ready="1"]')).to_be_attached()

    click_element(page, "Lane_credit")  # the credit lane now belongs to 风险合规部
    page.locator("#p-lane").select_option("风险合规部")
    click_element(page, "hop_credit")  # its SLA (the boundary timer) becomes two hours: a number and a unit
    expect(page.locator("#p-sla-default")).to_be_checked()  # "R2/" + handover_sla, read back as the default
    page.locator("#p-sla-number").fill("2")
    page.locator("#p-sla-number").dispatch_event("change")
    page.locator("#p-sla-unit").select_option(label="小时")
    expect(page.locator("#p-sla-preview")).to_contain_text("每隔 2 小时 逐级上报一次, 共 2 次")
    shoot(page, "19-modeler-sla-number-and-unit")
    expect(page.locator("#p-decisions")).to_have_value("complete,return")  # the decisions it declares, in words too
    expect(page.locator('.p-decision[value="complete"]')).to_be_checked()
    expect(page.locator('.p-decision[value="approve"]')).not_to_be_checked()
    page.get_by_label("退回", exact=True).uncheck()  # the gateway after it still tests "return"
    expect(page.locator("#p-decisions")).to_have_value("complete")
    page.get_by_role("button", name="校验").click()
    expect(page.locator('.problem-note[data-problem-for="hop_credit"]')).to_contain_text("未声明的决定 “return”")
    shoot(page, "20-modeler-undeclared-decision")
    # the problem's note now covers the task's shape: select the task as the selection service would
    page.evaluate("() => { const m = window.guichetModeler; "
                  "m.get('selection').select(m.get('elementRegistry').get('hop_credit')); }")
    page.locator("#p-decisions").fill("complete，return")  # a full-width comma is read as a comma
    page.locator("#p-decisions").dispatch_event("change")
    expect(page.locator('.p-decision[value="return"]')).to_be_checked()
    click_element(page, "flow_credit_return")  # break the return condition
    page.locator("#p-condition").fill("decision ==")
    page.locator("#p-condition").dispatch_event("change")

    page.get_by_role("button", name="校验").click()
    note = page.locator('.problem-note[data-problem-for="flow_credit_return"]')
    expect(note).to_contain_text("条件无效")
    expect(page.locator("#status")).to_contain_text("校验未通过")
    shoot(page, "20-modeler-problem-on-element")

    click_element(page, "flow_credit_return")
    page.locator("#p-condition").fill('decision == "return"')
    page.locator("#p-condition").dispatch_event("change")
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#status")).to_contain_text("校验通过")
    expect(note).to_have_count(0)
    page.get_by_role("button", name="部署为新版本").click()  # without a change note: refused, in words
    expect(page.locator("#note-error")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("请填写变更说明")
    page.locator("#change-note").fill("信贷部并入风险合规部, 时限改为 2 小时")
    page.get_by_role("button", name="部署为新版本").click()
    page.wait_for_url(re.compile(r"/procedures/internal_transfer$"))
    expect(page.locator(".flash")).to_contain_text("已部署为版本 2")
    expect(page.locator("table.versions tr[data-version]")).to_have_count(2)
    shoot(page, "21-procedure-versions")

    page.locator("form.filters button").click()  # compare v1 → v2, side by side
    expect(page.locator('#cmp-new[data-ready="1"]')).to_be_attached()
    expect(page.locator('#cmp-new [data-element-id="Lane_credit"]').first).to_have_class(re.compile(r"\bdiff-changed\b"))
    expect(page.locator('#cmp-old [data-element-id="late_credit"]').first).to_have_class(re.compile(r"\bdiff-changed\b"))
    shoot(page, "24-procedure-compare")

    xml = page.request.get("/procedures/internal_transfer/versions/2.bpmn").text()
    assert 'name="风险合规部"' in xml and "R2/PT2H" in xml and 'decision == "return"' in xml
    assert '<spiffworkflow:property name="decisions" value="complete,return"' in xml


def test_instance_page_highlights_the_current_step(new_page):
    clerk = new_page("clerk")
    number = submit_new_form(clerk)
    page = new_page("manager")
    page.goto("/procedures/internal_transfer")
    expect(page.locator('#heat[data-ready="1"]')).to_be_attached()
    expect(page.locator('.heat-badge[data-step="hop_credit"]')).to_contain_text("等待 1")
    shoot(page, "22-procedure-heat-map")
    page.goto("/instances/1")
    expect(page.locator("h1")).to_contain_text("流程实例")
    expect(page.locator('#diagram[data-ready="1"]')).to_be_attached()
    expect(page.locator('#diagram [data-element-id="hop_credit"]').first).to_have_class(re.compile(r"\bcurrent\b"))
    expect(page.locator("main")).to_contain_text(number)
    shoot(page, "23-instance-page")
