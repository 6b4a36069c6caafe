"""The trial run: a new version run in memory through each path (each decision at each person's task, and
each timer falling due) before it is deployed, so a diagram that passes 校验 runs.

Each (task, decision) and each timer is tried once: a path that comes to one already tried elsewhere stops
there, so the trial grows with the diagram, not with the number of ways through it.

Service tasks are not called (they would write records); what they return is null. Each step has the
same budget as a real one. The paths are returned so the deployment approver can see them.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

from .. import decisions as declared_decisions
from .. import expressions
from ..budget import BudgetExceeded, Limits, metered
from ..clock import step_time
from ..serializer import STATE_VERSION, dump_state, load_state
from ..timers import waiting_timers
from ..workflow import Workflow
from .problems import BPMN, Problem, label

MAX_PATHS = 64          # paths explored before the trial stops (and says so)
MAX_STEPS_PER_PATH = 24 # person steps along one path
MAX_SECONDS = 20.0      # the whole trial
_DECISION = re.compile(r"""decision\s*==\s*["']([A-Za-z_]+)["']""")
TRIAL_START = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)  # a Monday morning in Shanghai


@dataclass
class TrialStep:
    """One person's step of a trial path: the task (id, name, lane) and what was done there."""

    element_id: str
    name: str
    lane: str
    action: str  # a decision ("complete", "return"…) or "timeout" (its timer fell due)


@dataclass
class TrialPath:
    """One way through the process: its steps and how it ended (completed, loop, failed, cut short)."""

    steps: list[TrialStep] = field(default_factory=list)
    outcome: str = "completed"  # completed | loop | timeout | failed | unexplored
    message: str = ""


@dataclass
class TrialResult:
    """The paths the trial took and the problems it found (each on its element)."""

    paths: list[TrialPath]
    problems: list[Problem]
    complete: bool  # False when the trial stopped before exploring every path


class _TrialEngine(expressions.SafeScriptEngine):
    """The safe engine, with service tasks answered by null and gateway conditions held to booleans; a failing
    condition is reported on the flow that holds it."""

    def __init__(self, functions, elements, variables):
        super().__init__(functions=functions, service_handler=lambda task, **_kw: "null")
        self.elements, self.variables = elements, variables

    def evaluate(self, task, expression, external_context=None):
        is_condition = bool(getattr(task.task_spec, "cond_task_specs", None)) and any(
            _condition_source(c) == expression for c, _t in task.task_spec.cond_task_specs)
        try:
            value = super().evaluate(task, expression, external_context)
        except WorkflowTaskException as exc:
            cause = exc.__cause__
            if isinstance(cause, expressions.UnknownName):
                known = "、".join(sorted(set(self.variables) | {"decision"}))
                exc.args = (f"{cause} (表达式: {expression}); 流程数据里没有 {cause.name}: "
                            f"可用的有流程启动时的变量和办理决定 ({known}), 以及脚本赋值的变量",)
            if is_condition:
                exc.flow_id = self._flow_of(task.task_spec.bpmn_id, expression)
            raise
        if is_condition and not isinstance(value, bool):
            exc = WorkflowTaskException(f"条件 {expression} 的结果不是“是/否”(布尔值), 而是 {value!r}", task=task)
            exc.flow_id = self._flow_of(task.task_spec.bpmn_id, expression)
            raise exc
        return value

    def _flow_of(self, gateway_id, expression) -> str | None:
        for node in self.elements.values():
            if node.get("sourceRef") == gateway_id:
                condition = node.find(f"{BPMN}conditionExpression")
                if condition is not None and (condition.text or "").strip() == expression.strip():
                    return node.get("id")
        return None


def _condition_source(condition) -> str:
    args = getattr(condition, "args", None)
    return str(args[0]) if args else str(condition)


def decisions_after(task_spec) -> list[str]:
    """What a person's task offers: the decisions declared on it (engine/decisions.py), or else "complete"
    plus the `decision` values the gateways after it test."""
    return list(declared_decisions.offered(task_spec))


def run(parsed, *, functions, variables: dict, limits: Limits, elements: dict) -> TrialResult:
    """Run a parsed process through each path in memory; the paths taken and the problems met."""
    trial = _Trial(parsed, functions, variables, limits, elements)
    trial.explore()
    return TrialResult(trial.paths, trial.problems, trial.finished)


