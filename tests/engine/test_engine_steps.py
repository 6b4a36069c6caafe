"""The runtime's Workflow finds ready and waiting tasks in its task table; it must do exactly what
SpiffWorkflow's BpmnWorkflow does: the same tasks, run in the same order, the same tree, step by step."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.clock import step_time
from engine.config import ROOT
from engine.expressions import SafeScriptEngine
from engine.workflow import Workflow

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

PARALLEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://guichet/test">
  <bpmn:process id="fan" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>fa</bpmn:outgoing><bpmn:outgoing>fb</bpmn:outgoing><bpmn:outgoing>fc</bpmn:outgoing>
    </bpmn:parallelGateway>
    SERVICES
    <bpmn:parallelGateway id="join"><bpmn:incoming>fa2</bpmn:incoming><bpmn:incoming>fb2</bpmn:incoming>
      <bpmn:incoming>fc2</bpmn:incoming><bpmn:outgoing>fj</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:parallelGateway id="split2"><bpmn:incoming>fj</bpmn:incoming>
      <bpmn:outgoing>fu1</bpmn:outgoing><bpmn:outgoing>fu2</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="review_a" name="甲"><bpmn:incoming>fu1</bpmn:incoming><bpmn:outgoing>fe1</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="review_b" name="乙"><bpmn:incoming>fu2</bpmn:incoming><bpmn:outgoing>fe2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end_a"><bpmn:incoming>fe1</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_b"><bpmn:incoming>fe2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split"/>
    FLOWS
    <bpmn:sequenceFlow id="fj" sourceRef="join" targetRef="split2"/>
    <bpmn:sequenceFlow id="fu1" sourceRef="split2" targetRef="review_a"/>
    <bpmn:sequenceFlow id="fu2" sourceRef="split2" targetRef="review_b"/>
    <bpmn:sequenceFlow id="fe1" sourceRef="review_a" targetRef="end_a"/>
    <bpmn:sequenceFlow id="fe2" sourceRef="review_b" targetRef="end_b"/>
  </bpmn:process>
</bpmn:definitions>
"""
_SERVICE = ('<bpmn:serviceTask id="call_{x}"><bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="note_{x}" '
            'resultVariable="" /></bpmn:extensionElements><bpmn:incoming>f{x}</bpmn:incoming>'
            '<bpmn:outgoing>f{x}2</bpmn:outgoing></bpmn:serviceTask>')
_FLOWS = ('<bpmn:sequenceFlow id="f{x}" sourceRef="split" targetRef="call_{x}"/>'
          '<bpmn:sequenceFlow id="f{x}2" sourceRef="call_{x}" targetRef="join"/>')


def _parallel_xml() -> str:
    return (PARALLEL.replace("SERVICES", "".join(_SERVICE.format(x=x) for x in "abc"))
            .replace("FLOWS", "".join(_FLOWS.format(x=x) for x in "abc")))


def _subprocess_xml() -> str:
    """The parallel fan inside an embedded subprocess."""
    inner = _parallel_xml().split('<bpmn:process id="fan" isExecutable="true">')[1].split("</bpmn:process>")[0]
    inner = inner.replace('id="start"', 'id="inner_start"').replace('sourceRef="start"', 'sourceRef="inner_start"')
    return (_parallel_xml().split('<bpmn:process')[0] + """
  <bpmn:process id="outer" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>o1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="inner"><bpmn:incoming>o1</bpmn:incoming><bpmn:outgoing>o2</bpmn:outgoing>""" + inner + """
    </bpmn:subProcess>
    <bpmn:endEvent id="end"><bpmn:incoming>o2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="o1" sourceRef="start" targetRef="inner"/>
    <bpmn:sequenceFlow id="o2" sourceRef="inner" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""")


