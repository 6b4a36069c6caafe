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
from engine.workflow import Workflow

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


def lifecycle_as_guichet_drives_it(spec, subprocess_specs, script_engine) -> None:
    """The same lifecycle through the runtime's Workflow (engine/workflow.py), still in memory."""
    workflow = Workflow(spec, subprocess_specs, script_engine=script_engine)
    workflow.task_tree.data = {"handover_sla": "PT4H", "form_id": 1}
    workflow.engine_steps()
    for name in ("hop_credit", "hop_close"):
        (task,) = workflow.ready_tasks(manual=True)
        if task.task_spec.name != name:
            raise AssertionError(f"expected {name} READY, got {task.task_spec.name}")
        task.data.update({"decision": "complete"})
        task.run()
        workflow.engine_steps()
    if not workflow.completed:
        raise AssertionError("lifecycle did not complete")


def rate(spec, subprocess_specs, script_engine, n: int, warmup: int = 30, run=lifecycle) -> tuple[float, float]:
    """(lifecycles per second, CPU ms per lifecycle)."""
    for _ in range(warmup):
        run(spec, subprocess_specs, script_engine)
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(n):
        run(spec, subprocess_specs, script_engine)
    return n / (time.perf_counter() - start), (time.process_time() - cpu) / n * 1000


def _no_service(task, operation_name, operation_params, **_kw):
    raise AssertionError(f"service task {operation_name} should not run in this benchmark")


def run() -> tuple[dict, dict]:
    n, rounds = size("engine_lifecycles", 2000), 5
    spec, subs = parse()
    safe = SafeScriptEngine(service_handler=_no_service)
    # The bound: SpiffWorkflow's own loop. Also measured, not part of any goal: the default script engine,
    # and SpiffWorkflow driven as Guichet's runtime drives it (its Workflow, still in memory).
    variants = {"safe": (safe, lifecycle), "default": (PythonScriptEngine(), lifecycle),
                "runtime_workflow": (safe, lifecycle_as_guichet_drives_it)}
    got: dict[str, list] = {name: [] for name in variants}
    say(f"engine-only: {n} lifecycles per variant, in {rounds} alternating rounds …")
    for _ in range(rounds):
        for name, (script_engine, run_one) in variants.items():
            got[name].append(rate(spec, subs, script_engine, max(1, n // rounds), warmup=10, run=run_one))
    (safe_rate, safe_cpu), (default_rate, _cpu), (ours_rate, _c) = (_median_round(got[name]) for name in variants)
    say(f"engine-only: SafeScriptEngine {safe_rate:.0f}/s, default PythonScriptEngine {default_rate:.0f}/s, "
        f"through the runtime's Workflow {ours_rate:.0f}/s "
        f"(rounds: {[round(r) for r, _c in got['safe']]} / {[round(r) for r, _c in got['default']]} / "
        f"{[round(r) for r, _c in got['runtime_workflow']]})")
    return ({"engine_only_per_s": round(safe_rate, 1), "engine_only_default_engine_per_s": round(default_rate, 1),
             "engine_only_cpu_ms_per_lifecycle": round(safe_cpu, 3),
             "engine_only_runtime_workflow_per_s": round(ours_rate, 1)},
            {"engine_only": f"{n} lifecycles per variant in {rounds} alternating rounds (median round), in memory; "
                            "engine_only_per_s is SpiffWorkflow's own loop (the bound)"})


def _median_round(rounds: list[tuple[float, float]]) -> tuple[float, float]:
    return sorted(rounds)[len(rounds) // 2]
