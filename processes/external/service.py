"""Start an external transfer, check and approve it, and read it (R4.2.3).

The diagram (bpmn/external_transfer.bpmn) checks the package (a second person of the department), asks
management when sensitive values go in full, freezes the snapshot (snapshot.py), then waits for the receiving
unit's receipt (receipts.py) with a boundary timer that escalates like an internal hop.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.rows import Item
from engine.runtime import Runtime, StepResult

from ..audit import service as audit
from ..errors import Invalid, NotFound, ValidationFailed, written
from ..forms.models import Form
from ..forms.schemas import is_sensitive
from ..org import service as org
from ..org.models import User
from ..transfer import service as transfer_service
from ..transfer.models import Handover
from . import policy
from .models import ExternalTransfer

PROCESS_KEY = "external_transfer"
CHECK_STEP, APPROVE_STEP, RECEIPT_STEP = "check", "approve", "await_receipt"
DECISIONS = {"approve": "同意", "return": "退回"}
DEFAULTS = {"receipt_days": 14, "receipt_day_seconds": 86400, "late_link_days": 3, "max_code_attempts": 5}


def settings(config: dict) -> dict:
    """The [external] settings with their defaults."""
    return {**DEFAULTS, **config.get("external", {})}


def receipt_wait(config: dict, days: int) -> timedelta:
    """How long the receiving unit has to sign: `days` receipt days."""
    return timedelta(seconds=days * int(settings(config)["receipt_day_seconds"]))


def _check_request(form: Form, data: dict) -> dict:
    """The request's fields, refused with a message per field (unknown codes named, 1-90 days)."""
    specs = {f["code"]: f for f in form.template_version.fields}
    problems: dict[str, str] = {}
    chosen = data.get("fields")
    if chosen is not None:
        unknown = [c for c in chosen if c not in specs]
        if unknown:
            problems["fields"] = "该业务单没有这些字段: " + "、".join(unknown)
        elif not chosen:
            problems["fields"] = "请至少选择一个字段, 或发送整张业务单"
    full = list(dict.fromkeys(data.get("full_fields") or []))
    unknown_full = [c for c in full if c not in specs]
    if unknown_full:
        problems["full_fields"] = "该业务单没有这些字段: " + "、".join(unknown_full)
    else:
        plain = [specs[c].get("label", c) for c in full if not is_sensitive(specs[c])]
        unsent = [specs[c].get("label", c) for c in full if chosen is not None and c not in chosen]
        if plain:
            problems["full_fields"] = "这些字段不是敏感信息, 无需申请全文: " + "、".join(plain)
        elif unsent:
            problems["full_fields"] = "这些字段未选择发送: " + "、".join(unsent)
    reason = written(data, "full_reason", 500)
    if full and len(reason) < 2:
        problems["full_reason"] = "发送敏感信息全文须说明理由 (将由管理层审批)"
    days = data.get("receipt_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 90:
        problems["receipt_days"] = "签收期限须为 1 至 90 天"
    for key, label, limit in (("recipient_unit", "接收单位", 200), ("recipient_name", "接收人", 100),
                              ("recipient_contact", "联系方式", 200), ("purpose", "移交用途", 1000)):
        value = written(data, key, limit)
        if len(value) < 2:
            problems[key] = f"请填写{label}"
    if problems:
        raise ValidationFailed(problems, message="对外移交申请有误, 请按提示修改")
    return {"fields": list(dict.fromkeys(chosen)) if chosen is not None else None, "full_fields": full,
            "full_reason": reason or None, "receipt_days": days}


def start(session: Session, runtime: Runtime, config: dict, *, form: Form, actor: User, data: dict,
          now: datetime) -> ExternalTransfer:
    """对外移交 申请: record the request and start the check (R4.2.3)."""
    policy.ensure_may_start(session, actor, form)
    data = {"receipt_days": settings(config)["receipt_days"], **{k: v for k, v in data.items() if v is not None or
                                                                 k == "fields"}}
    checked = _check_request(form, data)
    transfer = ExternalTransfer(
        form_id=form.id, form_number=form.number, department=actor.department.name, started_by=actor.username,
        started_at=now, recipient_unit=written(data, "recipient_unit", 200),
        recipient_name=written(data, "recipient_name", 100), recipient_contact=written(data, "recipient_contact", 200),
        purpose=written(data, "purpose", 1000), status="checking", escalation_level=0, **checked)
    session.add(transfer)
    session.flush()
    seconds = int(receipt_wait(config, transfer.receipt_days).total_seconds())
    result = runtime.start(
        session, settings(config).get("process", PROCESS_KEY), actor=actor.username, now=now,
        data={"transfer_id": transfer.id, "receipt_sla": f"PT{seconds}S",
              "approval": "needed" if transfer.full_fields else "none"},
        business_key=f"WY{transfer.id:06d}", subject=f"{form.number} 对外移交至 {transfer.recipient_unit}",
        ref_type="external_transfer", ref_id=transfer.id)
    transfer.instance_id = result.instance.id
    _route(session, runtime, result, transfer, now)
    audit.record(session, actor=actor.username, action="external_transfer.start", object_type="external_transfer",
                 object_id=transfer.id, now=now, details={
                     "form": form.number, "recipient_unit": transfer.recipient_unit,
                     "fields": transfer.fields, "full_fields": transfer.full_fields, "receipt_days": transfer.receipt_days})
    return transfer


def complete_item(session: Session, runtime: Runtime, *, item: Item, actor: User, data: dict, now: datetime) -> StepResult:
    """Check or approve (the inbox completer of process external_transfer); the wait for the receipt ends only
    with a receipt."""
    if item.kind != "task":
        raise Invalid("督办事项在原事项办结后自动关闭, 请使用催办、改派或接办", code="not_a_task")
    transfer = get(session, item.ref_id)
    if item.task_name == RECEIPT_STEP:
        raise Invalid("等待接收单位签收: 请发送签收链接, 或上传签字的纸质签收凭证", code="awaiting_receipt")
    if item.task_name == CHECK_STEP:
        policy.ensure_may_check(session, actor, transfer)
    else:
        policy.ensure_may_approve(actor, transfer)
    decision = str(data.get("decision") or "")
    comment = written(data, "comment")
    if decision not in DECISIONS:
        raise ValidationFailed({"decision": "请选择“同意”或“退回”"})
    if decision == "return" and not comment:
        raise ValidationFailed({"comment": "退回时请填写意见"})
    if item.task_name == CHECK_STEP:
        transfer.checked_by = actor.username
    else:
        transfer.approved_by = actor.username
    if decision == "return":
        transfer.returned_comment = comment
    late = item.is_overdue(now)
    result = runtime.complete(session, item, actor=actor.username, now=now, data={"decision": decision})
    audit.record(session, actor=actor.username, action=f"external_transfer.{item.task_name}",
                 object_type="external_transfer", object_id=transfer.id, now=now,
                 details={"decision": decision, "late": late})
    _route(session, runtime, result, transfer, now)
    return result


def _route(session: Session, runtime: Runtime, result: StepResult, transfer: ExternalTransfer, now: datetime) -> None:
    """The check goes to the sending department (its head unless the head asked); the wait for the receipt to
    the starter, with a handover record so that its lateness escalates as a hop's does."""
    for opened in result.opened:
        if opened.task_name == CHECK_STEP:
            department = org.department_by_name(session, transfer.department)
            head = org.get_user(session, department.head_id) if department and department.head_id else None
            assignee = head.username if head is not None and head.username != transfer.started_by else None
            runtime.update_item(session, opened, candidate_group=transfer.department, assignee=assignee)
        elif opened.task_name == APPROVE_STEP:
            transfer.status = "awaiting_approval"
        elif opened.task_name == RECEIPT_STEP:
            runtime.update_item(session, opened, candidate_group=transfer.department, assignee=transfer.started_by)
            opened.candidate_group, opened.assignee = transfer.department, transfer.started_by
            transfer_service.record_hops(session, StepResult(instance=result.instance, opened=[opened]),
                                         form_id=transfer.form_id, from_department=transfer.department,
                                         from_user=transfer.started_by, kind="external", now=now)


def get(session: Session, transfer_id: int) -> ExternalTransfer:
    """A transfer by id; NotFound otherwise."""
    transfer = session.get(ExternalTransfer, transfer_id)
    if transfer is None:
        raise NotFound("对外移交记录不存在", code="external_transfer_not_found")
    return transfer


def of_form(session: Session, form_id: int) -> list[ExternalTransfer]:
    """A form's external transfers, newest first."""
    return list(session.scalars(select(ExternalTransfer).where(ExternalTransfer.form_id == form_id)
                                .order_by(ExternalTransfer.id.desc())))


def by_snapshot(session: Session, sha256: str) -> ExternalTransfer | None:
    """The transfer whose snapshot has this SHA-256."""
    return session.scalars(select(ExternalTransfer).where(ExternalTransfer.snapshot_sha256 == sha256.lower())).first()


def receipt_item(session: Session, runtime: Runtime, transfer: ExternalTransfer) -> Item | None:
    """The open wait-for-receipt item of a sent transfer."""
    item_id = session.scalar(select(Handover.work_item_id).where(
        Handover.instance_id == transfer.instance_id, Handover.step == RECEIPT_STEP,
        Handover.status.in_(("pending", "received"))).order_by(Handover.id.desc()).limit(1))
    return runtime.get_item(session, item_id) if item_id else None


def sensitive_codes(form: Form) -> list[str]:
    """The form's fields that go masked unless sent in full."""
    return [f["code"] for f in form.template_version.fields if is_sensitive(f)]
