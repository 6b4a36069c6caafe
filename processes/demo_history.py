"""Demo history: a few hundred closed forms of earlier years (2024–2026), made through the services at past times.

Every form is filled and submitted by the window clerk, handled by 信贷部 and closed by 营业部, exactly as a
person would do it, with the clock set to the day it happened. Some hops run late (the SLA timer fires and
escalates to the superior, and the late handler gives a reason); some forms are returned for correction and
handed over again. The same seed gives the same history, so pages and KPI trends look the same every run.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.runtime import Runtime

from .forms import service as forms
from .forms.models import Form, FormTemplate
from .org import service as org
from .transfer import service as transfer

FIRST_DAY = date(2024, 1, 2)
LAST_DAY = date(2026, 10, 30)  # the history ends before the demo's own "today" forms begin
SEED = 20240102
BUSINESS_TYPES = ["个人贷款申请", "个人开户", "挂失补办", "转账汇款", "信用卡申请", "对公开户", "贷款展期", "资料变更"]
CUSTOMERS = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周婷", "吴刚", "徐丽", "孙浩"]
CONTENTS = {
    "个人贷款申请": "申请个人住房贷款 {n} 万元", "个人开户": "开立个人结算账户一户", "挂失补办": "借记卡挂失并补办新卡",
    "转账汇款": "跨行转账 {n} 万元", "信用卡申请": "申请信用卡一张, 额度 {n} 万元", "对公开户": "开立对公基本存款账户",
    "贷款展期": "个人贷款展期 {n} 个月", "资料变更": "变更预留手机号码及通讯地址",
}
LATE_REASONS = ["客户补充材料延迟", "系统故障, 次日恢复后办理", "经办人员外出培训", "需与总行核实额度", "节假日前业务量集中"]
RETURN_COMMENTS = ["缺少身份证明复印件", "申请金额与合同不一致", "客户签字不完整", "办理时间填写有误"]


def history_exists(session: Session) -> bool:
    """Whether the demo history was already made (seeding runs on every start)."""
    end = datetime.combine(LAST_DAY + timedelta(days=1), time(), tzinfo=timezone.utc)
    return bool(session.scalar(select(func.count(Form.id)).where(Form.created_at < end)))


def seed_history(session: Session, runtime: Runtime, config: dict, *, count: int = 300, seed: int = SEED) -> int:
    """Make `count` closed forms spread over 2024–2026 through the services; returns how many were made."""
    if history_exists(session):
        return 0
    rng = random.Random(seed)
    zone = ZoneInfo(config["app"]["timezone"])
    clerk, handler = org.get_by_username(session, "clerk"), org.get_by_username(session, "handler")
    template_id = session.scalar(select(FormTemplate.id).where(FormTemplate.code == "general"))
    days = _business_days(FIRST_DAY, LAST_DAY)
    for day in sorted(rng.sample(days, min(count, len(days)))):
        start = datetime.combine(day, time(9, rng.randrange(0, 60)), tzinfo=zone) + timedelta(hours=rng.randrange(0, 6))
        _one_form(session, runtime, config, rng, clerk=clerk, handler=handler, template_id=template_id,
                  at=start.astimezone(timezone.utc), zone=zone)
    session.flush()
    return min(count, len(days))


def _business_days(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _one_form(session, runtime, config, rng: random.Random, *, clerk, handler, template_id, at: datetime, zone) -> None:
    """File one form at `at` and carry it to 办结: a hop may run late, a form may be returned once for correction."""
    kind = rng.choice(BUSINESS_TYPES)
    data = {"business_type": kind, "customer_name": rng.choice(CUSTOMERS),
            "content": CONTENTS[kind].format(n=rng.choice([3, 5, 10, 20, 50])),
            "handled_at": at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), "handled_by": clerk.display_name}
    form = forms.create_form(session, runtime, config, actor=clerk, template_id=template_id, data=data, submit=True,
                             now=at)
    now = at
    returned = rng.random() < 0.1
    hop = _open_item(session, form)
    now, hop = _handle(session, runtime, rng, hop, handler, now, decision="return" if returned else "complete")
    if returned:  # 营业部补正, then 信贷部 again
        now, hop = _handle(session, runtime, rng, hop, clerk, now, decision="complete")
        now, hop = _handle(session, runtime, rng, hop, handler, now, decision="complete")
    _handle(session, runtime, rng, hop, clerk, now, decision="complete")


def _open_item(session: Session, form: Form):
    from engine.models import WorkItem

    item_id = session.scalar(select(WorkItem.id).where(WorkItem.instance_id == form.process_instance_id,
                                                       WorkItem.status == "open", WorkItem.kind == "task"))
    return item_id


def _handle(session, runtime: Runtime, rng: random.Random, item_id: str, actor, now: datetime, *, decision: str):
    """Claim the hop a little later, then finish it in time or (one hop in eight) after its SLA, with a reason."""
    now += timedelta(minutes=rng.randrange(5, 50))
    transfer.claim(session, runtime, item_id=item_id, actor=actor, now=now)
    item = runtime.get_item(session, item_id)
    data = {"decision": decision}
    if decision == "return":
        data["comment"] = rng.choice(RETURN_COMMENTS)
    if item.due_at is not None and rng.random() < 0.125:
        now = item.due_at + timedelta(minutes=rng.randrange(1, 30))
        runtime.fire_timers(session, item.instance_id, now)  # the SLA timer escalates to the superior
        now += timedelta(minutes=rng.randrange(20, 180))
        data["late_reason"] = rng.choice(LATE_REASONS)
        item = runtime.get_item(session, item_id)
    else:
        now += timedelta(minutes=rng.randrange(10, 150))
        if item.due_at is not None and now > item.due_at:
            now = item.due_at - timedelta(minutes=rng.randrange(1, 10))
    result = transfer.complete_hop(session, runtime, item=item, actor=actor, data=data, now=now)
    opened = [i for i in result.opened if i.kind == "task"]
    return now, (opened[0].id if opened else None)
