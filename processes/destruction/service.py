"""Destruction batches (R4.5.1-R4.5.2): a retention list the archivist proposes (or the nightly scan collects), or
a department's application for an error or a duplicate; approval through bpmn/destruction_approval.bpmn.

Retention path: 档案室负责人鉴定 and one 业务部门鉴定 per department the forms belong to, all at once (a multi-instance
subprocess over `departments`), then 公司管理层批准; a return at any appraisal ends the approval. Error / duplicate
path: 部门负责人审核 → 公司管理层批准. Each step has an SLA boundary timer that escalates (the internal transfer's
`escalate`); the superior urges or takes the late step over (escalation.py).
Execution, its checks and the register are in execution.py.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine import Item, Runtime, StepResult, WorkItem

from ..archive.models import Filing
from ..audit import service as audit
from ..errors import Conflict, Forbidden, Invalid, NotFound, ValidationFailed, written
from ..forms.models import Attachment, Form
from ..inbox import escalations
from ..inputs import is_id
from ..org import service as org
from ..org.models import Department, User
from . import policy, retention
from .models import KINDS, Destruction, DestructionItem, DestructionStep, Tombstone

PROCESS_KEY = "destruction_approval"
MAX_FORMS = 10000  # forms in one batch
ARCHIVE_HEAD_LANE, DEPARTMENT_LANE = "档案室负责人", "业务部门负责人"
STEPS = {"appraise_archive": "档案室负责人鉴定", "appraise_department": "业务部门鉴定",
         "department_review": "部门负责人审核", "approve": "公司管理层批准"}


def form_ids_of(value) -> list[int]:
    """The forms a request names: a non-empty list of distinct positive whole numbers."""
    if not isinstance(value, list) or not value:
        raise ValidationFailed({"form_ids": "请选择要销毁的业务单"})
    if len(value) > MAX_FORMS:
        raise ValidationFailed({"form_ids": f"一批最多 {MAX_FORMS} 份 (现有 {len(value)} 份)"})
    if not all(is_id(i) for i in value):
        raise ValidationFailed({"form_ids": "须为业务单编号 (正整数) 的列表"})
    if len(set(value)) != len(value):
        raise ValidationFailed({"form_ids": "同一业务单不能重复选择"})
    return list(value)


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def create(session: Session, runtime: Runtime, config: dict, *, actor: User, body: dict, now: datetime) -> Destruction:
    """Start a batch and its approval: checked whole before anything is written (all or nothing)."""
    kind = body.get("kind")
    if kind not in KINDS:
        raise ValidationFailed({"kind": "销毁类型须为 retention (保管期满)、error (业务错误) 或 duplicate (重复)"})
    form_ids = form_ids_of(body.get("form_ids"))
    reason = written(body, "reason")
    if len(reason) < 2:
        raise ValidationFailed({"reason": "请写明销毁的理由"})
    evidence = body.get("evidence") or []
    if not isinstance(evidence, list) or not all(is_id(i) for i in evidence):
        raise ValidationFailed({"evidence": "证明材料须为附件编号的列表"})
    if kind != "retention" and not evidence:
        raise ValidationFailed({"evidence": "业务错误或重复的销毁申请须附证明材料"})
    forms = _forms(session, form_ids)
    policy.ensure_proposer(actor, kind, {f.department_id for f in forms.values()})
    filings = {f.form_id: f for ids in _chunks(form_ids)
               for f in session.scalars(select(Filing).where(Filing.form_id.in_(ids)))}
    _refuse_unfit(session, config, kind, form_ids, forms, filings, now)
    if evidence:  # kept with a form that stays (e.g. the original of a duplicate), so it outlives the batch
        found = set(session.scalars(select(Attachment.id).where(Attachment.id.in_(evidence),
                                                                Attachment.form_id.not_in(form_ids))))
        if found != set(evidence):
            raise ValidationFailed({"evidence": "证明材料须为不在本批销毁范围内的业务单附件, 以下附件不符: "
                                                + ", ".join(str(i) for i in evidence if i not in found)})
    departments = sorted({f.department_id for f in forms.values()})
    batch = Destruction(kind=kind, status="in_approval", reason=reason, evidence=list(evidence),
                        department_id=departments[0] if len(departments) == 1 else None,
                        created_by=actor.username, created_at=now, supervisors=[], paper=[])
    session.add(batch)
    session.flush()
    _add_items(session, config, batch, form_ids, forms, filings)
    _start(session, runtime, config, batch, actor, now)
    return batch


def _forms(session: Session, form_ids: list[int]) -> dict[int, Form]:
    forms = {f.id: f for ids in _chunks(form_ids) for f in session.scalars(select(Form).where(Form.id.in_(ids)))}
    missing = [i for i in form_ids if i not in forms]
    if missing:
        raise NotFound(f"业务单不存在: {', '.join(map(str, missing[:20]))}", code="form_not_found")
    return forms


def _refuse_unfit(session, config, kind, form_ids, forms, filings, now) -> None:
    """422 naming each form that may not be in this batch: not closed, destroyed, held, in an open batch, or (for
    retention) not filed or not past retention."""
    problems = []
    gone = {t for ids in _chunks(form_ids) for t in session.scalars(select(Tombstone.form_id)
                                                                     .where(Tombstone.form_id.in_(ids)))}
    held = retention.held_form_ids(session, form_ids) if len(form_ids) <= 5000 else {
        k: v for ids in _chunks(form_ids) for k, v in retention.held_form_ids(session, ids).items()}
    on = retention.today(config, now)
    for form_id in form_ids:
        form, filing = forms[form_id], filings.get(form_id)
        name = filing.archival_code if filing else form.number
        if form_id in gone:
            problems.append(f"{name} 已销毁")
        elif form.status != "closed":
            problems.append(f"{name} 尚未办结")
        elif form_id in held:
            problems.append(f"{name} 已暂缓销毁 (#{held[form_id].id}: {held[form_id].reason})")
        elif kind == "retention" and filing is None:
            problems.append(f"{name} 尚未归档, 不能按保管期满销毁")
        elif kind == "retention" and not retention.is_past_retention(filing, on):
            end = retention.ends_on(filing.retention, filing.year)
            problems.append(f"{name} 保管期限未满 ({filing.retention_label}, "
                            f"{'永久保存' if end is None else f'至 {end:%Y-%m-%d}'})")
        if len(problems) >= 50:
            break
    batched = {form_id for ids in _chunks(form_ids) for form_id in session.scalars(
        select(DestructionItem.form_id).join(Destruction, Destruction.id == DestructionItem.destruction_id)
        .where(DestructionItem.form_id.in_(ids), Destruction.status.in_(("in_approval", "approved"))))}
    problems += [f"{filings[i].archival_code if i in filings else forms[i].number} 已在另一批销毁审批中"
                 for i in sorted(batched)[:20]]
    if problems:
        raise ValidationFailed({"form_ids": "; ".join(problems[:20])},
                               message="以下业务单不能列入销毁清单: " + "; ".join(problems[:10]))


def _add_items(session, config, batch, form_ids, forms, filings) -> None:
    """The batch's list as the register will print it: from the filing (档号) where there is one, else the form."""
    rows = []
    for form_id in form_ids:
        filing = filings.get(form_id)
        if filing is not None:
            rows.append(dict(destruction_id=batch.id, form_id=form_id, archival_code=filing.archival_code,
                             title=filing.title, business_type=filing.business_type, department_id=filing.department_id,
                             year=filing.year, retention=filing.retention, pages=filing.pages,
                             volume_id=filing.volume_id))
            continue
        form = forms[form_id]
        rows.append(dict(destruction_id=batch.id, form_id=form_id, archival_code="",
                         title=f"{form.business_type} · {form.number}"[:300], business_type=form.business_type,
                         department_id=form.department_id, year=form.closed_at.year,
                         retention=retention.retention_for(session, config, form.business_type), pages=1,
                         volume_id=None))
    for start in range(0, len(rows), 1000):
        session.execute(insert(DestructionItem), rows[start:start + 1000])
    session.flush()


