"""Design a template, send a version through approval, and publish it (R4.1.1-R4.1.2).

The review step belongs to the head of the designing department: the diagram's lane names the role
(设计部门负责人), and each opened review item is routed to that department's queue and assigned to its head.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Item, Runtime, StepResult

from ..audit import service as audit
from ..errors import Conflict, Forbidden, Invalid, NotFound, ValidationFailed, written
from ..forms.models import FormTemplate, TemplateVersion
from ..forms.schemas import FIELD_TYPES
from ..org import service as org
from ..org.models import Department, User
from .models import TemplateReview

PROCESS_KEY = "template_approval"
REVIEW_STEP, APPROVE_STEP = "review", "approve"
DESIGNER_ROLES = {"handler", "head", "manager"}
# R4.1.1: business type, customer information, business content, handling time, handling staff.
REQUIRED_FIELDS = [("business_type", "业务类型"), ("customer", "客户信息"), ("content", "业务内容"),
                   ("handled_at", "办理时间"), ("handled_by", "经办人员")]


def check_fields(fields: list[dict]) -> list[dict]:
    """The fields in order, refused when a field is malformed or one R4.1.1 requires is missing."""
    problems, codes = {}, [f["code"] for f in fields]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        problems["fields"] = "字段代码重复: " + "、".join(duplicates)
    missing = [f"{label} ({code}{'_…' if code == 'customer' else ''})" for code, label in REQUIRED_FIELDS
               if not any(c == code or (code == "customer" and c.startswith("customer")) for c in codes)]
    if missing:
        problems["fields"] = "模板缺少必备的字段: " + "、".join(missing)
    for spec in fields:
        if spec["type"] == "choice" and not spec.get("choices"):
            problems[f"fields.{spec['code']}"] = f"“{spec['label']}”是选项字段, 请列出可选项"
        if spec["type"] not in FIELD_TYPES:
            problems[f"fields.{spec['code']}"] = "字段类型不正确"
    if problems:
        raise ValidationFailed(problems, message="模板设计有误, 请按提示修改")
    return [{k: v for k, v in spec.items() if v not in (None, "", [])} | {"required": bool(spec.get("required")),
             "sensitive": bool(spec.get("sensitive"))} for spec in fields]


def design(session: Session, runtime: Runtime, *, actor: User, name: str, business_type: str, fields: list[dict],
           submit: bool, note: str, now: datetime) -> TemplateVersion:
    """A department's new template (模板设计) and its first version; with submit, into approval at once."""
    if actor.role not in DESIGNER_ROLES:
        raise Forbidden("只有业务部门的经办、负责人或管理层可以设计模板")
    checked = check_fields(fields)
    if session.scalar(select(FormTemplate.id).where(FormTemplate.name == name.strip())):
        raise ValidationFailed({"name": "已有同名模板, 请修改该模板 (提交新版本)"})
    template = FormTemplate(code=f"tmp-{uuid.uuid4().hex[:20]}", name=name.strip(), business_type=business_type.strip(),
                            department_id=actor.department_id, created_at=now)
    session.add(template)
    session.flush()
    template.code = f"T{template.id:05d}"
    return _new_version(session, runtime, template, actor=actor, fields=checked, submit=submit, note=note, now=now)


def change(session: Session, runtime: Runtime, *, template_id: int, actor: User, fields: list[dict], submit: bool,
           note: str, now: datetime) -> TemplateVersion:
    """A change to a template: a new version through the same approval; forms keep the version they were filled on."""
    template = get_template(session, template_id)
    _ensure_designer(actor, template)
    busy = session.scalar(select(TemplateVersion.version).where(TemplateVersion.template_id == template.id,
                                                                TemplateVersion.status.in_(("draft", "in_review"))))
    if busy:
        raise Conflict(f"该模板的第 {busy} 版尚在草稿或审批中, 请先完成", code="version_pending")
    return _new_version(session, runtime, template, actor=actor, fields=check_fields(fields), submit=submit, note=note,
                        now=now)


def submit_version(session: Session, runtime: Runtime, *, version: TemplateVersion, actor: User, now: datetime) -> StepResult:
    """Send a draft version into approval: the department head reviews, then management approves."""
    _ensure_designer(actor, version.template)
    if version.status != "draft":
        raise Conflict("该版本已提交审批", code="already_submitted")
    version.status, version.submitted_at = "in_review", now
    result = runtime.start(session, PROCESS_KEY, data={"template_version_id": version.id}, actor=actor.username, now=now,
                           business_key=f"{version.template.code}v{version.version}", subject=version.template.name,
                           ref_type="template_version", ref_id=version.id)
    version.process_instance_id = result.instance.id
    _route(session, runtime, result, version)
    return result


