"""Inspections (R5.1): automatic findings read from the records, manual findings, the inspector's evaluation.

What an inspection reads for each stage (the rest as the stages land): generation — corrections and returns
for correction of forms the department filled; circulation — overdue handovers in the department and their
late reasons; storage — backups not verified or failed, integrity runs that found a mismatch, bound volumes
with no recorded location and loans past their return date (the archive is organisation-wide, so these are
the same whichever department is inspected); every stage — the department's staff without training in the
last 12 months (R6.3).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..archive.models import Backup, IntegrityRun, Loan, Volume
from ..audit import service as audit
from ..errors import Conflict, NotFound, ValidationFailed, written
from ..forms.models import Correction, Form
from ..org import service as org
from ..org.models import User
from ..transfer.models import Handover
from . import policy, training
from .models import STAGES, Finding, Inspection, InspectionPlan

RECORDS_KEPT = 200  # records linked per finding; `count` holds them all
CHECKLISTS = {
    "generation": ["模板为已批准的有效版本", "必填项完整、格式正确", "更正有更正章和签名"],
    "circulation": ["交接记录完整", "在时限内办理", "逾期均有原因说明"],
    "storage": ["备份按期完成并经验证", "完整性校验通过", "纸质件存放位置已登记"],
    "query": ["查询经审批", "敏感信息查看有记录"],
    "destruction": ["销毁经审批", "有两名监销人签字"],
}


def _window(config: dict) -> int:
    return int(config.get("supervision", {}).get("inspection_window_days", 90))


def _overdue_handovers(session, department_id, department, since, now):
    rows = session.execute(select(Handover.id, Handover.form_id, Form.number, Handover.step_name, Handover.late_reason)
                           .join(Form, Form.id == Handover.form_id)
                           .where(Handover.to_department == department, Handover.overdue.is_(True),
                                  Handover.handed_at >= since, Handover.handed_at < now)
                           .order_by(Handover.id)).all()
    records = [{"type": "handover", "id": r.id, "form_id": r.form_id,
                "label": f"{r.number} {r.step_name}" + (f" (逾期原因: {r.late_reason})" if r.late_reason else " (未说明原因)")}
               for r in rows]
    return "overdue_handovers", "逾期办理的交接", records


def _corrections(session, department_id, department, since, now):
    rows = session.execute(select(Form.id, Form.number, func.count(Correction.id)).join(Correction, Correction.form_id == Form.id)
                           .where(Form.department_id == department_id, Correction.corrected_at >= since,
                                  Correction.corrected_at < now).group_by(Form.id, Form.number).order_by(Form.id)).all()
    return "corrections", "提交后更正的业务单", [{"type": "form", "id": r[0], "label": f"{r[1]} (更正 {r[2]} 处)"} for r in rows]


def _returns(session, department_id, department, since, now):
    rows = session.execute(select(Form.id, Form.number, func.count(Handover.id)).join(Handover, Handover.form_id == Form.id)
                           .where(Form.department_id == department_id, Handover.kind == "return",
                                  Handover.handed_at >= since, Handover.handed_at < now)
                           .group_by(Form.id, Form.number).order_by(Form.id)).all()
    return "returns", "被退回补正的业务单", [{"type": "form", "id": r[0], "label": f"{r[1]} (退回 {r[2]} 次)"} for r in rows]


def _unverified_backups(session, department_id, department, since, now):
    rows = session.execute(select(Backup.id, Backup.filename, Backup.verified, Backup.verify_detail)
                           .where(Backup.created_at >= since, Backup.created_at < now, Backup.deleted_at.is_(None),
                                  Backup.verified.is_not(True)).order_by(Backup.id)).all()
    records = [{"type": "backup", "id": r.id, "label": f"{r.filename} ("
                + ("验证未通过: " + (r.verify_detail or "") if r.verified is False else "未验证") + ")"} for r in rows]
    return "unverified_backups", "未验证或验证未通过的备份", records


def _integrity_failures(session, department_id, department, since, now):
    rows = session.execute(select(IntegrityRun.id, IntegrityRun.started_at, IntegrityRun.mismatches)
                           .where(IntegrityRun.started_at >= since, IntegrityRun.started_at < now,
                                  IntegrityRun.mismatches > 0).order_by(IntegrityRun.id)).all()
    records = [{"type": "integrity_run", "id": r.id,
                "label": f"{r.started_at:%Y-%m-%d} 完整性校验 (不一致 {r.mismatches} 件)"} for r in rows]
    return "integrity_failures", "完整性校验发现不一致", records


def _volumes_without_location(session, department_id, department, since, now):
    rows = session.execute(select(Volume.id, Volume.title).where(Volume.status == "closed", Volume.room.is_(None))
                           .order_by(Volume.id)).all()
    return "volumes_without_location", "已装订但未登记存放位置的案卷", \
        [{"type": "volume", "id": r.id, "label": r.title} for r in rows]


def _overdue_loans(session, department_id, department, since, now):
    rows = session.execute(select(Loan.id, Loan.volume_id, Loan.borrower, Loan.due_date, Volume.title)
                           .join(Volume, Volume.id == Loan.volume_id)
                           .where(Loan.status == "lent", Loan.due_date < now.date()).order_by(Loan.id)).all()
    records = [{"type": "volume", "id": r.volume_id, "label": f"{r.title} (借阅人 {r.borrower}, 应还 {r.due_date})"}
               for r in rows]
    return "overdue_loans", "逾期未归还的借阅", records


CHECKS = {"generation": (_corrections, _returns), "circulation": (_overdue_handovers,),
          "storage": (_unverified_backups, _integrity_failures, _volumes_without_location, _overdue_loans)}


def _untrained(session, department, now):
    staff = training.overdue(session, now=now, department=department)
    records = [{"type": "user", "id": s["username"],
                "label": f"{s['name']} (上次培训: {s['last_training'] or '无'})"} for s in staff]
    return "untrained", "12 个月内未参加法规培训的员工", records


def run(session: Session, config: dict, *, inspector: str, department: str, stage: str, now: datetime,
        kind: str = "adhoc", plan: InspectionPlan | None = None) -> Inspection:
    """Open an inspection of a department's stage and record what the records show as findings."""
    problems = {}
    dept = org.department_by_name(session, department or "")
    if dept is None:
        problems["department"] = "请选择被检查的部门"
    if stage not in STAGES:
        problems["stage"] = "请选择检查环节: " + "、".join(STAGES.values())
    if problems:
        raise ValidationFailed(problems)
    count = session.scalar(select(func.count()).select_from(Inspection).where(Inspection.number.like(f"JC{now.year}-%"))) or 0
    inspection = Inspection(number=f"JC{now.year}-{count + 1:04d}", department=department, stage=stage, kind=kind,
                            plan_id=plan.id if plan else None,
                            checklist=[{"item": c, "ok": None} for c in (plan.checklist if plan else CHECKLISTS[stage])],
                            status="open", inspector=inspector, started_at=now)
    session.add(inspection)
    session.flush()
    since = now - timedelta(days=_window(config))
    found = [check(session, dept.id, department, since, now) for check in CHECKS.get(stage, ())]
    found.append(_untrained(session, department, now))
    for code, title, records in found:
        if records:
            session.add(Finding(inspection_id=inspection.id, kind=code, title=title, count=len(records),
                                records=records[:RECORDS_KEPT], created_by="system", created_at=now,
                                detail=f"检查期间: 最近 {_window(config)} 天"))
    session.flush()
    audit.record(session, actor=inspector, action="inspection.run", object_type="inspection", object_id=inspection.id,
                 now=now, details={"number": inspection.number, "department": department, "stage": stage})
    return inspection


