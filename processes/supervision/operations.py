"""What the rectification diagram calls, the inbox completer, and the stage's monthly cron jobs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine import CronJob
from engine import Runtime, ServiceCall

from ..errors import Forbidden
from ..inbox import actions, escalations
from ..org import service as org
from . import inspections, kpi, periods, policy, rectification


def rectification_overdue(call: ServiceCall) -> dict:
    """The deadline passed without a response: the notice shows as overdue (the escalation ran just before)."""
    rectification.mark_overdue(call.session, call.instance.ref_id)
    return {"overdue": True}


def _may_do(session: Session, user, step) -> str | None:
    """None when the user may do the notice's step; else the policy's reason."""
    notice = rectification.get(session, step.ref_id)
    try:
        (policy.ensure_respond if step.task_name == rectification.RESPOND_STEP else policy.ensure_reinspect)(user, notice)
    except Forbidden as exc:
        return exc.message
    return None


def escalation_candidates(session: Session, step) -> list:
    """Who a late response may be given to: the notified department's other members (never the issuer)."""
    return [u for u in org.members_of(session, step.candidate_group or "") if u.active and _may_do(session, u, step) is None]


def escalation_forbids(session: Session, step, actor, action: str) -> str | None:
    """The notified department answers for itself: a superior outside it urges or reassigns, but does not take over."""
    if action != "take_over":
        return None
    reason = _may_do(session, actor, step)
    return f"{reason}, 不能接办; 可催办或改派给该部门其他人员" if reason else None


ESCALATION_HOOKS = escalations.Hooks(candidates=escalation_candidates, forbids=escalation_forbids)


def register(runtime: Runtime, config: dict) -> None:
    """Register the operation, the inbox completer, the role lanes and the monthly jobs."""
    runtime.register_operation("rectification_overdue", rectification_overdue)
    actions.register(rectification.PROCESS_KEY, rectification.complete_item)
    escalations.register(rectification.PROCESS_KEY, ESCALATION_HOOKS)
    runtime.declare_start_variables(rectification.PROCESS_KEY,
                                    {"notice_id": 1, "deadline": "2026-01-31T23:59:00+08:00"})
    org.register_role_lane(rectification.DEPARTMENT_LANE, "the head of the department a rectification notice is issued to")
    org.register_role_lane(rectification.INSPECTOR_LANE, "the inspector who issued the rectification notice")
    zone = kpi.zone_of(config)
    section = config.get("kpi", {})

    def freeze_last_month(session: Session, now: datetime) -> str:
        month = periods.previous_month(now, zone)
        written = kpi.freeze_month(session, config, month=month, now=now)
        return f"{month}: {written} rows" if written else f"{month}: already frozen"

    def run_plans(session: Session, now: datetime) -> str:
        done = inspections.run_plans(session, config, now=now)
        return f"{len(done)} inspections"

    runtime.cron.add(CronJob("supervision.kpi_snapshot", section.get("snapshot_cron", "30 1 1 * *"),
                             run=freeze_last_month, period=lambda now, z: periods.previous_month(now, z),
                             title="月度考核指标快照"))
    runtime.cron.add(CronJob("supervision.inspection_plans", config.get("supervision", {}).get("plans_cron", "0 3 1 * *"),
                             run=run_plans, period=lambda now, z: periods.month_of(now, z), title="按计划开展监督检查"))
