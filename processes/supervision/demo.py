"""Supervision demo: monthly KPI snapshots of the demo history, training, an inspection with its notices, appraisals.

Made through the services at their own past times, after the demo history (processes/demo_history.py), once.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.runtime import Runtime

from ..inbox import actions
from ..org import service as org
from . import inspections, kpi, periods, rectification, training
from .models import Inspection, KpiSnapshot


def seed_supervision(session: Session, runtime: Runtime, config: dict, *, now: datetime | None = None) -> bool:
    """The stage's demo records; False when they exist already."""
    if session.scalar(select(func.count(Inspection.id))):
        return False
    now = now or datetime.now(timezone.utc)
    zone = kpi.zone_of(config)
    _freeze_past_months(session, config, now)
    users = {u: org.get_by_username(session, u) for u in ("inspector", "hr", "head", "manager")}
    training.record_session(session, actor=users["hr"], now=now - timedelta(days=300), data={
        "topic": "regulation", "title": "业务单管理办法全员培训", "held_on": (now - timedelta(days=300)).date().isoformat(),
        "trainer": "刘稽核", "attendees": ["clerk", "handler", "head", "archivist", "inspector"]})
    training.record_session(session, actor=users["hr"], now=now - timedelta(days=500), data={
        "topic": "archives_law", "title": "档案法与档案管理实务", "held_on": (now - timedelta(days=500)).date().isoformat(),
        "trainer": "市档案局讲师", "attendees": ["archivist", "manager2"]})
    training.record_session(session, actor=users["hr"], now=now - timedelta(days=40), data={
        "topic": "pipl", "title": "个人信息保护法与客户信息安全", "held_on": (now - timedelta(days=40)).date().isoformat(),
        "trainer": "外聘律师", "attendees": ["clerk", "handler"]})
    inspections.add_plan(session, actor=users["inspector"], data={"department": "信贷部", "stage": "circulation"},
                         now=now - timedelta(days=60))
    checked_at = now - timedelta(days=30)
    inspection = inspections.run(session, config, inspector="inspector", department="信贷部", stage="circulation",
                                 now=checked_at)
    finding = next((f for f in inspections.findings_of(session, inspection.id) if f.kind == "overdue_handovers"), None)
    inspections.add_finding(session, inspection=inspection, actor=users["inspector"], now=checked_at,
                            data={"title": "纸质交接登记簿有两页未签字", "detail": "抽查 10 月登记簿"})
    inspections.evaluate(session, inspection=inspection, actor=users["inspector"], now=checked_at + timedelta(hours=2),
                         data={"evaluation": "流转总体及时, 个别逾期原因说明过简, 需限期整改",
                               "checklist": {"交接记录完整": True, "在时限内办理": False, "逾期均有原因说明": True}})
    closed = rectification.issue(session, runtime, actor=users["inspector"], now=checked_at + timedelta(hours=3),
                                 finding_id=finding.id if finding else None, data={
                                     "department": "信贷部", "problem": "部分交接逾期, 逾期原因说明过简",
                                     "requirement": "逐笔补充逾期原因, 建立到期前一小时提醒",
                                     "deadline": (checked_at + timedelta(days=7)).isoformat()})
    _step(session, runtime, closed, users["head"], {"decision": "respond", "measures": "已逐笔补充逾期原因"},
          checked_at + timedelta(days=3))
    _step(session, runtime, closed, users["inspector"], {"decision": "fail", "comment": "提醒机制尚未建立",
                                                         "deadline": (checked_at + timedelta(days=14)).isoformat()},
          checked_at + timedelta(days=4))
    _step(session, runtime, closed, users["head"], {"decision": "respond", "measures": "已在待办中启用到期前一小时提醒"},
          checked_at + timedelta(days=10))
    _step(session, runtime, closed, users["inspector"], {"decision": "pass", "comment": "复查确认整改到位"},
          checked_at + timedelta(days=11))
    rectification.issue(session, runtime, actor=users["inspector"], now=now - timedelta(days=2), data={
        "department": "信贷部", "problem": "纸质交接登记簿有两页未签字", "requirement": "补签并由部门负责人复核",
        "deadline": (now + timedelta(days=10)).isoformat()})
    quarter = periods.quarter_of(now - timedelta(days=92), zone)
    training.record_appraisal(session, actor=users["hr"], now=now - timedelta(days=20), data={
        "quarter": quarter, "subject_type": "department", "subject": "营业部", "rating": "commend",
        "note": "填写准确率全公司最高"})
    training.record_appraisal(session, actor=users["hr"], now=now - timedelta(days=20), data={
        "quarter": quarter, "subject_type": "department", "subject": "信贷部", "rating": "criticise",
        "note": "流转及时率低于目标, 已下发整改通知书"})
    session.flush()
    return True


def _freeze_past_months(session: Session, config: dict, now: datetime) -> None:
    """The monthly job's work for every month of the history before this one, as if it had run each month."""
    zone = kpi.zone_of(config)
    first = session.scalar(select(func.min(KpiSnapshot.month)))
    if first is not None:
        return
    this_month = periods.month_of(now, zone)
    for month in periods.recent_months(now, zone, 36):
        if month < this_month:
            kpi.freeze_month(session, config, month=month, now=periods.month_bounds(month, zone)[1] + timedelta(hours=1, minutes=30))


def _step(session: Session, runtime: Runtime, notice, actor, data: dict, at: datetime) -> None:
    item = rectification.open_item(session, notice)
    actions.complete(session, runtime, item_id=item.id, actor=actor, data=data, now=at)
