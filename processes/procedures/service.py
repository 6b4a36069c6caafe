"""Process definitions as managers see them: versions, validation, deployment, comparison, and where work waits."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import DeploymentError, ProcessDefinition, ProcessInstance, Problem, Runtime, WorkItem, latest_definition

from ..audit import service as audit
from ..errors import WRITTEN_LIMIT, Forbidden, NotFound, ValidationFailed
from ..org import service as org
from ..org.models import User
from . import approval
from .models import DeploymentRequest

DEPLOYERS = {"manager"}
VIEWERS = {"manager", "head", "inspector"}
_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_CAMUNDA_GROUPS = "{http://camunda.org/schema/1.0/bpmn}candidateGroups"


def ensure_can_view(actor: User) -> None:
    """Procedures are visible to management, department heads and inspectors."""
    if actor.role not in VIEWERS:
        raise Forbidden("只有管理层、部门负责人和监督检查人员可以查看流程")


def ensure_can_deploy(actor: User) -> None:
    """Only management changes procedures."""
    if actor.role not in DEPLOYERS:
        raise Forbidden("只有公司管理层可以部署流程")


def list_processes(session: Session) -> list[dict]:
    """Every process with its newest version and how many instances run on each version."""
    running = dict(session.execute(
        select(ProcessInstance.definition_id, func.count()).where(ProcessInstance.status == "running")
        .group_by(ProcessInstance.definition_id)).all())
    by_key: dict[str, list[ProcessDefinition]] = defaultdict(list)
    for d in session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version)):
        by_key[d.key].append(d)
    return [{
        "key": key, "name": versions[-1].name, "latest_version": versions[-1].version,
        "versions": len(versions), "running_instances": sum(running.get(v.id, 0) for v in versions),
        "deployed_at": versions[-1].deployed_at, "deployed_by": versions[-1].deployed_by,
    } for key, versions in sorted(by_key.items())]


def versions_of(session: Session, key: str) -> list[dict]:
    """A process's versions, newest first, with who deployed them, when, and their running instances."""
    rows = session.execute(
        select(ProcessDefinition, func.count(ProcessInstance.id))
        .outerjoin(ProcessInstance, (ProcessInstance.definition_id == ProcessDefinition.id)
                   & (ProcessInstance.status == "running"))
        .where(ProcessDefinition.key == key).group_by(ProcessDefinition.id).order_by(ProcessDefinition.version.desc())
    ).all()
    if not rows:
        raise NotFound(f"流程不存在: {key}", code="process_not_found")
    return [{"key": d.key, "version": d.version, "name": d.name, "sha256": d.sha256, "deployed_by": d.deployed_by,
             "deployed_at": d.deployed_at, "running_instances": n} for d, n in rows]


def get_version(session: Session, key: str, version: int) -> ProcessDefinition:
    """One stored version."""
    definition = session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                                  ProcessDefinition.version == version)).first()
    if definition is None:
        raise NotFound(f"流程 {key} 没有版本 {version}", code="version_not_found")
    return definition


def problems_of(session: Session, runtime: Runtime, key: str, xml: str) -> list[Problem]:
    """What stops a diagram from being deployed: the engine's checks, then lanes this organisation does not have."""
    try:
        runtime.validate(xml, expected_key=key)
    except DeploymentError as exc:
        return exc.problems
    known = org.lane_names(session)
    root = etree.fromstring(xml.encode("utf-8"), _SAFE)
    problems = [Problem(lane.get("id", ""), f"泳道“{lane.get('name') or ''}”不是已知的部门或角色; "
                                             f"可用: {'、'.join(sorted(known))}")
                for lane in root.iter(f"{_BPMN}lane") if (lane.get("name") or "").strip() not in known]
    # A Camunda candidate group is the task's lane: it must name a department or role too.
    for task in root.iter():
        group = (task.get(_CAMUNDA_GROUPS) or "").strip() if isinstance(task.tag, str) else ""
        if group and group not in known:
            problems.append(Problem(task.get("id", ""), f"任务“{task.get('name') or ''}”({task.get('id', '')}) 的候选组"
                                                        f"“{group}”不是已知的部门或角色; 可用: {'、'.join(sorted(known))}"))
    return problems


def validate(session: Session, runtime: Runtime, key: str, xml: str) -> list[dict]:
    """The diagram's problems, each on its element (an empty list when it can be deployed)."""
    return [{"element_id": p.element_id, "message": p.message} for p in problems_of(session, runtime, key, xml)]


@dataclass
class Outcome:
    """What a deployment did: a new (or the unchanged newest) version, or a request waiting for approval."""

    definition: ProcessDefinition | None
    created: bool
    request: DeploymentRequest | None = None


NOTE_MISSING = "请填写变更说明: 改了什么、为什么改 (审批人和审计日志都会看到)"


def change_note(note: str | None) -> str:
    """The change note (变更说明) every deployment carries: required, at most WRITTEN_LIMIT characters."""
    text = (note or "").strip()
    if not text:
        raise ValidationFailed({"note": NOTE_MISSING}, message=NOTE_MISSING)
    if len(text) > WRITTEN_LIMIT:
        raise ValidationFailed({"note": f"变更说明最多 {WRITTEN_LIMIT} 字"}, message=f"变更说明最多 {WRITTEN_LIMIT} 字")
    return text


