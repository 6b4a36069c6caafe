"""The stored state: Guichet's faster conversion writes exactly what SpiffWorkflow's own would, minus the spec."""
from __future__ import annotations

import json

import pytest
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.config import ROOT
from engine.expressions import SafeScriptEngine
from engine.serializer import STATE_VERSION, dump_state, load_state
from engine.workflow import Workflow

STOCK = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(dict(SPIFF_CONFIG)))


def _transfer():
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(ROOT / "bpmn" / "internal_transfer.bpmn"))
    spec, subprocess_specs = parser.get_spec("internal_transfer"), parser.get_subprocess_specs("internal_transfer")
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=SafeScriptEngine(service_handler=lambda *a, **k: None))
    workflow.task_tree.data = {"form_id": 7, "handover_sla": "PT4H", "note": "中文"}
    workflow.do_engine_steps()
    return workflow, spec, subprocess_specs


def _complete(workflow, name, **data):
    (task,) = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == name]
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def _stock_dict(workflow) -> dict:
    dct = json.loads(STOCK.serialize_json(workflow))
    for key in ("spec", "subprocess_specs", "serializer_version"):
        dct.pop(key, None)
    return dct


@pytest.mark.parametrize("steps", [
    [],
    [("hop_credit", {"decision": "return", "comment": "缺少附件"})],
    [("hop_credit", {"decision": "complete"}), ("hop_close", {"decision": "complete"})],
])
def test_the_state_is_what_spiffworkflow_would_write_without_the_spec(steps):
    workflow, spec, subs = _transfer()
    for name, data in steps:
        _complete(workflow, name, **data)
    ours = json.loads(dump_state(workflow))
    assert ours == _stock_dict(workflow)
    # and it restores onto the parsed spec to the same state
    restored = load_state(dump_state(workflow), STATE_VERSION, spec, subs)
    assert json.loads(dump_state(restored)) == ours


def test_a_state_written_twice_is_the_same_text():
    """The id texts a workflow keeps are only a cache: a second save writes the same bytes."""
    workflow, _spec, _subs = _transfer()
    assert dump_state(workflow) == dump_state(workflow)


STATES = sorted((ROOT / "tests" / "engine" / "states").glob("*.json"))


def test_there_is_a_saved_state_of_the_current_format():
    assert any(json.loads(p.read_text("utf-8"))["serializer_version"] == STATE_VERSION for p in STATES)


@pytest.mark.parametrize("path", STATES, ids=[p.stem for p in STATES])
def test_a_state_of_each_format_loads_and_steps_on(path):
    """States saved by earlier builds (an older SpiffWorkflow serializer) upgrade on load and keep stepping."""
    saved = json.loads(path.read_text("utf-8"))
    _workflow, spec, subs = _transfer()
    workflow = load_state(saved["state"], saved["serializer_version"], spec, subs)
    workflow.script_engine = SafeScriptEngine(service_handler=lambda *a, **k: None)
    assert [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == saved["ready"]
    assert [t.task_spec.name for t in workflow.get_tasks(state=TaskState.WAITING)] == ["late_credit"]  # its SLA timer
    _complete(workflow, "hop_credit", decision="return")
    _complete(workflow, "fix_intake")
    _complete(workflow, "hop_credit", decision="complete")
    _complete(workflow, "hop_close", decision="complete")
    assert workflow.completed
    again = load_state(dump_state(workflow), STATE_VERSION, spec, subs)  # saved in the current format
    assert again.completed and again.data == workflow.data


@pytest.mark.parametrize("version", ["guichet-2/spiff-1.5", "spiff-1.5", "", None])
def test_a_state_of_an_unknown_format_is_refused(version):
    _workflow, spec, subs = _transfer()
    with pytest.raises(ValueError, match="this build reads"):
        load_state(json.dumps({}), version, spec, subs)


MULTI = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://guichet/test">
  <bpmn:process id="each" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="per_department"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>departments</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>decisions</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="department" name="department" />
        <bpmn:outputDataItem id="decision" name="decision" />
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:startEvent id="inner_start"><bpmn:outgoing>i1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="appraise"><bpmn:incoming>i1</bpmn:incoming><bpmn:outgoing>i2</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="inner_end"><bpmn:incoming>i2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="i1" sourceRef="inner_start" targetRef="appraise"/>
      <bpmn:sequenceFlow id="i2" sourceRef="appraise" targetRef="inner_end"/>
    </bpmn:subProcess>
    <bpmn:userTask id="after"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="per_department"/>
    <bpmn:sequenceFlow id="f2" sourceRef="per_department" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_multi_instance_restored_on_a_spec_parsed_afterwards_still_hears_its_children_finish():
    """SpiffWorkflow tells a multi-instance task its child finished only through a connection it makes when it
    creates the child: a state restored in another process (a spec parsed later) must still merge them."""
    from lxml import etree

    from engine.validation import parse_stored

    def parsed():
        return parse_stored(etree.fromstring(MULTI.encode()))

    first = parsed()
    workflow = Workflow(first.spec, first.subprocess_specs, script_engine=SafeScriptEngine())
    workflow.task_tree.data.update({"departments": [1, 2]})
    workflow.engine_steps()
    state = dump_state(workflow)
    for _ in range(2):
        later = parsed()  # as a restarted server parses the stored definition
        workflow = load_state(state, STATE_VERSION, later.spec, later.subprocess_specs)
        workflow.script_engine = SafeScriptEngine()
        task = next(t for t in workflow.ready_tasks(manual=True) if t.task_spec.bpmn_id == "appraise")
        task.data["decision"] = f"同意 {task.data['department']}"
        task.run()
        workflow.engine_steps()
        state = dump_state(workflow)
    (after,) = workflow.ready_tasks(manual=True)
    assert after.task_spec.bpmn_id == "after" and sorted(after.data["decisions"]) == ["同意 1", "同意 2"]
