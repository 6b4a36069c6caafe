"""The decisions a user task offers are declared on the task and checked at deploy against its outgoing conditions."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import processes
from engine import Runtime
from engine.db import unit_of_work
from engine.deploy import DeploymentError, parse
from engine.models import WorkItem

XML = Path("bpmn/internal_transfer.bpmn").read_text("utf-8")
RETURN = '<bpmn:conditionExpression>decision == "return"</bpmn:conditionExpression>'
DECLARED = '<spiffworkflow:property name="decisions" value="complete,return" />'


def _problems(xml: str) -> list[str]:
    with pytest.raises(DeploymentError) as info:
        parse(xml, operations={"escalate"})
    # A problem's message names its element first (e.g. 用户任务“信贷部办理”: …); what follows is compared.
    return [f"{p.element_id}: {p.message.split('”: ', 1)[-1]}" for p in info.value.problems]


def _deploy_and_start(services, runtime: Runtime, xml: str):
    with unit_of_work(services.sessions) as s:
        runtime.deploy(s, xml, actor="manager", now=services.clock())
    with unit_of_work(services.sessions) as s:
        return runtime.start(s, "internal_transfer", data={"handover_sla": "PT4H"}, actor="t", now=services.clock())


def test_a_condition_written_with_in_keeps_its_button(services, client, auth):
    """Before decisions were declared they were read from `decision == "…"` in the condition: `in` lost the button."""
    xml = XML.replace(RETURN, '<bpmn:conditionExpression>decision in ["return"]</bpmn:conditionExpression>', 1)
    started = _deploy_and_start(services, services.runtime, xml)
    (item,) = started.opened
    detail = client.get(f"/api/v1/tasks/{item.id}", headers=auth("handler")).json
    assert detail["decisions"] == ["complete", "return"]
    with unit_of_work(services.sessions) as s:
        services.runtime.complete(s, item.id, actor="handler", now=services.clock(), data={"decision": "return"})
    with unit_of_work(services.sessions) as s:
        open_tasks = s.scalars(select(WorkItem.task_name).where(WorkItem.status == "open", WorkItem.kind == "task"))
        assert list(open_tasks) == ["fix_intake"]


def test_the_declared_order_is_the_order_offered(services):
    xml = XML.replace(DECLARED, '<spiffworkflow:property name="decisions" value="return, complete" />', 1)
    (item,) = _deploy_and_start(services, services.runtime, xml).opened
    with unit_of_work(services.sessions) as s:
        assert services.runtime.decisions(s, item) == ("return", "complete")


def test_a_task_that_declares_nothing_offers_finishing_it(services):
    (item,) = _deploy_and_start(services, services.runtime, XML).opened
    with unit_of_work(services.sessions) as s:
        result = services.runtime.complete(s, item, actor="handler", now=services.clock(), data={"decision": "return"})
    (fix,) = result.opened
    with unit_of_work(services.sessions) as s:
        assert fix.task_name == "fix_intake" and services.runtime.decisions(s, fix) == ("complete",)


def test_deploy_refuses_a_tested_value_the_task_does_not_declare():
    xml = XML.replace(RETURN, '<bpmn:conditionExpression>decision == "reject"</bpmn:conditionExpression>', 1)
    assert any(p.startswith("hop_credit: 条件检验了未声明的决定 “reject”") for p in _problems(xml))


def test_deploy_refuses_conditions_on_decision_when_the_task_declares_none():
    xml = XML.replace(DECLARED, "", 1)
    assert any(p.startswith("hop_credit: 任务后的条件检验决定 “return”, 请在任务上声明可选决定") for p in _problems(xml))


def test_deploy_refuses_a_declared_value_no_path_takes():
    # Without a default flow, "complete" (declared) leads nowhere.
    xml = XML.replace('<bpmn:exclusiveGateway id="gw_credit" name="办理结果" default="flow_credit_ok">',
                      '<bpmn:exclusiveGateway id="gw_credit" name="办理结果">', 1)
    xml = xml.replace('<bpmn:sequenceFlow id="flow_credit_ok" name="移交" sourceRef="gw_credit" targetRef="hop_close" />',
                      '<bpmn:sequenceFlow id="flow_credit_ok" name="移交" sourceRef="gw_credit" targetRef="hop_close">'
                      '<bpmn:conditionExpression>decision == "forward"</bpmn:conditionExpression></bpmn:sequenceFlow>', 1)
    found = _problems(xml.replace(DECLARED, '<spiffworkflow:property name="decisions" value="complete,forward,return" />', 1))
    assert any(p.startswith("hop_credit: 声明的决定 “complete” 没有对应的出口条件") for p in found)


def test_the_shipped_diagrams_declare_their_decisions(services):
    for path in Path("bpmn").glob("*.bpmn"):
        services.runtime.validate(path.read_text("utf-8"))  # with what each process starts with, trial run included


def test_a_function_registered_after_the_runtime_was_built_reaches_the_scripts(services):
    """Deploy validation accepts a diagram calling a registered function; running it must find the function too."""
    runtime = Runtime()
    processes.register_all(runtime, services.config)
    runtime.register_function("returned", lambda decision: decision == "return")
    xml = XML.replace(RETURN, "<bpmn:conditionExpression>returned(decision)</bpmn:conditionExpression>", 1)
    (item,) = _deploy_and_start(services, runtime, xml).opened
    with unit_of_work(services.sessions) as s:
        result = runtime.complete(s, item.id, actor="handler", now=services.clock(), data={"decision": "return"})
    assert [i.task_name for i in result.opened] == ["fix_intake"]
