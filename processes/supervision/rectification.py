"""Rectification notices (整改通知书, R5.2): issue → the department responds → re-inspection passes or fails.

The diagram `bpmn/rectification.bpmn` holds the loop and the deadline: the response step's boundary timer
fires at the notice's deadline and escalates to the department head's superior, as late handovers do.
Both lanes name roles: the response item goes to the notified department's queue, held by its head; the
re-inspection item to the inspector who issued the notice.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.rows import Item
from engine.runtime import Runtime, StepResult

from ..audit import service as audit
from ..errors import Conflict, Invalid, NotFound, ValidationFailed, written
from ..org import service as org
from ..org.models import User
from . import policy
from .models import Finding, RectificationEvidence, RectificationNotice, RectificationStep

PROCESS_KEY = "rectification"
RESPOND_STEP, REINSPECT_STEP = "respond", "reinspect"
DECISIONS = {"respond": "反馈整改情况", "pass": "复查通过", "fail": "复查不通过"}
DEPARTMENT_LANE, INSPECTOR_LANE = "整改部门负责人", "监督检查人员"
EVIDENCE_LIMIT = 2 * 1024 * 1024  # the app's request limit (MAX_CONTENT_LENGTH) refuses larger ones first


def _deadline(value, now: datetime, field: str = "deadline") -> datetime:
    """A deadline in the future (a datetime with its zone); refused otherwise."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationFailed({field: "请填写有效的整改期限, 如 2026-12-31T18:00:00+08:00"}) from None
    if not isinstance(value, datetime):
        raise ValidationFailed({field: "请填写整改期限"})
    if value.tzinfo is None:
        raise ValidationFailed({field: "整改期限须带时区"})
    if value <= now:
        raise ValidationFailed({field: "整改期限不能早于当前时间"}, message="整改期限不能早于当前时间")
    return value.astimezone(timezone.utc)


def _text(data: dict, key: str, label: str) -> str:
    value = written(data, key)
    if len(value) < 2:
        raise ValidationFailed({key: f"请填写{label} (至少 2 个字)"})
    return value


def issue(session: Session, runtime: Runtime, *, actor: User, data: dict, now: datetime,
          finding_id: int | None = None) -> RectificationNotice:
    """下发整改通知书: an inspector notifies a department of a problem, what to do and by when."""
    policy.ensure_inspector(actor)
    department = str(data.get("department") or "").strip()
    problems = {}
    if org.department_by_name(session, department) is None:
        problems["department"] = "请选择被通知的部门"
    try:
        problem, requirement = _text(data, "problem", "存在的问题"), _text(data, "requirement", "整改要求")
        deadline = _deadline(data.get("deadline"), now)
    except ValidationFailed as exc:
        raise ValidationFailed({**problems, **exc.details["fields"]}, message=exc.message) from None
    if finding_id is not None and session.get(Finding, finding_id) is None:
        problems["finding_id"] = "找不到该检查发现"
    if problems:
        raise ValidationFailed(problems)
    year = now.year
    count = session.scalar(select(func.count()).select_from(RectificationNotice).where(
        RectificationNotice.number.like(f"ZG{year}-%"))) or 0
    notice = RectificationNotice(number=f"ZG{year}-{count + 1:04d}", department=department, problem=problem,
                                 requirement=requirement, deadline=deadline, status="issued", overdue=False,
                                 finding_id=finding_id, issued_by=actor.username, issued_at=now)
    session.add(notice)
    session.flush()
    result = runtime.start(session, PROCESS_KEY, data={"notice_id": notice.id, "deadline": deadline.isoformat()},
                           actor=actor.username, now=now, business_key=notice.number,
                           subject=f"{notice.number} 整改通知书 ({department})", ref_type="rectification",
                           ref_id=notice.id)
    notice.process_instance_id = result.instance.id
    _route(session, runtime, result, notice)
    audit.record(session, actor=actor.username, action="rectification.issue", object_type="rectification",
                 object_id=notice.id, now=now, details={"number": notice.number, "department": department,
                                                        "deadline": deadline.isoformat()})
    return notice