def _start(session, runtime, config, batch, actor, now) -> StepResult:
    result = runtime.start(session, PROCESS_KEY, data={"destruction_id": batch.id, "kind": batch.kind,
                                                       "departments": _department_ids(session, batch),
                                                       "approval_sla": config["destruction"]["approval_sla"]},
                           actor=actor.username, now=now, business_key=f"XH-{batch.id}",
                           subject=f"销毁清单 #{batch.id} ({batch.kind_label})", ref_type="destruction", ref_id=batch.id)
    batch.process_instance_id = result.instance.id
    audit.record(session, actor=actor.username, action="destruction.propose", object_type="destruction",
                 object_id=batch.id, now=now, details={"kind": batch.kind, "forms": count_items(session, batch.id)})
    route(session, runtime, result, batch)
    return result


def count_items(session: Session, destruction_id: int) -> int:
    """How many forms a batch lists."""
    from sqlalchemy import func

    return session.scalar(select(func.count(DestructionItem.id)).where(DestructionItem.destruction_id == destruction_id))


def item_form_ids(session: Session, destruction_id: int) -> list[int]:
    """The forms a batch lists now, in order."""
    return list(session.scalars(select(DestructionItem.form_id).where(DestructionItem.destruction_id == destruction_id)
                                .order_by(DestructionItem.form_id)))


