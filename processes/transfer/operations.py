"""What the internal-transfer diagram calls: `escalate`, on a hop's SLA boundary timer."""
from __future__ import annotations

from datetime import datetime, timezone

from engine import Runtime, ServiceCall, WorkCalendar, WorkingDays, is_working_time_sla

from ..inbox import escalations
from ..org import service as org
from . import rows
from .service import HOP_SLA, escalation_recorded

# 督办 of a late hop: any member of its queue may be chosen, nothing is forbidden, the Escalation row records it.
ESCALATION_HOOKS = escalations.Hooks(recorded=escalation_recorded)

LEVEL_NAMES = {1: "一级", 2: "二级", 3: "三级"}
SAMPLE_START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # a Monday morning: a working-time SLA as deploy checks see it


def escalate(call: ServiceCall):
    """逐级上报: mark the hop overdue and give the next superior up an escalation item (R4.2.2)."""
    item = call.attached_item
    if item is None:
        return None  # the hop finished in the same step; nothing to escalate
    level = item.escalation_level + 1
    session = call.session
    handover_id = rows.mark_overdue(session, item)  # the hop's handover record, if it has one
    chain = org.responsible_chain(call.session, assignee=item.assignee, department=item.candidate_group)
    superior = chain[level - 1] if len(chain) >= level else None
    follow_up = None
    if superior is not None:
        follow_up = call.add_follow_up(
            item, kind="escalation", title=f"逾期督办({LEVEL_NAMES.get(level, level)}): {item.title}",
            assignee=superior.username, escalation_level=level, parent_changes={"escalation_level": level},
        )
    else:
        call.runtime.update_item(session, item, escalation_level=level)
    if handover_id is not None:
        rows.insert_escalation(session, handover_id=handover_id, work_item_id=follow_up.id if follow_up else None,
                               level=level, superior=superior.username if superior else None, now=call.now)
    return {"level": level}


def register(runtime: Runtime, config: dict) -> None:
    """Register this stage's operations and what its process starts with (deploy checks evaluate timers with it);
    with an SLA in working time, `hop_sla(now)` counts it on the calendar and the process gets that ISO duration."""
    runtime.register_operation("escalate", escalate)
    escalations.register_default(ESCALATION_HOOKS)  # a diagram managers deploy for hand-overs, too
    escalations.register(config["transfer"].get("process", "internal_transfer"), ESCALATION_HOOKS)
    sla = config["transfer"]["handover_sla"]
    sample = sla
    if is_working_time_sla(sla):
        days = runtime.working_days or WorkingDays(WorkCalendar.from_config(config))
        # hop_sla(now, session): with a session, the days listed on the calendar page are read when stale
        runtime.register_function(HOP_SLA, lambda now, session=None: days.calendar(session).duration(now, sla))
        sample = days.base.duration(SAMPLE_START, sla)
    # The shipped internal_transfer.bpmn is deployed even when `[transfer] process` names another diagram
    # for the transfer to start (a bank's own, a benchmark's): both start with the same variables.
    for key in {"internal_transfer", config["transfer"].get("process", "internal_transfer")}:
        runtime.declare_start_variables(key, {"form_id": 1, "handover_sla": sample})
