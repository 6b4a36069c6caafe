"""Hostile and foreign diagrams (tests/engine/corpus): each is refused at validation with a Chinese message on
its element, or accepted as the literal it obviously is and run through each path."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.budget import Limits
from engine.deploy import DeploymentError, parse

CORPUS = Path(__file__).parent / "corpus"
OPS = {"escalate"}
VARIABLES = {"internal_transfer": {"form_id": 1, "handover_sla": "PT4H"}}

# file: [(element id, words the message must hold), ...]
REFUSED = {
    "self_call.bpmn": [("again", "循环调用 (internal_transfer → internal_transfer)")],
    "mutual_call.bpmn": [("call_a", "循环调用 (internal_transfer → review → internal_transfer)")],
    "timer_zero_cycle.bpmn": [("late", "没有重复次数"), ("late", "短于下限 1 分钟")],
    "timer_every_second.bpmn": [("late", "没有重复次数"), ("late", "短于下限 1 分钟")],
    "timer_many_repeats.bpmn": [("late", "重复 1000 次, 超过上限 10 次")],
    "timer_cron.bpmn": [("late", "cron 写法")],
    "timer_juel.bpmn": [("late", "JUEL")],
    "timer_unknown_variable.bpmn": [("late", "没有的变量 escalation_sla (流程启动时有: form_id、handover_sla)")],
    "tasks_outside_lanes.bpmn": [("check", "任务“核对材料”: 等待人员办理的任务必须位于一个泳道"),
                                 ("stamp", "手工任务“盖章”: 等待人员办理的任务必须位于一个泳道")],
    "unsupported_kinds.bpmn": [("notify", "发送任务“通知客户”: 不支持该类元素"),
                               ("rules", "业务规则任务“评分”: 不支持该类元素")],
    "script_task_without_script.bpmn": [("transform", "脚本语言 javascript 不受支持"), ("empty", "脚本任务没有脚本")],
    "pre_post_scripts.bpmn": [("hop", "前置脚本无效"), ("hop", "后置脚本无效")],
    "conditions_foreign.bpmn": [("f_juel", "JUEL"), ("f_number", "必须是“是/否”")],
    "condition_unknown_name.bpmn": [("f_risk", "试运行失败 (经过: 信贷部办理[办理完成]): 未知名称: risk_level")],
    "script_loop.bpmn": [("again", "超出单步预算: 一步之内运行了超过 500 个流程节点")],
    "fan_out.bpmn": [("split", "有 600 条出口连线, 上限 50 条")],
    "two_executable_pools.bpmn": [("external_copy", "现有 2 个: “营业厅”(internal_transfer)、“合作方”(external_copy)")],
    "camunda_assignee_class_external.bpmn": [("hop", "camunda:assignee"), ("mail", "camunda:class"),
                                             ("worker", "external task")],
    "data_association_dangling.bpmn": [("hop", "数据关联指向的数据对象不存在")],
    "deep_nesting.bpmn": [("", "元素嵌套超过 40 层")],
}
ACCEPTED = ["timer_unquoted_sla.bpmn", "timer_camunda_duration.bpmn", "timer_unquoted_date.bpmn",
            "camunda_candidate_groups.bpmn"]


def refusal(name: str) -> list[tuple[str, str]]:
    with pytest.raises(DeploymentError) as info:
        parse((CORPUS / name).read_text("utf-8"), operations=OPS, variables=VARIABLES)
    return [(p.element_id, p.message) for p in info.value.problems]


def test_the_corpus_is_covered():
    assert sorted(p.name for p in CORPUS.glob("*.bpmn")) == sorted([*REFUSED, *ACCEPTED])


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_on_the_element_with_every_problem(name):
    found = refusal(name)
    for element, words in REFUSED[name]:
        assert any(e == element and words in m for e, m in found), (element, words, found)
    assert len(found) == len(REFUSED[name]), found  # one answer, each problem once


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_messages_are_chinese_without_python_or_spiffworkflow_text(name):
    for _element, message in refusal(name):
        assert re.search(r"[\u4e00-\u9fff]", message)
        assert not re.search(r"<Element|0x[0-9a-f]{6}|Traceback|Error:|invalid syntax|leading zeros|"
                             r"was not found|not supported|Cannot resolve", message), message


@pytest.mark.parametrize("name", ACCEPTED)
def test_foreign_literals_and_candidate_groups_are_accepted_and_run(name):
    parsed = parse((CORPUS / name).read_text("utf-8"), operations=OPS, variables=VARIABLES)
    assert parsed.trial.complete and parsed.trial.problems == []
    assert {path.outcome for path in parsed.trial.paths} <= {"completed", "timeout"}
    assert any(path.steps and path.steps[-1].action == "complete" for path in parsed.trial.paths)


def test_an_unquoted_sla_runs_as_its_literal_with_each_escalation_tried():
    parsed = parse((CORPUS / "timer_unquoted_sla.bpmn").read_text("utf-8"), operations=OPS, variables=VARIABLES)
    late = next(ts for ts in parsed.spec.task_specs.values() if ts.bpmn_id == "late")
    assert late.event_definition.expression == "'R2/PT3M'"
    paths = sorted(([s.action for s in path.steps], path.outcome) for path in parsed.trial.paths)
    assert paths == [(["complete"], "completed"), (["timeout"], "timeout")]


def test_camunda_candidate_group_is_the_lane():
    parsed = parse((CORPUS / "camunda_candidate_groups.bpmn").read_text("utf-8"), operations=OPS, variables=VARIABLES)
    hop = next(ts for ts in parsed.spec.task_specs.values() if ts.bpmn_id == "hop")
    assert hop.lane == "信贷部"
    assert parsed.trial.paths[0].steps[0].lane == "信贷部"


def test_the_limits_come_from_the_engine_section():
    limits = Limits.from_config({"engine": {"min_timer_interval": "PT1S", "max_timer_repeats": 2000}})
    parse((CORPUS / "timer_many_repeats.bpmn").read_text("utf-8"), operations=OPS, variables=VARIABLES, limits=limits)
    with pytest.raises(DeploymentError):
        parse((CORPUS / "timer_every_second.bpmn").read_text("utf-8"), operations=OPS, variables=VARIABLES,
              limits=limits)  # still no count: R/ never ends


def test_the_trial_tries_each_decision_at_each_task_and_each_timer_once():
    xml = (Path(__file__).parents[2] / "bpmn" / "internal_transfer.bpmn").read_text("utf-8")
    trial = parse(xml, operations=OPS, variables=VARIABLES).trial
    tried = {(s.element_id, s.action) for path in trial.paths for s in path.steps}
    assert {("hop_credit", "complete"), ("hop_credit", "return"), ("fix_intake", "complete"),
            ("hop_close", "complete"), ("hop_close", "return"), ("late_credit", "timeout"), ("late_fix", "timeout"),
            ("late_close", "timeout")} <= tried
    assert trial.complete and any(p.outcome == "completed" for p in trial.paths)
