"""Running instances: every step is load → act → engine steps → save → derived tables, in one transaction.

The caller owns the transaction (it commits at its boundary); nothing here commits. What the runtime
keeps between steps of one transaction is in its context (engine/context.py); the work items a step
opens and closes are written by engine/items.py; restored workflows wait for the next step in the warm
cache (engine/warm.py).
"""
from __future__ import annotations

import json
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import budget
from . import decisions as declared_decisions
from . import deploy as deployment
from . import expressions, items, rows
from .clock import step_time
from .budget import Limits, StepFailed
from .context import transaction
from .cron import CronTable
from .errors import Conflict, EngineError, Invalid, NotFound
from .rows import Instance, Item
from .serializer import STATE_VERSION, dump_state, load_state
from .timers import sync_timers, waiting_timers
from .warm import WarmCache
from .workcalendar import WorkingDays
from .workflow import Workflow

MAX_REWINDS = 20


@dataclass
class StepResult:
    """What one step changed: the item completed (if any) and the items opened and closed."""

    instance: Instance
    completed: Item | None = None
    opened: list[Item] = field(default_factory=list)
    closed: list[Item] = field(default_factory=list)


@dataclass
class ServiceCall:
    """What a registered operation receives when a service task runs."""

    session: Session
    now: datetime
    instance: Instance
    task: object
    params: dict
    attached_item: Item | None
    runtime: "Runtime"

    def add_follow_up(self, parent: Item, **kwargs) -> Item:
        """Attach a follow-up item (e.g. an escalation) to the task item `parent`."""
        return items.add_follow_up(self.session, parent, now=self.now, **kwargs)


@dataclass
class _Step:
    session: Session
    now: datetime
    instance: Instance | None


_current_step: ContextVar[_Step | None] = ContextVar("guichet_current_step", default=None)