def deploy(session: Session, runtime: Runtime, config: dict, *, key: str, xml: str, note: str | None, actor: User,
           now: datetime) -> Outcome:
    """Deploy as the newest version (management only), or file it for a second manager when the switch is on;
    either way with a change note saying what changes and why."""
    ensure_can_deploy(actor)
    note = change_note(note)
    problems = problems_of(session, runtime, key, xml)
    if problems:
        raise DeploymentError(problems)
    if approval.needs_approval(config):
        latest = latest_definition(session, key)
        if latest is not None and latest.sha256 == hashlib.sha256(xml.encode("utf-8")).hexdigest():
            return Outcome(latest, False)
        name = latest.name if latest is not None else key
        request = approval.request(session, runtime, key=key, xml=xml, name=name, note=note, actor=actor, now=now)
        audit.record(session, actor=actor.username, action="bpmn.deploy_requested", object_type="deployment_request",
                     object_id=request.id, now=now, details={"key": key, "sha256": request.sha256, "note": note})
        return Outcome(None, False, request)
    definition, created = runtime.deploy(session, xml, actor=actor.username, now=now, expected_key=key)
    if created:
        audit.record(session, actor=actor.username, action="bpmn.deploy", object_type="process_definition",
                     object_id=definition.id, now=now,
                     details={"key": key, "version": definition.version, "sha256": definition.sha256, "note": note})
    return Outcome(definition, created)


def rollback(session: Session, runtime: Runtime, config: dict, *, key: str, version: int, note: str | None,
             actor: User, now: datetime) -> Outcome:
    """Deploy an earlier version's diagram again, as the newest version (through approval when it is on)."""
    return deploy(session, runtime, config, key=key, xml=get_version(session, key, version).xml, note=note,
                  actor=actor, now=now)


@dataclass
class Element:
    """What of one diagram element matters when comparing versions."""

    id: str
    kind: str
    name: str
    detail: str


def _elements(xml: str) -> dict[str, Element]:
    root = etree.fromstring(xml.encode("utf-8"), _SAFE)
    found = {}
    for process in root.iter(f"{_BPMN}process"):
        for el in process.iter():
            ident = el.get("id") if isinstance(el.tag, str) else None
            if not ident or el is process or _folded(el):
                continue
            kind = etree.QName(el).localname
            texts = [f"{etree.QName(c).localname}={(c.text or '').strip()}" for c in _own_parts(el)
                     if (c.text or "").strip()]
            attrs = [f"{k}={v}" for k, v in sorted(el.attrib.items()) if k not in ("id", "name")]
            found[ident] = Element(ident, kind, el.get("name", ""), "; ".join(attrs + texts))
    return found


elements_of = _elements  # what changes.py compares


def _folded(el) -> bool:
    """Event definitions are part of their event: a changed timer is a change of the event that holds it."""
    return etree.QName(el).localname.endswith("EventDefinition")


def _own_parts(el):
    """Descendants that belong to this element (not to a nested element with an id of its own)."""
    for child in el:
        if isinstance(child.tag, str) and (not child.get("id") or _folded(child)):
            yield child
            yield from _own_parts(child)


def compare(session: Session, key: str, old: int, new: int) -> dict:
    """What changed between two versions: elements added, removed and changed (name or settings)."""
    before = _elements(get_version(session, key, old).xml)
    after = _elements(get_version(session, key, new).xml)
    return {
        "added": [vars(after[i]) for i in sorted(after.keys() - before.keys())],
        "removed": [vars(before[i]) for i in sorted(before.keys() - after.keys())],
        "changed": [{"id": i, "kind": after[i].kind, "before": vars(before[i]), "after": vars(after[i])}
                    for i in sorted(after.keys() & before.keys()) if vars(after[i]) != vars(before[i])],
    }


def step_stats(session: Session, key: str, now: datetime, recent: int = 5000) -> dict[str, dict]:
    """Per step: how many items wait there now, and the average time spent there (recent finished items)."""
    stats: dict[str, dict] = defaultdict(lambda: {"waiting": 0, "avg_seconds": None, "finished": 0})
    for step, waiting in session.execute(
        select(WorkItem.task_name, func.count()).where(WorkItem.process_key == key, WorkItem.kind == "task",
                                                       WorkItem.status == "open").group_by(WorkItem.task_name)):
        stats[step]["waiting"] = waiting
    durations: dict[str, list[float]] = defaultdict(list)
    for step, started, ended in session.execute(
        select(WorkItem.task_name, WorkItem.created_at, WorkItem.completed_at)
        .where(WorkItem.process_key == key, WorkItem.kind == "task", WorkItem.status == "done")
        .order_by(WorkItem.completed_at.desc()).limit(recent)):
        durations[step].append((ended - started).total_seconds())
    for step, values in durations.items():
        stats[step]["avg_seconds"] = round(sum(values) / len(values), 1)
        stats[step]["finished"] = len(values)
    return dict(stats)


def instance_view(session: Session, instance_id: int) -> dict:
    """An instance: its process and version, state, current steps, and the path taken with times per step."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("流程实例不存在", code="instance_not_found")
    definition = session.get(ProcessDefinition, instance.definition_id)
    items = session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id, WorkItem.kind == "task")
                            .order_by(WorkItem.created_at, WorkItem.id)).all()
    return {
        "id": instance.id, "process": instance.process_key, "version": definition.version, "name": definition.name,
        "status": instance.status, "business_key": instance.business_key, "subject": instance.subject,
        "ref_type": instance.ref_type, "ref_id": instance.ref_id,
        "started_at": instance.started_at, "ended_at": instance.ended_at,
        "current": sorted({i.task_name for i in items if i.status == "open"}),
        "path": [{
            "step": i.task_name, "name": i.title, "lane": i.lane, "status": i.status,
            "started_at": i.created_at, "ended_at": i.completed_at, "by": i.completed_by or i.assignee,
            "seconds": round((i.completed_at - i.created_at).total_seconds(), 1) if i.completed_at else None,
        } for i in items],
        "xml": definition.xml,
    }