def complete_item(session: Session, runtime: Runtime, *, item: Item, actor: User, data: dict,
                  now: datetime) -> StepResult:
    """Respond (the department) or re-inspect (pass / fail with a new deadline): the inbox completer of `rectification`."""
    if item.kind != "task":
        raise Invalid("督办事项在整改反馈后自动关闭", code="not_a_task")
    notice = get(session, item.ref_id)
    decision = str(data.get("decision") or "")
    task_data = {"decision": decision}
    new_deadline = None
    if item.task_name == RESPOND_STEP:
        policy.ensure_respond(actor, notice)
        if decision != "respond":
            raise ValidationFailed({"decision": "此环节请选择“反馈整改情况”"})
        text = _text(data, "measures", "已采取的整改措施")
    else:
        policy.ensure_reinspect(actor, notice)
        if decision not in ("pass", "fail"):
            raise ValidationFailed({"decision": "请选择“复查通过”或“复查不通过”"})
        text = _text(data, "comment", "复查意见")
        if decision == "fail":
            new_deadline = _deadline(data.get("deadline"), now)
            task_data["deadline"] = new_deadline.isoformat()
    result = runtime.complete(session, item, actor=actor.username, now=now, data=task_data)
    step = RectificationStep(notice_id=notice.id, round=rounds(session, notice.id) + (decision == "respond"),
                             decision=decision, text=text, new_deadline=new_deadline, decided_by=actor.username,
                             decided_at=now)
    session.add(step)
    if decision == "respond":
        notice.status = "responded"
    elif decision == "fail":
        notice.status, notice.deadline, notice.overdue = "issued", new_deadline, False
    else:
        notice.status, notice.closed_at = "passed", now
    session.flush()
    _route(session, runtime, result, notice)
    audit.record(session, actor=actor.username, action=f"rectification.{'respond' if decision == 'respond' else 'reinspect'}",
                 object_type="rectification", object_id=notice.id, now=now,
                 details={"number": notice.number, "decision": decision, "round": step.round})
    return result


def rounds(session: Session, notice_id: int) -> int:
    """How many times the department has responded so far."""
    return session.scalar(select(func.count()).select_from(RectificationStep).where(
        RectificationStep.notice_id == notice_id, RectificationStep.decision == "respond")) or 0


def mark_overdue(session: Session, notice_id: int) -> None:
    """The deadline passed without a response (the diagram's timer)."""
    notice = session.get(RectificationNotice, notice_id)
    if notice is not None and notice.status == "issued":
        notice.overdue = True


def _route(session: Session, runtime: Runtime, result: StepResult, notice: RectificationNotice) -> None:
    """The response goes to the department's queue, held by its head; the re-inspection to the issuing inspector."""
    for opened in result.opened:
        if opened.task_name == RESPOND_STEP:
            dept = org.department_by_name(session, notice.department)
            head = org.get_user(session, dept.head_id) if dept is not None and dept.head_id else None
            runtime.update_item(session, opened, candidate_group=notice.department,
                                assignee=head.username if head else None)
        elif opened.task_name == REINSPECT_STEP:
            issuer = org.get_by_username(session, notice.issued_by)
            runtime.update_item(session, opened, candidate_group=issuer.department.name if issuer else None,
                                assignee=notice.issued_by)


def get(session: Session, notice_id: int) -> RectificationNotice:
    """A notice by id; NotFound otherwise."""
    notice = session.get(RectificationNotice, notice_id) if isinstance(notice_id, int) else None
    if notice is None:
        raise NotFound("整改通知书不存在", code="rectification_not_found")
    return notice


def steps_of(session: Session, notice_id: int) -> list[RectificationStep]:
    """A notice's responses and re-inspections, oldest first."""
    return list(session.scalars(select(RectificationStep).where(RectificationStep.notice_id == notice_id)
                                .order_by(RectificationStep.id)))


def evidence_of(session: Session, notice_id: int) -> list[RectificationEvidence]:
    """The files the department attached, oldest first."""
    return list(session.scalars(select(RectificationEvidence).where(RectificationEvidence.notice_id == notice_id)
                                .order_by(RectificationEvidence.id)))