class Runtime:
    """The BPMN runtime of one application: specs, registered operations and functions, and the steps."""

    def __init__(self, *, cache_size: int = 4096, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.start_variables: dict[str, list[dict]] = {}
        self.specs = deployment.SpecCache()
        self.operations: dict[str, Callable[[ServiceCall], object]] = {}
        self.functions: dict[str, Callable] = {}
        self.cache = WarmCache(cache_size)
        self._decisions: dict[tuple[int, str], tuple[str, ...]] = {}
        self.working_days: WorkingDays | None = None  # the office calendar (set when the stages are registered)
        self.cron = CronTable()  # the cron jobs stages register; each scheduler process schedules them
        self.script_engine = expressions.SafeScriptEngine(functions=self.functions, service_handler=self._call_service)

    # --- registration and deployment -------------------------------------------------------
    def register_operation(self, name: str, handler: Callable[[ServiceCall], object]) -> None:
        """Let diagrams call `handler` from a service task naming `name`."""
        self.operations[name] = handler

    def register_function(self, name: str, fn: Callable) -> None:
        """Let conditions and scripts call `fn` by name (the script engine sees it at once)."""
        self.functions[name] = fn

    def declare_start_variables(self, key: str, *variants: dict) -> None:
        """What process `key` starts with (names and typical values; one dict per kind of start that takes another
        way through the diagram): deploy checks evaluate timers with them, and the trial run starts once per kind."""
        self.start_variables[key] = [dict(v) for v in variants]

    def deploy(self, session: Session, xml: str, *, actor: str, now: datetime, expected_key: str | None = None):
        """Deploy a diagram as the newest version of its process; (definition, created)."""
        return deployment.deploy(session, xml, actor=actor, now=now, operations=self.operations,
                                 functions=self.functions, expected_key=expected_key,
                                 variables=self.start_variables, limits=self.limits)

    def validate(self, xml: str, expected_key: str | None = None):
        """Raise DeploymentError with the problems of a diagram, without storing it; the trial run's result."""
        return self.trial_run(xml, expected_key)

    def trial_run(self, xml: str, expected_key: str | None = None):
        """Check a diagram and run it in memory through each path: the TrialResult (its `paths` are what the
        deployment approver is shown). Raises DeploymentError, every problem on its element, when it cannot run."""
        return deployment.parse(xml, operations=self.operations, functions=self.functions, expected_key=expected_key,
                                variables=self.start_variables, limits=self.limits).trial

    # --- steps ------------------------------------------------------------------------------
    def start(self, session: Session, key: str, *, data: dict, actor: str, now: datetime,
              business_key: str | None = None, subject: str = "", ref_type: str | None = None,
              ref_id: int | None = None) -> StepResult:
        """Start the newest version of process `key` with `data` (references only, no personal data)."""
        definition_id = deployment.latest_definition_id(session, key)
        if definition_id is None:
            raise NotFound(f"流程未部署: {key}", code="process_not_deployed")
        parsed = self.specs.by_id(session, definition_id)
        workflow = Workflow(parsed.spec, parsed.subprocess_specs, script_engine=self.script_engine)
        instance = Instance(
            definition_id=definition_id, process_key=key, business_key=business_key, subject=subject,
            ref_type=ref_type, ref_id=ref_id, status="running", state="", serializer_version=STATE_VERSION,
            started_by=actor, started_at=now, updated_at=now,
        )
        workflow.task_tree.data = dict(data)
        with self._step(session, now, instance):
            ready = self._advance(workflow)
        return self._save(session, instance, workflow, now, ready, new=True)

    def complete(self, session: Session, item: Item | str, *, actor: str, now: datetime,
                 data: dict | None = None) -> StepResult:
        """Complete an open task item (or the item with that id) with `data` merged into its task.

        An item nobody had claimed counts as claimed by whoever completes it.
        """
        if not isinstance(item, Item):
            item = items.get_item(session, item)
        if item.status != "open":
            raise Conflict("该事项已办结或已关闭", code="task_closed")
        if item.kind != "task":
            raise Invalid("该事项不是流程任务, 不能直接办结", code="not_a_task")
        instance = items.instance_of(session, item)
        if instance.status == "failed":
            raise Conflict("该业务的流程已因流程配置错误而中止, 管理层已收到通知; 请联系管理层处理", code="process_failed")
        workflow = self._load(session, instance)
        task = workflow.get_task_from_id(uuid.UUID(item.task_id))
        if task is None or task.state != TaskState.READY:
            raise Conflict("该事项已被办理或已变更, 请刷新后重试", code="task_changed")
        with self._step(session, now, instance):
            task.data.update(data or {})
            task.run()
            ready = self._advance(workflow)
        if item.assignee is None:
            item.assignee, item.claimed_at = actor, now
        item.completed_by = actor
        return self._save(session, instance, workflow, now, ready, completed=item)

    def fire_timers(self, session: Session, instance_id: int, now: datetime) -> StepResult:
        """Let due timers of one instance fire and run what follows them."""
        instance = transaction(session).instances.get(instance_id) or rows.get_instance(session, instance_id)
        if instance is None:
            raise NotFound("流程实例不存在")
        workflow = self._load(session, instance)
        with self._step(session, now, instance):
            workflow.refresh_timers()
            ready = self._advance(workflow)
        return self._save(session, instance, workflow, now, ready)

    def read_ahead(self, session: Session, instance_ids: list[int]) -> None:
        """Read, for the rest of the transaction, instances about to step and their open task items (a batch
        of timer firings): two statements, instead of two per step. Only for instances no step of this
        transaction has touched yet."""
        items.read_ahead(session, instance_ids)

    # --- items (engine/items.py) --------------------------------------------------------------
    def get_item(self, session: Session, item_id: str, *, open_only: bool = True) -> Item:
        """An item by id; Conflict when it is no longer open. Its instance is kept for the transaction's step."""
        return items.get_item(session, item_id, open_only=open_only)

    def add_follow_up(self, session: Session, parent: Item, **kwargs) -> Item:
        """Attach an item (e.g. an escalation) to an open task item; it closes when the task does.

        `parent_changes`: what to change on the parent as update_item would, in the same write.
        """
        return items.add_follow_up(session, parent, **kwargs)

    def update_item(self, session: Session, item: Item, **values) -> None:
        """Change who holds an item, its queue or its escalation level (written at once)."""
        items.check_stage_columns(values)
        rows.update_item(session, item, **values)

    def claim_item(self, session: Session, item: Item, *, assignee: str, now: datetime) -> bool:
        """Give an open item nobody holds to `assignee`, atomically; False when another claim or step won."""
        return rows.claim_item(session, item, assignee=assignee, claimed_at=now)

    def decisions(self, session: Session, item: Item) -> tuple[str, ...]:
        """The decisions an item's task declares in its diagram (e.g. ("complete", "return"))."""
        instance = items.instance_of(session, item)
        key = (instance.definition_id, item.task_name)
        found = self._decisions.get(key)
        if found is None:
            _spec, task_spec = _task_spec(self.specs.by_id(session, instance.definition_id), item.task_name)
            found = self._decisions[key] = declared_decisions.offered(task_spec)
        return found

    def closes(self, session: Session, item: Item) -> bool:
        """Whether completing an item (with no other decision) ends its process: the step is a 办结, not a 移交."""
        instance = self.instance_of(session, item)
        key = ("closes", instance.definition_id, item.task_name)
        found = self._decisions.get(key)
        if found is None:
            spec, task_spec = _task_spec(self.specs.by_id(session, instance.definition_id), item.task_name)
            found = self._decisions[key] = _ends_after(spec, task_spec)
        return found

    def instance_of(self, session: Session, item: Item) -> Instance:
        """The instance an item belongs to, kept for the rest of the transaction."""
        return items.instance_of(session, item)

    # --- the warm cache (engine/warm.py) -------------------------------------------------------
    def warm_up(self, session: Session, instance_ids: list[int]) -> int:
        """Restore the workflows of instances about to step (their timers are due soon) into the warm cache.

        Nothing is written: an entry is used only while the instance's lock_version still matches.
        Returns how many were restored.
        """
        restored = 0
        for row in rows.states_of(session, self.cache.missing(instance_ids)):
            workflow = self._restore(session, row.definition_id, row.state, row.serializer_version)
            restored += self.cache.put_if_absent(row.id, row.lock_version, workflow)
        return restored

    def forget(self, session: Session, instance_id: int) -> None:
        """Drop what this transaction would have cached for an instance (its savepoint was rolled back)."""
        context = transaction(session)
        context.warm[:] = [entry for entry in context.warm if entry[1] != instance_id]
        context.instances.pop(instance_id, None)

    # --- internals --------------------------------------------------------------------------
    @contextmanager
    def _step(self, session, now, instance):
        """Within a step, service tasks see the step's session, time and instance; timers read its clock.

        The step runs on the budget of `[engine]`; what the diagram makes fail becomes StepFailed (the caller
        rolls the step back and records the failure, see engine/incidents.py)."""
        token = _current_step.set(_Step(session, now, instance))
        try:
            with step_time(now), budget.metered(self.limits):
                yield
        except (EngineError, SQLAlchemyError):
            raise  # a stage's refusal, a conflict or the database: not the diagram's fault
        # Anything else (an operation's own failure, such as a mail server being down) passes as it is: the
        # scheduler retries a timer's and records it; a request logs it.
        except budget.BudgetExceeded as exc:
            raise _failed(instance, f"超出单步预算: {exc.reason}", exc.element_id, exc.element_name) from exc
        except SpiffWorkflowException as exc:
            task_spec = getattr(getattr(exc, "task", None), "task_spec", None)
            raise _failed(instance, _reason(exc), getattr(task_spec, "bpmn_id", "") or "",
                          getattr(task_spec, "bpmn_name", "") or "") from exc
        except RecursionError as exc:
            raise _failed(instance, "流程嵌套或循环过深", "") from exc
        finally:
            _current_step.reset(token)

    def _advance(self, workflow: Workflow) -> list:
        """Run engine steps; the READY user tasks they leave (one scan serves the rewind check and the save)."""
        workflow.engine_steps()
        for _ in range(MAX_REWINDS):
            ready = workflow.ready_tasks(manual=True)
            if not _rewind_one_loop(workflow, ready):
                break
            workflow.engine_steps()
        else:
            ready = workflow.ready_tasks(manual=True)
        if not ready and not workflow.completed and not workflow.event_manager.tasks:
            raise budget.BudgetExceeded("流程停住了: 没有待办的任务、没有等待中的定时器, 也没有到达结束事件")
        return ready

    def _call_service(self, task, operation_name, operation_params, **_kw):
        step = _current_step.get()
        handler = self.operations.get(operation_name)
        if handler is None or step is None:
            raise Invalid(f"未注册的服务操作: {operation_name}", code="unknown_operation")
        if step.instance.id is None:
            rows.insert_instance(step.session, step.instance)  # a service task at start may want the instance's id
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        attached = _attached_task(task)
        item = None
        if attached is not None:
            read_ahead = transaction(step.session).read_ahead.pop(step.instance.id, None)
            open_items = read_ahead if read_ahead is not None else rows.open_task_items(step.session, step.instance.id)
            item = next((i for i in open_items if i.task_id == str(attached.id)), None)
        result = handler(ServiceCall(step.session, step.now, step.instance, task, params, item, self))
        return json.dumps(result)

    def _load(self, session: Session, instance: Instance) -> Workflow:
        # Taken out of the cache while this transaction works on it; it goes back only after commit.
        workflow = self.cache.take(instance.id, instance.lock_version)
        if workflow is not None:
            return workflow
        return self._restore(session, instance.definition_id, instance.state, instance.serializer_version)

    def _restore(self, session: Session, definition_id: int, state: str, version: str) -> Workflow:
        """A stored workflow, ready to step. Its open task items are its READY user tasks (each save makes it so)."""
        parsed = self.specs.by_id(session, definition_id)
        workflow = load_state(state, version, parsed.spec, parsed.subprocess_specs)
        workflow.script_engine = self.script_engine
        setattr(workflow, _OPEN_TASKS, frozenset(str(t.id) for t in workflow.ready_tasks(manual=True)))
        setattr(workflow, _TIMERS, waiting_timers(workflow))
        return workflow

    def _save(self, session, instance: Instance, workflow, now, ready: list, completed: Item | None = None,
              new: bool = False) -> StepResult:
        instance.state = dump_state(workflow)
        instance.serializer_version = STATE_VERSION
        instance.updated_at = now
        if workflow.completed:
            instance.status, instance.ended_at = "completed", now
        if instance.id is None:
            rows.insert_instance(session, instance)
        elif not rows.update_instance(session, instance):
            raise Conflict("该业务已被他人同时办理, 请刷新后重试", code="concurrent_update")
        result = StepResult(instance=instance, completed=completed)
        items.sync(session, instance, ready, now, result, new=new, open_before=getattr(workflow, _OPEN_TASKS, None))
        setattr(workflow, _OPEN_TASKS, frozenset(str(t.id) for t in ready))
        before = None if new else getattr(workflow, _TIMERS, None)
        setattr(workflow, _TIMERS, sync_timers(session, instance, workflow, new=new, before=before))
        context = transaction(session)
        context.instances[instance.id] = instance
        context.read_ahead.pop(instance.id, None)  # the step may have changed them
        if not workflow.completed:  # a finished workflow never steps again: keeping it would only cost memory
            context.warm.append((self.cache, instance.id, instance.lock_version, workflow))
        return result


def _failed(instance: Instance, reason: str, element_id: str, element_name: str = "") -> StepFailed:
    key = instance.process_key if instance is not None else ""
    where = f"在“{element_name or element_id}”" if element_name or element_id else ""
    return StepFailed(f"流程{where}无法继续: {reason}", reason=reason, element_id=element_id, element_name=element_name,
                      process_key=key, instance_id=instance.id if instance is not None else None)


def _reason(exc: Exception) -> str:
    """An engine error in words: the safe evaluator's messages are Chinese; SpiffWorkflow's English is not shown."""
    text = str(exc.args[0]) if exc.args else ""
    return text if re.search(r"[\u4e00-\u9fff]", text) else "流程引擎无法运行该环节 (流程图设置不完整或不受支持)"


def _rewind_one_loop(workflow: Workflow, ready: list) -> bool:
    """Flat history: a READY task that re-enters its own ancestry restarts that ancestor instead.

    SpiffWorkflow keeps every finished task in the tree, so a correction loop would make each step
    slower; the history lives in the stage's own records (handovers) instead.
    """
    for task in ready:
        ancestor = task.parent
        while ancestor is not None and ancestor.task_spec is not task.task_spec:
            ancestor = ancestor.parent
        if ancestor is None:
            continue
        workflow.reset_from_task_id(ancestor.id, data=dict(task.data))
        manager = workflow.event_manager
        for stale in [t for t in manager.tasks.values() if t.id not in workflow.tasks]:
            manager.remove_task(stale)
        return True
    return False


def _attached_task(task):
    """For a task on a boundary event's path, the activity the event is attached to."""
    node = task
    while node is not None:
        if isinstance(node.task_spec, BoundaryEvent):
            split = node.parent
            for sibling in split.children:
                if not isinstance(sibling.task_spec, BoundaryEvent):
                    return sibling
            return None
        node = node.parent
    return None


# The task ids a workflow has open items for: set when it is saved or restored, since open task items are
# the READY user tasks of the saved state. Unless the step left one of them behind (its item must be closed, and its
# row is needed for that), the items need not be read back.
_OPEN_TASKS = "_guichet_open_tasks"
# The waiting timers of the workflow as it was saved or restored (waiting_timers): the instance has a timer row
# for each and no other, so a step need not read them back (engine/timers.py, sync_timers).
_TIMERS = "_guichet_timers"


def _task_spec(parsed, name: str):
    """(the process or embedded subprocess spec holding task `name`, its task spec); a user task inside a subprocess
    (e.g. one per department of a multi-instance subprocess) is not among the top process's specs."""
    for spec in (parsed.spec, *parsed.subprocess_specs.values()):
        if name in spec.task_specs:
            return spec, spec.task_specs[name]
    return parsed.spec, None


def _ends_after(spec, task_spec, depth: int = 0) -> bool:
    """Whether the default way on from a task reaches an end event (straight, or by an exclusive gateway's default)."""
    if task_spec is None or depth > 8:
        return False
    for output in getattr(task_spec, "outputs", []):
        if isinstance(output, EndEvent):
            return True
        if isinstance(output, ExclusiveGateway):
            default = spec.task_specs.get(getattr(output, "default_task_spec", None) or "")
            if isinstance(default, EndEvent) or (isinstance(default, ExclusiveGateway)
                                                  and _ends_after(spec, output, depth + 1)):
                return True
    return False