def start(session: Session, config: dict, *, actor: User, data: dict, now: datetime) -> Inspection:
    """An ad hoc inspection an inspector opens."""
    policy.ensure_inspector(actor)
    return run(session, config, inspector=actor.username, department=str(data.get("department") or ""),
               stage=str(data.get("stage") or ""), now=now)


def get(session: Session, inspection_id: int) -> Inspection:
    """An inspection by id; NotFound otherwise."""
    inspection = session.get(Inspection, inspection_id)
    if inspection is None:
        raise NotFound("检查记录不存在", code="inspection_not_found")
    return inspection


def findings_of(session: Session, inspection_id: int) -> list[Finding]:
    """An inspection's findings, automatic ones first."""
    return list(session.scalars(select(Finding).where(Finding.inspection_id == inspection_id).order_by(Finding.id)))


def add_finding(session: Session, *, inspection: Inspection, actor: User, data: dict, now: datetime) -> Finding:
    """A finding the inspector writes."""
    policy.ensure_inspector(actor)
    if inspection.status != "open":
        raise Conflict("检查已结束, 不能再添加发现", code="inspection_closed")
    title, detail = written(data, "title", 200), written(data, "detail")
    if len(title) < 2:
        raise ValidationFailed({"title": "请填写发现的问题 (至少 2 个字)"})
    finding = Finding(inspection_id=inspection.id, kind="manual", title=title, detail=detail or None, count=0,
                      records=[], created_by=actor.username, created_at=now)
    session.add(finding)
    session.flush()
    audit.record(session, actor=actor.username, action="inspection.finding", object_type="inspection",
                 object_id=inspection.id, now=now, details={"number": inspection.number})
    return finding