def complete_item(session: Session, runtime: Runtime, *, item: Item, actor: User, data: dict, now: datetime) -> StepResult:
    """Approve or return one approval step (the inbox completer of process template_approval)."""
    if item.kind != "task":
        raise Invalid("该事项不是审批任务", code="not_a_task")
    version = session.get(TemplateVersion, item.ref_id)
    if version is None:
        raise NotFound("模板版本不存在", code="template_not_found")
    step = REVIEW_STEP if item.task_name == REVIEW_STEP else APPROVE_STEP
    _ensure_approver(session, actor, version, step)
    decision = str(data.get("decision") or "")
    comment = written(data, "comment")
    if decision not in ("approve", "return"):
        raise ValidationFailed({"decision": "请选择“批准”或“退回”"})
    if decision == "return" and not comment:
        raise ValidationFailed({"comment": "退回时请填写意见"})
    result = runtime.complete(session, item, actor=actor.username, now=now, data={"decision": decision})
    session.add(TemplateReview(version_id=version.id, step=step, decision=decision, comment=comment or None,
                               decided_by=actor.username, decided_at=now))
    audit.record(session, actor=actor.username, action=f"template.{step}", object_type="template_version",
                 object_id=version.id, now=now, details={"template_id": version.template_id, "version": version.version,
                                                         "decision": decision})
    if version.status == "active":
        audit.record(session, actor=actor.username, action="template.publish", object_type="template_version",
                     object_id=version.id, now=now, details={"template_id": version.template_id,
                                                             "version": version.version})
    _route(session, runtime, result, version)
    return result


def publish(session: Session, version: TemplateVersion, now: datetime) -> None:
    """Make an approved version the active one; the version it replaces is superseded (and stays readable)."""
    for old in session.scalars(select(TemplateVersion).where(TemplateVersion.template_id == version.template_id,
                                                             TemplateVersion.status == "active")).all():
        old.status = "superseded"
    version.status, version.activated_at = "active", now


def reject(version: TemplateVersion) -> None:
    """A returned version: kept, readable, never used."""
    version.status = "rejected"


def get_template(session: Session, template_id: int) -> FormTemplate:
    """A template by id; NotFound otherwise."""
    template = session.get(FormTemplate, template_id)
    if template is None:
        raise NotFound("模板不存在", code="template_not_found")
    return template


def get_version(session: Session, template_id: int, number: int) -> TemplateVersion:
    """One version of a template."""
    version = session.scalars(select(TemplateVersion).where(TemplateVersion.template_id == template_id,
                                                            TemplateVersion.version == number)).first()
    if version is None:
        raise NotFound("模板版本不存在", code="template_not_found")
    return version


def versions_of(session: Session, template_id: int) -> list[TemplateVersion]:
    """Every version of a template, newest first (rejected and superseded included)."""
    return list(session.scalars(select(TemplateVersion).where(TemplateVersion.template_id == template_id)
                                .order_by(TemplateVersion.version.desc())).all())


def reviews_of(session: Session, version_ids: list[int]) -> dict[int, list[TemplateReview]]:
    """The approval records of versions, oldest first."""
    found: dict[int, list[TemplateReview]] = {v: [] for v in version_ids}
    if version_ids:
        for review in session.scalars(select(TemplateReview).where(TemplateReview.version_id.in_(version_ids))
                                      .order_by(TemplateReview.id)).all():
            found[review.version_id].append(review)
    return found


def all_templates(session: Session) -> list[FormTemplate]:
    """Every template, by name."""
    return list(session.scalars(select(FormTemplate).order_by(FormTemplate.name)).all())


def department_name(session: Session, template: FormTemplate) -> str:
    """The designing department's name."""
    dept = session.get(Department, template.department_id) if template.department_id else None
    return dept.name if dept else ""


def _new_version(session, runtime, template, *, actor, fields, submit, note, now) -> TemplateVersion:
    number = (session.scalar(select(func.max(TemplateVersion.version)).where(
        TemplateVersion.template_id == template.id)) or 0) + 1
    version = TemplateVersion(template_id=template.id, version=number, status="draft", fields=fields,
                              created_by=actor.username, created_at=now, note=note or None)
    version.template = template
    session.add(version)
    session.flush()
    audit.record(session, actor=actor.username, action="template.design", object_type="template_version",
                 object_id=version.id, now=now, details={"template_id": template.id, "version": number,
                                                         "fields": [f["code"] for f in fields]})
    if submit:
        submit_version(session, runtime, version=version, actor=actor, now=now)
    return version


def _ensure_designer(actor: User, template: FormTemplate) -> None:
    if actor.role not in DESIGNER_ROLES or (actor.role != "manager" and actor.department_id != template.department_id):
        raise Forbidden("只有设计部门 (或管理层) 可以修改该模板")


def may_approve(session: Session, actor: User, item: Item) -> bool:
    """Whether the actor may complete a template-approval item (review: the designing department's head)."""
    version = session.get(TemplateVersion, item.ref_id)
    if version is None:
        return False
    try:
        _ensure_approver(session, actor, version, REVIEW_STEP if item.task_name == REVIEW_STEP else APPROVE_STEP)
    except Forbidden:
        return False
    return True


def _ensure_approver(session: Session, actor: User, version: TemplateVersion, step: str) -> None:
    if step == REVIEW_STEP:
        dept = session.get(Department, version.template.department_id) if version.template.department_id else None
        if dept is None or dept.head_id != actor.id:
            raise Forbidden("只有设计部门的负责人可以审核该模板")
    elif actor.role != "manager":
        raise Forbidden("只有公司管理层可以批准模板")


def _route(session: Session, runtime: Runtime, result: StepResult, version: TemplateVersion) -> None:
    """A review item goes to the designing department's queue, assigned to its head."""
    for opened in result.opened:
        if opened.task_name != REVIEW_STEP:
            continue
        dept = session.get(Department, version.template.department_id) if version.template.department_id else None
        if dept is not None:
            head = org.get_user(session, dept.head_id) if dept.head_id else None
            runtime.update_item(session, opened, candidate_group=dept.name, assignee=head.username if head else None)