def _department_ids(session: Session, batch: Destruction) -> list[int]:
    return list(session.scalars(select(DestructionItem.department_id).where(
        DestructionItem.destruction_id == batch.id).distinct().order_by(DestructionItem.department_id)))


def route(session: Session, runtime: Runtime, result: StepResult, batch: Destruction) -> None:
    """The archive head's appraisal goes to the archive's head; the department appraisals (one per department the
    forms belong to, opened together) each to one of those departments' heads; a department review to its head."""
    opened = [i for i in result.opened if i.task_name == "appraise_department"]
    if opened:  # the departments not given an appraisal yet, in order, to the new items in order
        given = set(session.scalars(select(WorkItem.candidate_group).where(
            WorkItem.instance_id == batch.process_instance_id, WorkItem.task_name == "appraise_department",
            WorkItem.id.not_in([i.id for i in opened]))))
        departments = [d for d in _departments(session, batch) if d.name not in given]
        for item, dept in zip(opened, departments):
            _give(session, runtime, item, dept)
    for item in result.opened:
        if item.task_name == "appraise_archive":
            _give(session, runtime, item, session.scalars(select(Department).where(Department.code == "archive")).first())
        elif item.task_name == "department_review":
            _give(session, runtime, item, _departments(session, batch)[0])


def _departments(session: Session, batch: Destruction) -> list[Department]:
    return list(session.scalars(select(Department).where(Department.id.in_(_department_ids(session, batch)))
                                .order_by(Department.id)))


def _give(session: Session, runtime: Runtime, item: Item, dept: Department | None) -> None:
    if dept is not None:
        head = org.get_user(session, dept.head_id) if dept.head_id else None
        runtime.update_item(session, item, candidate_group=dept.name, assignee=head.username if head else None)


def _ensure_step_holder(session: Session, actor: User, batch: Destruction, item: Item) -> None:
    """Who may decide this step: management approves; an appraisal or review is its department's head, or whoever
    took the late step over (escalation.take_over makes them its holder)."""
    step = item.task_name
    if step != "approve" and item.assignee == actor.username and took_over(session, batch, item, actor):
        return
    if step == "approve":
        policy.ensure_approver(actor)
        return
    if step == "appraise_archive":
        dept = session.scalars(select(Department).where(Department.code == "archive")).first()
        if dept is None or dept.head_id != actor.id:
            raise Forbidden("只有档案室负责人可以出具鉴定意见")
        return
    if step == "appraise_department":  # this item is one department's appraisal: that department's head
        dept = session.scalars(select(Department).where(Department.name == item.candidate_group)).first()
        if dept is None or dept.head_id != actor.id:
            raise Forbidden(f"只有{item.candidate_group or '该部门'}的负责人可以出具该部门的鉴定意见")
        return
    heads = {d.head_id for d in _departments(session, batch)}
    if actor.id not in heads:
        raise Forbidden("只有业务单所属部门的负责人可以审核")


def took_over(session: Session, batch: Destruction, item: Item, actor: User) -> bool:
    """Whether `actor` took this late step over (接办 of its 督办 item, recorded by inbox.escalations)."""
    return any(a.action == "take_over" and a.actor == actor.username for a in escalations.actions_on(session, [item.id]))


def may_decide(session: Session, user: User, batch: Destruction, step: Item) -> bool:
    """Whether the user may decide this step of the batch (as `complete_item` checks it)."""
    try:
        _ensure_step_holder(session, user, batch, step)
    except Forbidden:
        return False
    return user.active


