"""7. The cost of one step of an instance returned for correction 200 times, over the same step at 1 time.

A form goes round the return loop (handler returns hop_credit, clerk completes fix_intake) K times;
every step at loops K-W+1..K is timed (one transaction each, through complete_hop), interleaved with
the steps of a second form at loops 1..W, and the medians compared. Cold: runtime.cache is cleared before each step, so the workflow is loaded from the
database; warm: the runtime's cache is used. For reference, SpiffWorkflow alone without Guichet's rewind
(the task tree keeps growing): per request = restore from JSON + step + serialize, same points.
"""
from __future__ import annotations

import sys
import time

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.db import unit_of_work
from engine.models import ProcessInstance

from .common import build_app, make_config, median, say, size, sqlite_url, tempdir
from .engine_only import complete_ready, parse
from .service_layer import Driver

WINDOW = 10
SPIFF_STEPS = (("hop_credit", "return"), ("fix_intake", "complete"))


def _guichet_loops(driver: Driver, loops: int, cold: bool) -> tuple[list, list, dict]:
    """Step times (s) at loops 1..WINDOW and loops-WINDOW+1..loops, and state sizes after loop 1 and the last.

    Two forms: `long` is driven to loops-WINDOW first; then a loop of `short` (k = j) and a loop of `long`
    (k = loops-WINDOW+j) alternate, so both sides see the same machine load.
    """
    runtime = driver.services.runtime
    long_form, long_item = driver.create()
    short_form, short_item = driver.create()

    def loop(item, timings):
        for who, decision in (("handler", "return"), ("clerk", "complete")):
            if cold:
                runtime.cache.clear()
            start = time.perf_counter()
            (item,) = driver.complete(item, who, decision)
            if timings is not None:
                timings.append(time.perf_counter() - start)
        return item

    for k in range(1, loops - WINDOW + 1):
        long_item = loop(long_item, None)
        if k % 50 == 0:
            say(f"  {k}/{loops} loops")
    first, last, sizes = [], [], {}
    for j in range(1, WINDOW + 1):
        short_item = loop(short_item, first)
        if j == 1:
            sizes[1] = _state_size(driver, short_form)
        long_item = loop(long_item, last)
    sizes[loops] = _state_size(driver, long_form)
    return first, last, sizes


def _state_size(driver: Driver, form_id: int) -> int:
    with unit_of_work(driver.services.sessions) as session:
        return len(session.get(ProcessInstance, _instance_of(session, form_id)).state)


def _instance_of(session, form_id):
    from processes.forms.models import Form

    return session.get(Form, form_id).process_instance_id


def _spiff_new(spec, subs) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subs)
    workflow.task_tree.data = {"handover_sla": "PT4H", "form_id": 1}
    workflow.do_engine_steps()
    return workflow


def _spiff_reach(spec, subs, loops: int) -> int:
    """How many return loops plain SpiffWorkflow completes (it fails as its task tree deepens)."""
    workflow = _spiff_new(spec, subs)
    for k in range(1, loops + 1):
        try:
            for name, decision in SPIFF_STEPS:
                complete_ready(workflow, name, {"decision": decision})
        except (RecursionError, AssertionError):
            return k - 1
    return loops


def _spiff_alone(loops: int) -> dict:
    """ms per request (restore + step + serialize) at the first and last loops, plain SpiffWorkflow.

    Its task tree deepens every loop: with Python's default recursion limit Task.is_descendant_of raises
    RecursionError, and get_tasks() stops at depth 1000 (so READY tasks go missing). The reach under both
    is recorded; the timing runs with a raised recursion limit up to the last loop that still works.
    """
    spec, subs = parse()
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    reach_default = _spiff_reach(spec, subs, loops)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 50 * loops + 1000))
    try:
        reach = _spiff_reach(spec, subs, loops) if reach_default < loops else loops
        times = {"first": [], "last": []}
        state, workflow = "", _spiff_new(spec, subs)
        for k in range(1, reach + 1):
            bucket = "first" if k <= WINDOW else "last" if k > reach - WINDOW else None
            for name, decision in SPIFF_STEPS:
                if bucket:
                    state = serializer.serialize_json(workflow)
                    start = time.perf_counter()
                    workflow = serializer.deserialize_json(state)
                    complete_ready(workflow, name, {"decision": decision})
                    state = serializer.serialize_json(workflow)
                    times[bucket].append(time.perf_counter() - start)
                else:
                    complete_ready(workflow, name, {"decision": decision})
    finally:
        sys.setrecursionlimit(limit)
    return {"first_ms": median(times["first"]) * 1000, "last_ms": median(times["last"]) * 1000,
            "tasks": len(workflow.tasks), "state_bytes": len(state), "reach_default": reach_default, "reach": reach}


def run() -> tuple[dict, dict]:
    loops = size("rewind_loops", 200)
    folder = tempdir("rewind")
    app = build_app(make_config(sqlite_url(folder), folder))
    driver = Driver(app)
    for _ in range(5):
        driver.lifecycle()  # warm up
    results = {}
    for mode in ("cold", "warm"):
        say(f"rewind: {loops} return loops, {mode} cache …")
        first, last, sizes = _guichet_loops(driver, loops, cold=(mode == "cold"))
        results[mode] = (median(first), median(last), sizes)
        say(f"  {mode}: step at k=1 {results[mode][0] * 1000:.2f} ms, at k={loops} {results[mode][1] * 1000:.2f} ms, "
            f"state {sizes}")
    app.extensions["guichet_engine"].dispose()
    say(f"rewind: SpiffWorkflow alone, {loops} loops without rewind …")
    spiff = _spiff_alone(loops)
    say(f"  SpiffWorkflow alone: {spiff['first_ms']:.2f} ms at k=1, {spiff['last_ms']:.2f} ms at k={spiff['reach']}; "
        f"with the default recursion limit it completes {spiff['reach_default']} loops")
    cold_first, cold_last, sizes = results["cold"]
    warm_first, warm_last, _ = results["warm"]
    return {
        "step_ratio_k200": round(cold_last / cold_first, 2),
        "step_ratio_k200_warm": round(warm_last / warm_first, 2),
        "step_ms_k1_cold": round(cold_first * 1000, 2), "step_ms_k200_cold": round(cold_last * 1000, 2),
        "step_ms_k1_warm": round(warm_first * 1000, 2), "step_ms_k200_warm": round(warm_last * 1000, 2),
        "state_bytes_k1": sizes[1], "state_bytes_k200": sizes[loops],
        "spiff_alone_request_ms_k1": round(spiff["first_ms"], 2),
        "spiff_alone_request_ms_k200": round(spiff["last_ms"], 2),
        "spiff_alone_ratio_k200": round(spiff["last_ms"] / spiff["first_ms"], 2),
        "spiff_alone_k_measured": spiff["reach"],
        "spiff_alone_max_k_default_recursion": spiff["reach_default"],
    }, {"rewind": f"k = {loops} loops (labelled k200); median of the {2 * WINDOW} steps (return + fix) in loops "
                  f"1..{WINDOW} and {loops - WINDOW + 1}..{loops}; each step one transaction via complete_hop. "
                  f"SpiffWorkflow alone: restore + step + serialize with the stock serializer (spec included), "
                  f"{spiff['tasks']} tasks and {spiff['state_bytes']:,} bytes of JSON at k={spiff['reach']}; with Python's "
                  f"default recursion limit it completes only {spiff['reach_default']} loops (RecursionError in "
                  f"Task.is_descendant_of); with a raised limit {spiff['reach']} (get_tasks stops at depth 1000)"}
