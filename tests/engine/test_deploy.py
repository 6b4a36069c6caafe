"""Deployment refuses what this product cannot run, naming the element and the reason."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.deploy import DeploymentError, parse

XML = Path("bpmn/internal_transfer.bpmn").read_text("utf-8")
OPS = {"escalate"}
VARIABLES = {"internal_transfer": {"form_id": 1, "handover_sla": "PT4H"}}


def problems(xml: str) -> list[tuple[str, str]]:
    with pytest.raises(DeploymentError) as info:
        parse(xml, operations=OPS, variables=VARIABLES)
    return [(p.element_id, p.message) for p in info.value.problems]


def test_shipped_diagram_parses():
    parsed = parse(XML, operations=OPS, variables=VARIABLES)
    assert parsed.key == "internal_transfer"
    assert parsed.name == "内部移交"


def test_malformed_xml_is_refused():
    assert "XML 格式错误" in problems("<bpmn:definitions")[0][1]


def test_xml_entities_are_not_expanded():
    evil = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + XML.split("?>", 1)[1]
    evil = evil.replace('name="内部移交" isExecutable', 'name="&e;" isExecutable')
    try:
        parsed = parse(evil, operations=OPS, variables=VARIABLES)
    except DeploymentError:
        return
    assert "root:" not in parsed.name


def test_unregistered_service_operation():
    found = problems(XML.replace('serviceTaskOperator id="escalate"', 'serviceTaskOperator id="send_mail"', 1))
    assert ("escalate_credit", "服务任务“逐级上报”: 未注册的服务操作 send_mail; 可用: escalate") in found


def test_condition_outside_the_whitelist():
    found = problems(XML.replace('decision == "return"', 'decision.__class__ == "x"', 1))
    assert found[0][0] == "flow_credit_return" and "条件无效" in found[0][1] and "退回补正" in found[0][1]


def test_bad_timer_duration():
    found = problems(XML.replace('"R2/" + handover_sla', '"R2/PT4X"', 1))
    assert found[0][0] == "late_credit" and "ISO 8601" in found[0][1]


def test_time_date_without_zone():
    xml = XML.replace('<bpmn:timeCycle>"R2/" + handover_sla</bpmn:timeCycle>',
                      '<bpmn:timeDate>"2026-05-01T09:00:00"</bpmn:timeDate>', 1)
    xml = xml.replace('cancelActivity="false" attachedToRef="hop_credit"', 'attachedToRef="hop_credit"', 1)
    found = problems(xml)
    assert found[0][0] == "late_credit" and "时区" in found[0][1]


def test_user_task_outside_any_lane():
    xml = XML.replace("<bpmn:flowNodeRef>hop_credit</bpmn:flowNodeRef>", "", 1)
    found = problems(xml)
    assert found[0][0] == "hop_credit" and "用户任务“信贷部办理”: 用户任务必须位于一个泳道" in found[0][1]


def test_no_executable_process():
    found = problems(XML.replace('isExecutable="true"', 'isExecutable="false"'))
    assert "可执行流程" in found[0][1]


def test_oversized_upload_is_refused():
    assert "文件过大" in problems(XML + " " * (3 * 1024 * 1024))[0][1]


def test_ten_thousand_elements_are_refused():
    tasks = "".join(f'<bpmn:task id="t{i}" />' for i in range(10_000))
    assert "流程元素过多" in problems(XML.replace("</bpmn:process>", tasks + "</bpmn:process>"))[0][1]


def test_a_diagram_cannot_take_another_process_key():
    with pytest.raises(DeploymentError) as info:
        parse(XML, operations=OPS, expected_key="template_approval")
    assert info.value.problems[0].element_id == "internal_transfer"


def test_structurally_broken_bpmn_is_refused_not_crashed():
    broken = XML.replace('targetRef="hop_close"', 'targetRef="nowhere"', 1)
    assert problems(broken)


def test_an_end_must_be_reachable_from_the_start():
    xml = XML.replace('<bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="hop_credit" />', "")
    xml = xml.replace("<bpmn:outgoing>flow_start</bpmn:outgoing>", "").replace("<bpmn:incoming>flow_start</bpmn:incoming>", "")
    assert any(e == "internal_transfer" and "从开始事件无法到达任何结束事件" in m for e, m in problems(xml))
