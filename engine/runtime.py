"""Running instances: every step is load → act → engine steps → save → derived tables, in one transaction.

The caller owns the transaction (it commits at its boundary); nothing here commits.
"""
from __future__ import annotations

import json
import re
import uuid
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock
from typing import Callable

from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import budget
from . import deploy as deployment
from . import expressions
from . import rows
from .clock import step_time
from .budget import Limits, StepFailed
from .cron import CronTable
from .errors import Conflict, EngineError, Invalid, NotFound
from .models import NO_DEADLINE
from .rows import Instance, Item
from .serializer import STATE_VERSION, dump_state, load_state
from .timers import sync_timers, timer_fire_at, waiting_timers
from .workflow import Workflow

MAX_REWINDS = 20
_DECISION = re.compile(r"""decision\s*==\s*["']([A-Za-z_]+)["']""")


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
        return self.runtime.add_follow_up(self.session, parent, now=self.now, **kwargs)


@dataclass
class _Step:
    session: Session
    now: datetime
    instance: Instance | None


_current_step: ContextVar[_Step | None] = ContextVar("guichet_current_step", default=None)


class Runtime:
    """The BPMN runtime of one application: specs, registered operations, and a warm-workflow cache."""

    def __init__(self, *, cache_size: int = 4096, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.start_variables: dict[str, list[dict]] = {}
        self.specs = deployment.SpecCache()
        self.operations: dict[str, Callable[[ServiceCall], object]] = {}
        self.functions: dict[str, Callable] = {}
        self._cache: OrderedDict[int, tuple[int, Workflow]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = Lock()
        self._decisions: dict[tuple[int, str], set[str]] = {}
        self.cron = CronTable()  # the cron jobs stages register; each scheduler process schedules them
        self.script_engine = expressions.SafeScriptEngine(functions=self.functions, service_handler=self._call_service)

    # --- registration and deployment -------------------------------------------------------
    def register_operation(self, name: str, handler: Callable[[ServiceCall], object]) -> None:
        """Let diagrams call `handler` from a service task naming `name`."""
        self.operations[name] = handler

    def register_function(self, name: str, fn: Callable) -> None:
        """Let conditions and scripts call `fn` by name."""
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
            item = self.get_item(session, item)
        if item.status != "open":
            raise Conflict("该事项已办结或已关闭", code="task_closed")
        if item.kind != "task":
            raise Invalid("该事项不是流程任务, 不能直接办结", code="not_a_task")
        instance = self.instance_of(session, item)
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
        instance = session.info.get("guichet_instances", {}).get(instance_id) or rows.get_instance(session, instance_id)
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
        held = session.info.setdefault("guichet_instances", {})
        instances, items = rows.instances_with_open_tasks(session, [i for i in instance_ids if i not in held])
        held.update(instances)
        session.info.setdefault(_READ_AHEAD_ITEMS, {}).update(items)

    def get_item(self, session: Session, item_id: str, *, open_only: bool = True) -> Item:
        """An item by id; Conflict when it is no longer open. Its instance is kept for the transaction's step."""
        held = session.info.setdefault("guichet_instances", {})
        item, instance = rows.get_item_and_instance(session, item_id)
        if instance is not None:
            held.setdefault(instance.id, instance)
        if item is None:
            raise NotFound("待办事项不存在", code="task_not_found")
        if open_only and item.status != "open":
            raise Conflict("该事项已办结或已关闭", code="task_closed")
        return item

    def add_follow_up(self, session: Session, parent: Item, *, kind: str, title: str, assignee: str | None,
                      now: datetime, escalation_level: int = 0, candidate_group: str | None = None,
                      parent_changes: dict | None = None) -> Item:
        """Attach an item (e.g. an escalation) to an open task item; it closes when the task does.

        `parent_changes`: what to change on the parent as update_item would, in the same write.
        """
        item = Item(
            id=str(uuid.uuid4()), instance_id=parent.instance_id, parent_id=parent.id, kind=kind, task_id=parent.task_id,
            task_name=parent.task_name, title=title, process_key=parent.process_key, lane=parent.lane,
            candidate_group=candidate_group, assignee=assignee, status="open", subject=parent.subject,
            # No deadline of its own, but it sorts with the late task it is about: overdue work comes first.
            ref_type=parent.ref_type, ref_id=parent.ref_id, due_at=None, sort_due=parent.due_at or NO_DEADLINE,
            escalation_level=escalation_level,
            has_follow_ups=False, created_at=now,
        )
        rows.insert_items(session, [item])
        changes = dict(parent_changes or {})
        _check_item_columns(changes)
        if not parent.has_follow_ups:
            changes["has_follow_ups"] = True
        if changes:
            rows.update_item(session, parent, **changes)
        return item

    def update_item(self, session: Session, item: Item, **values) -> None:
        """Change who holds an item, its queue or its escalation level (written at once)."""
        _check_item_columns(values)
        rows.update_item(session, item, **values)

    def claim_item(self, session: Session, item: Item, *, assignee: str, now: datetime) -> bool:
        """Give an open item nobody holds to `assignee`, atomically; False when another claim or step won."""
        return rows.claim_item(session, item, assignee=assignee, claimed_at=now)

    def decisions(self, session: Session, item: Item) -> set[str]:
        """The `decision` values the gateway after an item's task tests for (e.g. {"return"})."""
        instance = self.instance_of(session, item)
        key = (instance.definition_id, item.task_name)
        found = self._decisions.get(key)
        if found is None:
            task_spec = self.specs.by_id(session, instance.definition_id).spec.task_specs.get(item.task_name)
            found = set()
            for output in getattr(task_spec, "outputs", []):
                for condition, _target in getattr(output, "cond_task_specs", []) or []:
                    found.update(_DECISION.findall(deployment.condition_text(condition)))
            self._decisions[key] = found
        return found

    def closes(self, session: Session, item: Item) -> bool:
        """Whether completing an item (with no other decision) ends its process: the step is a 办结, not a 移交."""
        instance = self.instance_of(session, item)
        key = ("closes", instance.definition_id, item.task_name)
        found = self._decisions.get(key)
        if found is None:
            spec = self.specs.by_id(session, instance.definition_id).spec
            found = self._decisions[key] = _ends_after(spec, spec.task_specs.get(item.task_name))
        return found

    def instance_of(self, session: Session, item: Item) -> Instance:
        """The instance an item belongs to, kept for the rest of the transaction."""
        held = session.info.setdefault("guichet_instances", {})
        instance = held.get(item.instance_id)
        if instance is None:
            instance = held[item.instance_id] = rows.get_instance(session, item.instance_id)
        return instance

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
            read_ahead = step.session.info.get(_READ_AHEAD_ITEMS, {}).pop(step.instance.id, None)
            open_items = read_ahead if read_ahead is not None else rows.open_task_items(step.session, step.instance.id)
            item = next((i for i in open_items if i.task_id == str(attached.id)), None)
        result = handler(ServiceCall(step.session, step.now, step.instance, task, params, item, self))
        return json.dumps(result)

    def _load(self, session: Session, instance: Instance) -> Workflow:
        with self._cache_lock:
            entry = self._cache.get(instance.id)
            if entry is not None and entry[0] == instance.lock_version:
                # Take it out while this transaction works on it; it goes back only after commit.
                del self._cache[instance.id]
                return entry[1]
        return self._restore(session, instance.definition_id, instance.state, instance.serializer_version)

    def _restore(self, session: Session, definition_id: int, state: str, version: int) -> Workflow:
        """A stored workflow, ready to step. Its open task items are its READY user tasks (each save makes it so)."""
        parsed = self.specs.by_id(session, definition_id)
        workflow = load_state(state, version, parsed.spec, parsed.subprocess_specs)
        workflow.script_engine = self.script_engine
        setattr(workflow, _OPEN_TASKS, frozenset(str(t.id) for t in workflow.ready_tasks(manual=True)))
        setattr(workflow, _HAS_TIMERS, bool(waiting_timers(workflow)))
        return workflow

    def warm_up(self, session: Session, instance_ids: list[int]) -> int:
        """Restore the workflows of instances about to step (their timers are due soon) into the warm cache.

        Nothing is written: an entry is used only while the instance's lock_version still matches.
        Returns how many were restored.
        """
        with self._cache_lock:
            wanted = [i for i in instance_ids if i not in self._cache]
        restored = 0
        for row in rows.states_of(session, wanted):
            workflow = self._restore(session, row.definition_id, row.state, row.serializer_version)
            with self._cache_lock:
                if row.id in self._cache:
                    continue  # a step that committed meanwhile keeps its newer entry
            self._remember(row.id, row.lock_version, workflow)
            restored += 1
        return restored

    def forget(self, session: Session, instance_id: int) -> None:
        """Drop what this transaction would have cached for an instance (its savepoint was rolled back)."""
        warm = session.info.get("guichet_warm", [])
        warm[:] = [entry for entry in warm if entry[1] != instance_id]
        session.info.get("guichet_instances", {}).pop(instance_id, None)

    def _remember(self, instance_id: int, version: int, workflow: Workflow) -> None:
        with self._cache_lock:
            self._cache[instance_id] = (version, workflow)
            self._cache.move_to_end(instance_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

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
        _sync_work_items(session, instance, ready, now, result, new=new,
                         open_before=getattr(workflow, _OPEN_TASKS, None))
        setattr(workflow, _OPEN_TASKS, frozenset(str(t.id) for t in ready))
        no_rows = new or not getattr(workflow, _HAS_TIMERS, True)
        setattr(workflow, _HAS_TIMERS, sync_timers(session, instance, workflow, new=no_rows))
        session.info.setdefault("guichet_instances", {})[instance.id] = instance
        session.info.get(_READ_AHEAD_ITEMS, {}).pop(instance.id, None)  # the step may have changed them
        if not workflow.completed:  # a finished workflow never steps again: keeping it would only cost memory
            session.info.setdefault("guichet_warm", []).append((self, instance.id, instance.lock_version, workflow))
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


def _check_item_columns(values: dict) -> None:
    unknown = set(values) - {"assignee", "claimed_at", "candidate_group", "escalation_level"}
    if unknown:
        raise ValueError(f"work item columns the runtime owns: {sorted(unknown)}")


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


def _due_at(task) -> datetime | None:
    """A user task's due time: the earliest timer attached to it, so the two never disagree."""
    split = task.parent
    if split is None:
        return None
    times = [timer_fire_at(s) for s in split.children if isinstance(s.task_spec, BoundaryEvent) and s is not task]
    times = [t for t in times if t is not None]
    return min(times) if times else None


# The task ids a workflow has open items for: set when it is saved or restored, since open task items are
# the READY user tasks of the saved state. Unless the step left one of them behind (its item must be closed, and its
# row is needed for that), the items need not be read back.
_OPEN_TASKS = "_guichet_open_tasks"
# Whether the workflow had waiting timers when it was saved or restored: the instance has a timer row for
# each, so with none it has no rows to read back.
_HAS_TIMERS = "_guichet_has_timers"
# Open task items read ahead for instances about to step (read_ahead), by instance id; each list serves at
# most the first service task of the instance's next step, and goes when that step is saved.
_READ_AHEAD_ITEMS = "guichet_txn_open_tasks"


def _sync_work_items(session: Session, instance: Instance, ready_tasks: list, now, result: StepResult,
                     new: bool = False, open_before: frozenset | None = None) -> None:
    ready = {str(t.id): t for t in ready_tasks}
    completed = result.completed
    still_open = None if open_before is None else open_before - {completed.task_id if completed else None}
    if new or (still_open is not None and still_open <= ready.keys()):
        for task_id in still_open or ():  # still READY: their items stay as they are
            del ready[task_id]
        existing = []
    else:
        existing = rows.open_task_items(session, instance.id)
    cancelled, with_follow_ups = [], []
    for item in existing:
        if completed is not None and item.id == completed.id:
            continue
        if item.task_id in ready:
            del ready[item.task_id]
            continue
        item.status, item.completed_at = "cancelled", now
        cancelled.append(item.id)
        if item.has_follow_ups:
            with_follow_ups.append(item.id)
        result.closed.append(item)
    if completed is not None:
        completed.status, completed.completed_at = "done", now
        rows.update_item(session, completed, status="done", completed_at=now, completed_by=completed.completed_by,
                         assignee=completed.assignee, claimed_at=completed.claimed_at)
        if completed.has_follow_ups:
            with_follow_ups.append(completed.id)
    rows.close_items(session, cancelled, status="cancelled", now=now)
    rows.close_follow_ups(session, with_follow_ups, now)
    for task_id, task in ready.items():
        spec = task.task_spec
        due_at = _due_at(task)
        result.opened.append(Item(
            id=str(uuid.uuid4()), instance_id=instance.id, kind="task", task_id=task_id, task_name=spec.bpmn_id or spec.name,
            title=spec.bpmn_name or spec.name, process_key=instance.process_key, lane=spec.lane, candidate_group=spec.lane,
            assignee=None, status="open", subject=instance.subject, ref_type=instance.ref_type, ref_id=instance.ref_id,
            due_at=due_at, sort_due=due_at or NO_DEADLINE, escalation_level=0, has_follow_ups=False, created_at=now,
        ))
    rows.insert_items(session, result.opened)


@event.listens_for(Session, "after_commit")
def _warm_after_commit(session):
    if session.in_nested_transaction():
        return  # a savepoint was released; the outer transaction may still roll back
    for runtime, instance_id, version, workflow in session.info.pop("guichet_warm", []):
        runtime._remember(instance_id, version, workflow)
    _end_of_transaction(session)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session):
    if session.in_nested_transaction():
        # A savepoint was rolled back: the scheduler forgets that instance itself, and what a stage keeps
        # for the transaction under a "guichet_txn_" key may no longer match the rows, so it goes.
        for key in [k for k in session.info if k.startswith("guichet_txn_")]:
            del session.info[key]
        return
    session.info.pop("guichet_warm", None)
    _end_of_transaction(session)


def _end_of_transaction(session) -> None:
    # What was held for one transaction must not leak into the session's next one.
    for key in [k for k in session.info if k.startswith("guichet_")]:
        del session.info[key]


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
