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


def rate(spec, subprocess_specs, script_engine, n: int, warmup: int = 30) -> tuple[float, float]:
    """(lifecycles per second, CPU ms per lifecycle)."""
    for _ in range(warmup):
        lifecycle(spec, subprocess_specs, script_engine)
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(n):
        lifecycle(spec, subprocess_specs, script_engine)
    return n / (time.perf_counter() - start), (time.process_time() - cpu) / n * 1000


def _no_service(task, operation_name, operation_params, **_kw):
    raise AssertionError(f"service task {operation_name} should not run in this benchmark")


def run() -> tuple[dict, dict]:
    n, rounds = size("engine_lifecycles", 2000), 5
    spec, subs = parse()
    engines = {"safe": SafeScriptEngine(service_handler=_no_service), "default": PythonScriptEngine()}
    got: dict[str, list] = {name: [] for name in engines}
    say(f"engine-only: {n} lifecycles per script engine, in {rounds} alternating rounds …")
    for _ in range(rounds):
        for name, script_engine in engines.items():
            got[name].append(rate(spec, subs, script_engine, max(1, n // rounds), warmup=10))
    (safe_rate, safe_cpu), (default_rate, _cpu) = (_median_round(got[name]) for name in engines)
    say(f"engine-only: SafeScriptEngine {safe_rate:.0f}/s, default PythonScriptEngine {default_rate:.0f}/s "
        f"(rounds: {[round(r) for r, _c in got['safe']]} / {[round(r) for r, _c in got['default']]})")
    return ({"engine_only_per_s": round(safe_rate, 1), "engine_only_default_engine_per_s": round(default_rate, 1),
             "engine_only_cpu_ms_per_lifecycle": round(safe_cpu, 3)},
            {"engine_only": f"{n} lifecycles per engine in {rounds} alternating rounds (median round), in memory"})


def _median_round(rounds: list[tuple[float, float]]) -> tuple[float, float]:
    return sorted(rounds)[len(rounds) // 2]
