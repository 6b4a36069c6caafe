"""1. SpiffWorkflow alone, in memory: full internal-transfer lifecycles per second on bpmn/internal_transfer.bpmn.

Parse once; per lifecycle: BpmnWorkflow(spec), data {"handover_sla": "PT4H", "form_id": 1}, do_engine_steps,
complete hop_credit (decision "complete"), complete hop_close, until completed. No timer fires, so the
`escalate` service task never runs (SafeScriptEngine gets a service_handler anyway).
"""
from __future__ import annotations

import time

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.config import ROOT
from engine.expressions import SafeScriptEngine

from .common import say, size

DIAGRAM = ROOT / "bpmn" / "internal_transfer.bpmn"


def parse(path=DIAGRAM, key="internal_transfer"):
    """(spec, subprocess_specs) of one process, parsed once."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(path))
    return parser.get_spec(key), parser.get_subprocess_specs(key)


def complete_ready(workflow: BpmnWorkflow, name: str, data: dict) -> None:
    """Complete the one READY user task, which must be `name`, and run what follows."""
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    if len(ready) != 1 or ready[0].task_spec.name != name:
        raise AssertionError(f"expected {name} READY, got {[t.task_spec.name for t in ready]}")
    ready[0].data.update(data)
    ready[0].run()
    workflow.do_engine_steps()


def lifecycle(spec, subprocess_specs, script_engine) -> None:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    workflow.task_tree.data = {"handover_sla": "PT4H", "form_id": 1}
    workflow.do_engine_steps()
    complete_ready(workflow, "hop_credit", {"decision": "complete"})
    complete_ready(workflow, "hop_close", {"decision": "complete"})
    if not workflow.completed:
        raise AssertionError("lifecycle did not complete")


def rate(spec, subprocess_specs, script_engine, n: int, warmup: int = 30) -> float:
    for _ in range(warmup):
        lifecycle(spec, subprocess_specs, script_engine)
    start = time.perf_counter()
    for _ in range(n):
        lifecycle(spec, subprocess_specs, script_engine)
    return n / (time.perf_counter() - start)


def _no_service(task, operation_name, operation_params, **_kw):
    raise AssertionError(f"service task {operation_name} should not run in this benchmark")


def run() -> tuple[dict, dict]:
    n = size("engine_lifecycles", 2000)
    spec, subs = parse()
    safe = SafeScriptEngine(service_handler=_no_service)
    say(f"engine-only: {n} lifecycles with SafeScriptEngine …")
    safe_rate = rate(spec, subs, safe, n)
    say(f"engine-only: {safe_rate:.0f}/s; now {n} with SpiffWorkflow's default PythonScriptEngine …")
    default_rate = rate(spec, subs, PythonScriptEngine(), n)
    say(f"engine-only default engine: {default_rate:.0f}/s")
    return ({"engine_only_per_s": round(safe_rate, 1), "engine_only_default_engine_per_s": round(default_rate, 1)},
            {"engine_only": f"{n} lifecycles after 30 warm-up, in memory, one thread"})
