"""Deploy validation: a diagram that passes must run.

In order: the XML (size, nesting, pools, call cycles, element kinds, Camunda attributes), the code it carries
(conditions, scripts, timers evaluated with the process's start variables), SpiffWorkflow's parse (its errors
put in Chinese), checks on the parsed specs (lanes, operations), and a trial run through each path. Every
problem found is reported in one answer. One validation runs at a time, so a burst of them cannot slow
other requests.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from ..budget import Limits
from . import code, document, specs, trial
from .problems import BPMN, DeploymentError, Problem
from .trial import TrialPath, TrialResult, TrialStep

__all__ = ["DeploymentError", "Problem", "TrialPath", "TrialResult", "TrialStep", "Checked", "check", "parse_stored"]

WAIT_SECONDS = 30
_one_at_a_time = threading.BoundedSemaphore(1)


@dataclass
class Checked:
    """A diagram that passed: its process key and name, parsed specs, and the trial run's paths."""

    key: str
    name: str
    spec: object
    subprocess_specs: dict
    trial: TrialResult | None = field(default=None)


def check(root, *, operations, functions, variables: dict, limits: Limits, expected_key=None,
          run_trial: bool = True) -> Checked:
    """Every check on a parsed XML tree; DeploymentError with all problems found, or the checked process.

    `variables`: per process key, what its instances start with: a dict, or a list of dicts (one per kind of
    start); timers are evaluated with all their names, the trial runs once per dict."""
    if not _one_at_a_time.acquire(timeout=WAIT_SECONDS):
        raise DeploymentError([Problem("", "同时校验的流程图太多, 请稍后再试")])
    try:
        # The trial calls the registered functions themselves; name checks need only their names.
        callable_functions = dict(functions) if isinstance(functions, Mapping) else dict.fromkeys(functions, _unknown)
        return _check(root, set(operations), callable_functions, variables, limits, expected_key, run_trial)
    finally:
        _one_at_a_time.release()


def _unknown(*_args, **_kwargs):
    """Stands in for a function known only by name (a check without the runtime): its result is unknown."""
    return None


def _check(root, operations, functions, variables, limits, expected_key, run_trial) -> Checked:
    problems = document.too_deep(root)
    if problems:
        raise DeploymentError(problems)
    executable, problems = document.executable_processes(root)
    if problems:
        raise DeploymentError(problems)
    key = executable[0].get("id") or ""
    if expected_key is not None and key != expected_key:
        raise DeploymentError([Problem(key, f"流程标识 {key} 与目标流程 {expected_key} 不一致, "
                                            "不能用一个流程的图覆盖另一个流程; 请把可执行流程的标识改为 "
                                            f"{expected_key}")])
    elements = document.by_id(root)
    declared = variables.get(key) or [{}]
    variants = [dict(v) for v in ([declared] if isinstance(declared, dict) else declared)]
    start_data = {name: value for variant in variants for name, value in variant.items()}
    problems += document.call_cycles(root, key)
    for process in document.reachable_processes(root, key):
        problems += document.element_kinds(process, operations)
        problems += code.check_process(process, functions=functions, variables=start_data, limits=limits)
    if any("循环调用" in p.message for p in problems):
        raise DeploymentError(problems)  # SpiffWorkflow would follow the cycle while parsing
    try:
        spec, subprocess_specs = _spiff_parse(root, key)
    except SpiffWorkflowException as exc:
        found = specs.spiff_problem(exc, elements)
        already = found.element_id and any(p.element_id == found.element_id for p in problems)
        raise DeploymentError(problems + ([] if already else [found])) from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        # SpiffWorkflow's parser assumes well-formed BPMN; anything it trips over is the diagram's fault.
        raise DeploymentError(problems + [Problem("", "BPMN 结构不完整或无法识别; 请在建模器中打开并检查后重新导出")]) from None
    specs.adjust(specs.all_specs(spec, subprocess_specs), elements)
    problems += specs.check(spec, subprocess_specs, elements, operations=operations)
    if problems:
        raise DeploymentError(problems)
    checked = Checked(key, spec.description or key, spec, subprocess_specs)
    if run_trial:
        results = [trial.run(checked, functions=functions, variables=v, limits=limits, elements=elements)
                   for v in variants]
        checked.trial = TrialResult([p for r in results for p in r.paths], _unique([p for r in results for p in r.problems]),
                                    all(r.complete for r in results))
        if checked.trial.problems:
            raise DeploymentError(checked.trial.problems)
    return checked


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, kept = set(), []
    for p in problems:
        if (p.element_id, p.message) not in seen:
            seen.add((p.element_id, p.message))
            kept.append(p)
    return kept


def _spiff_parse(root, key):
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.ElementTree(root), filename="upload.bpmn")
    return parser.get_spec(key), parser.get_subprocess_specs(key)


def parse_stored(root) -> Checked:
    """A stored (already checked) diagram parsed to run, adjusted as at deploy; no checks, no trial."""
    executable = [p for p in root.iter(f"{BPMN}process") if p.get("isExecutable", "true") == "true"]
    key = executable[0].get("id")
    spec, subprocess_specs = _spiff_parse(root, key)
    specs.adjust(specs.all_specs(spec, subprocess_specs), document.by_id(root))
    return Checked(key, spec.description or key, spec, subprocess_specs)