class Pair:
    """The same diagram run twice side by side: once by SpiffWorkflow's own loop, once by the runtime's."""

    def __init__(self, parser: SpiffBpmnParser, key: str, data: dict):
        self.calls = {"stock": [], "ours": []}
        self.flows = {}
        for side in ("stock", "ours"):
            engine = SafeScriptEngine(service_handler=self._recorder(side))
            cls = Workflow if side == "ours" else BpmnWorkflow
            workflow = cls(parser.get_spec(key), parser.get_subprocess_specs(key), script_engine=engine)
            workflow.task_tree.data = dict(data)
            self.flows[side] = workflow
        self.step(lambda _wf: None)

    def _recorder(self, side):
        def record(_task, operation_name, **_kw):
            self.calls[side].append(operation_name)
            return "null"
        return record

    def step(self, act, now: datetime = T0) -> None:
        with step_time(now):
            act(self.flows["stock"])
            self.flows["stock"].do_engine_steps()
            act(self.flows["ours"])
            self.flows["ours"].engine_steps()
        assert _shape(self.flows["ours"]) == _shape(self.flows["stock"])
        assert self.calls["ours"] == self.calls["stock"]
        assert self.ready("ours") == self.ready("stock")

    def ready(self, side: str) -> list[str]:
        workflow = self.flows[side]
        tasks = (workflow.ready_tasks(manual=True) if side == "ours"
                 else workflow.get_tasks(state=TaskState.READY, manual=True))
        return [t.task_spec.name for t in tasks]

    def complete(self, name: str, **data) -> None:
        def act(workflow):
            (task,) = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == name]
            task.data.update(data)
            task.run()
        self.step(act)


def _shape(workflow: BpmnWorkflow) -> list:
    """The tree in walk order (spec, state, data), subprocesses included, and the workflow's data."""
    return [(t.task_spec.name, TaskState.get_name(t.state), sorted(t.data.items(), key=str))
            for t in workflow.get_tasks()] + [sorted(workflow.data.items(), key=str)]


def _parser(xml: str | None = None) -> SpiffBpmnParser:
    parser = SpiffBpmnParser()
    if xml is None:
        parser.add_bpmn_file(str(ROOT / "bpmn" / "internal_transfer.bpmn"))
    else:
        parser.add_bpmn_str(xml.encode())
    return parser


def test_the_transfer_steps_as_spiffworkflow_steps_it_returns_escalations_and_all():
    pair = Pair(_parser(), "internal_transfer", {"form_id": 7, "handover_sla": "PT4H"})
    assert pair.ready("ours") == ["hop_credit"]
    pair.step(lambda wf: wf.refresh_timers(), now=T0 + timedelta(hours=4, seconds=1))  # level 1
    pair.step(lambda wf: wf.refresh_timers(), now=T0 + timedelta(hours=8, seconds=1))  # level 2
    assert pair.calls["ours"] == ["escalate", "escalate"]
    pair.complete("hop_credit", decision="return", comment="缺少附件")
    pair.complete("fix_intake", decision="complete")
    pair.complete("hop_credit", decision="complete")
    pair.complete("hop_close", decision="complete")
    assert pair.flows["ours"].is_completed() and pair.flows["stock"].is_completed()


def test_several_ready_engine_tasks_run_in_spiffworkflows_order():
    pair = Pair(_parser(_parallel_xml()), "fan", {})
    assert pair.calls["ours"] == ["note_a", "note_b", "note_c"]
    assert pair.ready("ours") == ["review_a", "review_b"]
    pair.complete("review_b")
    pair.complete("review_a")
    assert pair.flows["ours"].is_completed()


@pytest.mark.parametrize("finish_first", ["review_a", "review_b"])
def test_a_workflow_with_a_subprocess_steps_as_spiffworkflow_steps_it(finish_first):
    pair = Pair(_parser(_subprocess_xml()), "outer", {})
    assert pair.flows["ours"].subprocesses
    assert sorted(pair.ready("ours")) == ["review_a", "review_b"]
    pair.complete(finish_first)
    pair.complete(({"review_a", "review_b"} - {finish_first}).pop())
    assert pair.flows["ours"].is_completed()