def add_evidence(session: Session, *, notice: RectificationNotice, actor: User, filename: str, content_type: str,
                 content: bytes, now: datetime) -> RectificationEvidence:
    """整改佐证: the department attaches a file to its response (before it re-inspection)."""
    policy.ensure_respond(actor, notice)
    if notice.status == "passed":
        raise Conflict("该整改已通过复查, 不能再上传佐证", code="rectification_closed")
    name = (filename or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed({"file": "请选择文件 (文件名不超过 200 字)"})
    if not content:
        raise ValidationFailed({"file": "文件为空"})
    if len(content) > EVIDENCE_LIMIT:
        raise ValidationFailed({"file": f"文件不能超过 {EVIDENCE_LIMIT // 1024 // 1024} MB"})
    evidence = RectificationEvidence(notice_id=notice.id, filename=name, content_type=content_type or "application/octet-stream",
                                     size=len(content), content=content, uploaded_by=actor.username, uploaded_at=now)
    session.add(evidence)
    session.flush()
    audit.record(session, actor=actor.username, action="rectification.evidence", object_type="rectification",
                 object_id=notice.id, now=now, details={"number": notice.number, "attachment": evidence.id,
                                                        "size": evidence.size})
    return evidence


def list_notices(session: Session, actor: User, *, status: str | None = None) -> list[RectificationNotice]:
    """Notices the actor may read, newest first."""
    query = select(RectificationNotice).order_by(RectificationNotice.id.desc())
    if actor.role not in policy.OVERSIGHT:
        query = query.where(RectificationNotice.department == policy.department_of(actor))
    if status:
        query = query.where(RectificationNotice.status == status)
    return list(session.scalars(query.limit(500)))


def open_item(session: Session, notice: RectificationNotice):
    """The notice's open step (response or re-inspection), if any."""
    from engine.models import WorkItem

    if notice.process_instance_id is None:
        return None
    return session.scalars(select(WorkItem).where(WorkItem.instance_id == notice.process_instance_id,
                                                  WorkItem.kind == "task", WorkItem.status == "open")).first()


def describe(session: Session, notice: RectificationNotice) -> dict:
    """A notice with its rounds, its evidence files and its open step, as the API and pages show it."""
    item = open_item(session, notice)
    return {**{c: getattr(notice, c) for c in ("id", "number", "status", "status_label", "department", "problem",
                                             "requirement", "deadline", "overdue", "issued_by", "issued_at",
                                             "closed_at", "finding_id")},
            "task_id": item.id if item is not None else None, "task_name": item.task_name if item is not None else None,
            "steps": steps_of(session, notice.id),
            "evidence": [{"id": e.id, "filename": e.filename, "size": e.size, "uploaded_by": e.uploaded_by,
                          "uploaded_at": e.uploaded_at} for e in evidence_of(session, notice.id)]}


def notice_document(session: Session, notice: RectificationNotice, *, issuer: str, zone: str, now: datetime) -> dict:
    """The context of the printed 整改通知书 (processes/supervision/documents/supervision_notice.html)."""
    from zoneinfo import ZoneInfo

    from ..documents import content_sha256

    def local(value):
        return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if value else ""

    content = {"number": notice.number, "department": notice.department, "problem": notice.problem,
               "requirement": notice.requirement, "deadline": notice.deadline.isoformat(),
               "issued_by": notice.issued_by, "issued_at": notice.issued_at.isoformat()}
    return {"title": "整改通知书", "number": notice.number, "issuer": issuer, "generated_at": now, "notice": notice,
            "issued_by_name": org.display_name(session, notice.issued_by),
            "step_rows": [[s.round, DECISIONS.get(s.decision, s.decision), s.text, local(s.new_deadline),
                           org.display_name(session, s.decided_by), local(s.decided_at)] for s in steps_of(session, notice.id)],
            "content_sha256": content_sha256(content), "zone": zone}


def escalated_to(session: Session, notice: RectificationNotice) -> set[str]:
    """The superiors a late notice was escalated to (they may read it)."""
    from engine.models import WorkItem

    if notice.process_instance_id is None:
        return set()
    return set(session.scalars(select(WorkItem.assignee).where(WorkItem.instance_id == notice.process_instance_id,
                                                               WorkItem.kind == "escalation")))


def ensure_readable(session: Session, actor: User, notice: RectificationNotice) -> None:
    """Raise Forbidden unless the actor may read the notice (policy.may_see_notice)."""
    policy.ensure_see_notice(actor, notice, escalated_to(session, notice))