def complete_item(session: Session, runtime: Runtime, *, item: Item, actor: User, data: dict, now: datetime) -> StepResult:
    """Approve or return one approval step (the inbox completer of destruction_approval); a return needs a comment."""
    if item.kind != "task":
        raise Invalid("该事项不是审批任务", code="not_a_task")
    batch = get(session, item.ref_id)
    _ensure_step_holder(session, actor, batch, item)
    decision = str(data.get("decision") or "")
    comment = written(data, "comment")
    if decision not in ("approve", "return"):
        raise ValidationFailed({"decision": "请选择“同意/批准”或“退回”"})
    if decision == "return" and not comment:
        raise ValidationFailed({"comment": "退回时请填写意见"})
    if item.task_name.startswith("appraise") and not comment:
        raise ValidationFailed({"comment": "请填写鉴定意见"})
    if item.task_name == "approve" and decision == "approve":
        batch.approved_form_ids = item_form_ids(session, batch.id)  # what management saw is what may be destroyed
        batch.approved_at = now
    result = runtime.complete(session, item, actor=actor.username, now=now, data={"decision": decision})
    session.add(DestructionStep(destruction_id=batch.id, step=item.task_name, decision=decision,
                                comment=comment or None, decided_by=actor.username, decided_at=now))
    session.flush()
    audit.record(session, actor=actor.username, action=f"destruction.{item.task_name}", object_type="destruction",
                 object_id=batch.id, now=now, details={"decision": decision, "status": batch.status})
    route(session, runtime, result, batch)
    return result


def mark(session: Session, batch: Destruction, status: str) -> None:
    """The diagram's end: approved (awaiting execution) or returned."""
    batch.status = status
    if status == "returned":
        batch.approved_form_ids, batch.approved_at = None, None
    session.flush()


def get(session: Session, destruction_id: int | None) -> Destruction:
    """A batch by id; NotFound otherwise."""
    batch = session.get(Destruction, destruction_id) if destruction_id else None
    if batch is None:
        raise NotFound("销毁批次不存在", code="destruction_not_found")
    return batch


def steps_of(session: Session, destruction_id: int) -> list[DestructionStep]:
    """A batch's approval decisions, in order."""
    return list(session.scalars(select(DestructionStep).where(DestructionStep.destruction_id == destruction_id)
                                .order_by(DestructionStep.id)))


def list_batches(session: Session, *, limit: int = 100) -> list[Destruction]:
    """Batches, newest first."""
    return list(session.scalars(select(Destruction).order_by(Destruction.id.desc()).limit(limit)))


def scan(session: Session, runtime: Runtime, config: dict, *, now: datetime) -> Destruction | None:
    """保管期满扫描: collect forms past retention, not held and in no open batch, into a proposal the archivist
    submits (POST /destructions/{id}/submit); at most [destruction] proposal_limit forms a night."""
    limit = int(config["destruction"]["proposal_limit"])
    filings = list(session.scalars(retention.due_query(session, retention.today(config, now)).limit(limit)))
    if not filings:
        return None
    batch = Destruction(kind="retention", status="proposed", reason="保管期满 (每日保管期限扫描)", evidence=[],
                        created_by="system", created_at=now, supervisors=[], paper=[])
    session.add(batch)
    session.flush()
    _add_items(session, config, batch, [f.form_id for f in filings], {}, {f.form_id: f for f in filings})
    audit.record(session, actor="system", action="destruction.scan", object_type="destruction", object_id=batch.id,
                 now=now, details={"forms": len(filings)})
    return batch


def submit_proposal(session: Session, runtime: Runtime, config: dict, *, actor: User, destruction_id: int,
                    body: dict, now: datetime) -> Destruction:
    """The archivist submits the scan's proposal (optionally leaving some forms out) into approval."""
    policy.ensure_proposer(actor, "retention", set())
    batch = get(session, destruction_id)
    if batch.status != "proposed":
        raise Conflict("该清单已提交审批", code="already_submitted")
    keep = [i for i in item_form_ids(session, batch.id) if i not in set(body.get("exclude") or [])]
    batch.status = "superseded"  # the proposal is replaced by the submitted batch
    session.flush()
    return create(session, runtime, config, actor=actor, now=now,
                  body={"kind": "retention", "form_ids": keep, "reason": body.get("reason") or batch.reason})


def ids_of_numbers(session: Session, numbers: list[str]) -> list[int]:
    """The ids of forms named by their numbers (as people know them); a number not found is refused by name."""
    if not numbers:
        raise ValidationFailed({"form_ids": "请填写要销毁的业务单编号"})
    found = dict(session.execute(select(Form.number, Form.id).where(Form.number.in_(numbers))).all())
    missing = [n for n in numbers if n not in found]
    if missing:
        raise ValidationFailed({"form_ids": f"业务单不存在: {', '.join(missing[:20])}"})
    return [found[n] for n in numbers]


def items_of(session: Session, destruction_id: int, *, limit: int = 500) -> list[DestructionItem]:
    """The first `limit` forms of a batch, by 档号."""
    return list(session.scalars(select(DestructionItem).where(DestructionItem.destruction_id == destruction_id)
                                .order_by(DestructionItem.archival_code, DestructionItem.form_id).limit(limit)))