class _Trial:
    def __init__(self, parsed, functions, variables, limits, elements):
        self.parsed, self.limits, self.elements = parsed, limits, elements
        self.variables = dict(variables)
        self.engine = _TrialEngine(functions, elements, self.variables)
        self.paths: list[TrialPath] = []
        self.problems: list[Problem] = []
        self._reported: set[str] = set()
        self._tried: set[tuple[str, str]] = set()
        self.deadline = time.monotonic() + MAX_SECONDS
        self.finished = True

    def explore(self) -> None:
        workflow = Workflow(self.parsed.spec, self.parsed.subprocess_specs, script_engine=self.engine)
        workflow.task_tree.data = dict(self.variables)
        path = TrialPath()
        if not self._step(path, TRIAL_START, workflow.engine_steps, element=self.parsed.key):
            return
        todo = [(dump_state(workflow), TRIAL_START, path)]
        while todo:
            state, now, path = todo.pop()
            if len(self.paths) + len(todo) >= MAX_PATHS or time.monotonic() > self.deadline:
                self.finished = False
                self.paths.append(TrialPath(path.steps, "unexplored", "试运行已达上限, 此后的路径未逐一运行"))
                continue
            self._branch(state, now, path, todo)

    def _restore(self, state):
        workflow = load_state(state, STATE_VERSION, self.parsed.spec, self.parsed.subprocess_specs)
        workflow.script_engine = self.engine
        return workflow

    def _branch(self, state, now, path, todo) -> None:
        workflow = self._restore(state)
        if workflow.completed:
            self.paths.append(path)
            return
        ready = workflow.ready_tasks(manual=True)
        timers = waiting_timers(workflow)
        if not ready and not timers:
            self._fail(path, self.parsed.key, "流程停住了: 没有待办的任务、没有等待中的定时器, 也没有到达结束事件")
            return
        if len(path.steps) >= MAX_STEPS_PER_PATH:
            self.paths.append(TrialPath(path.steps, "loop", "路径过长, 不再继续"))
            return
        if ready:
            task = ready[0]
            spec = task.task_spec
            for action in decisions_after(spec):
                step = TrialStep(spec.bpmn_id or spec.name, spec.bpmn_name or "", spec.lane or "", action)
                if any(s.element_id == step.element_id and s.action == action for s in path.steps):
                    self.paths.append(TrialPath(path.steps + [step], "loop", f"回到“{step.name}”, 此后与前面相同"))
                    continue
                if (step.element_id, action) in self._tried:
                    continue  # tried on another path already
                self._tried.add((step.element_id, action))
                self._continue(state, now, TrialPath(path.steps + [step]), todo, task.id, action)
        if timers:
            name, due = min(timers.values(), key=lambda entry: entry[1])
            if (name, "timeout") not in self._tried:
                self._tried.add((name, "timeout"))
                node = self.elements.get(name)
                step = TrialStep(name, (node.get("name") or "") if node is not None else "", "", "timeout")
                self._continue(state, max(now, due) + timedelta(seconds=1), TrialPath(path.steps + [step]), todo,
                               None, None)

    def _continue(self, state, now, path, todo, task_id, decision) -> None:
        workflow = self._restore(state)

        def act():
            if task_id is None:
                workflow.refresh_timers()
            else:
                task = workflow.get_task_from_id(task_id)
                task.data["decision"] = decision
                task.run()
            workflow.engine_steps()

        element = path.steps[-1].element_id
        if not self._step(path, now, act, element=element):
            return
        if task_id is None and not workflow.completed:  # what a timer starts was run; the rest is tried elsewhere
            self.paths.append(TrialPath(path.steps, "timeout", "到时后已逐级上报, 仍等待办理"))
            return
        todo.append((dump_state(workflow), now, path))

    def _step(self, path, now, act, *, element: str) -> bool:
        """One metered step; False (and the failure recorded) when it fails."""
        try:
            with metered(self.limits, own=True), step_time(now):
                act()
            return True
        except BudgetExceeded as exc:
            self._fail(path, exc.element_id or element, f"超出单步预算: {exc.reason}")
        except WorkflowTaskException as exc:
            spec = getattr(getattr(exc, "task", None), "task_spec", None)
            reason = str(exc.args[0]) if exc.args else "运行出错"
            where = getattr(exc, "flow_id", None) or getattr(spec, "bpmn_id", None) or element
            self._fail(path, where, _chinese(reason))
        except RecursionError:
            self._fail(path, element, "流程嵌套或循环过深")
        except Exception as exc:  # noqa: BLE001 - whatever the engine trips over, the diagram is at fault
            reason = str(exc.args[0]) if exc.args and isinstance(exc, expressions.ExpressionError) else "流程引擎无法运行这里"
            self._fail(path, element, reason)
        return False

    def _fail(self, path: TrialPath, element_id: str, reason: str) -> None:
        node = self.elements.get(element_id)
        where = label(node) if node is not None else f"流程({element_id})"
        route = " → ".join(f"{s.name or s.element_id}[{_ACTIONS.get(s.action, s.action)}]" for s in path.steps) or "启动"
        self.paths.append(TrialPath(path.steps, "failed", f"{where}: {reason}"))
        key = f"{element_id}:{reason}"
        if key not in self._reported:
            self._reported.add(key)
            self.problems.append(Problem(element_id, f"{where}: 试运行失败 (经过: {route}): {reason}",
                                         (node.get("name") or "").strip() if node is not None else ""))


_ACTIONS = {"complete": "办理完成", "return": "退回", "approve": "批准", "timeout": "超时"}


def _chinese(reason: str) -> str:
    """SpiffWorkflow's own English never reaches the manager; the safe engine's messages are Chinese already."""
    return reason if re.search(r"[\u4e00-\u9fff]", reason) else "流程引擎无法运行这里 (设置不完整或不受支持)"