def evaluate(session: Session, *, inspection: Inspection, actor: User, data: dict, now: datetime) -> Inspection:
    """The inspector's evaluation closes the inspection; checklist items may be ticked."""
    policy.ensure_inspector(actor)
    if inspection.status != "open":
        raise Conflict("检查已结束", code="inspection_closed")
    evaluation = written(data, "evaluation")
    if len(evaluation) < 2:
        raise ValidationFailed({"evaluation": "请填写检查评价 (至少 2 个字)"})
    ticks = data.get("checklist") or {}
    if isinstance(ticks, dict):
        inspection.checklist = [{"item": c["item"], "ok": bool(ticks.get(c["item"])) if c["item"] in ticks else c["ok"]}
                                for c in inspection.checklist]
    inspection.evaluation, inspection.status, inspection.closed_at = evaluation, "closed", now
    session.flush()
    audit.record(session, actor=actor.username, action="inspection.close", object_type="inspection",
                 object_id=inspection.id, now=now, details={"number": inspection.number})
    return inspection


def list_inspections(session: Session, limit: int = 200) -> list[Inspection]:
    """Inspections, newest first."""
    return list(session.scalars(select(Inspection).order_by(Inspection.id.desc()).limit(limit)))


def add_plan(session: Session, *, actor: User, data: dict, now: datetime) -> InspectionPlan:
    """A monthly inspection plan for a department and stage."""
    policy.ensure_inspector(actor)
    department, stage = str(data.get("department") or ""), str(data.get("stage") or "")
    problems = {}
    if org.department_by_name(session, department) is None:
        problems["department"] = "请选择被检查的部门"
    if stage not in STAGES:
        problems["stage"] = "请选择检查环节"
    if problems:
        raise ValidationFailed(problems)
    plan = InspectionPlan(department=department, stage=stage, checklist=CHECKLISTS[stage], active=True,
                          created_by=actor.username, created_at=now)
    session.add(plan)
    session.flush()
    return plan


def plans(session: Session) -> list[InspectionPlan]:
    """Active plans."""
    return list(session.scalars(select(InspectionPlan).where(InspectionPlan.active.is_(True)).order_by(InspectionPlan.id)))


def run_plans(session: Session, config: dict, *, now: datetime) -> list[Inspection]:
    """The monthly job: one scheduled inspection per active plan."""
    return [run(session, config, inspector="system", department=p.department, stage=p.stage, now=now,
                kind="scheduled", plan=p) for p in plans(session)]
