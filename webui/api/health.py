"""GET /healthz: database, scheduler and open incidents; "degraded" with the reasons when something is wrong."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, jsonify
from sqlalchemy import func, select, text

from engine import incidents as engine_incidents
from engine.models import SchedulerBeat, Timer
from engine.workcalendar import WorkCalendar
from processes.archive import integrity

from .. import health
from ..context import db, guichet, now

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    """200 when the database answers ("ok", or "degraded" with reasons); 503 when it does not."""
    services = guichet()
    try:
        db().execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - report, don't raise
        return jsonify({"status": "error", "database": f"error: {type(exc).__name__}",
                        "reasons": ["数据库无法连接"]}), 503
    session = db()
    recent = now() - timedelta(seconds=max(30, 10 * services.config["scheduler"]["tick_seconds"]))
    beats = session.scalar(select(func.count()).select_from(SchedulerBeat).where(SchedulerBeat.beat_at >= recent))
    timer_incidents = session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "incident"))
    due = session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "waiting", Timer.fire_at <= now()))
    open_incidents = engine_incidents.open_incidents(session, limit=5)
    open_count = engine_incidents.count_open(session) if open_incidents else 0
    local = services.scheduler
    reasons = []
    write_failure = health.recent_write_failure()
    if write_failure:
        reasons.append(f"最近一分钟内数据库写入失败: {write_failure}")
    stalled = local.stalled_for() if local is not None and hasattr(local, "stalled_for") else None
    if stalled is not None:
        reasons.append(f"定时器调度已 {stalled:.0f} 秒没有完成一轮 (应每 {local.tick_seconds:g} 秒一轮)")
    if open_count:
        latest = open_incidents[0]
        reasons.append(f"有 {open_count} 个未处理的流程故障, 最近一个: {latest.message}")
    if timer_incidents:
        reasons.append(f"有 {timer_incidents} 个定时器已停止重试")
    storage = integrity.open_incident_count(session)  # a seal mismatch or a failed backup verification
    if storage:
        reasons.append(f"有 {storage} 个存储安全问题 (封存校验不符或备份验证失败)")
    return jsonify({
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        "database": "ok" if not write_failure else "degraded",
        "scheduler": {
            "running_here": bool(local and local.running),
            "alive": bool(beats),
            "due_timers": due,
            "incidents": timer_incidents,
            "stalled_seconds": round(stalled, 1) if stalled is not None else None,
        },
        "incidents": {
            "open": open_count,
            "latest": [{"id": i.id, "kind": i.kind, "process_key": i.process_key, "instance_id": i.instance_id,
                        "element_id": i.element_id, "message": i.message, "occurrences": i.occurrences,
                        "last_seen_at": i.last_seen_at.isoformat()} for i in open_incidents],
        },
        "calendar": _calendar(services.config),
        "storage": {"incidents": storage},
    })


def _calendar(config: dict) -> dict:
    """Whether working-time SLAs can be counted next year: its holidays must be known (published or listed)."""
    days = guichet().runtime.working_days
    calendar = days.calendar(db()) if days is not None else WorkCalendar.from_config(config)
    year = now().astimezone(calendar.zone).year
    report = {"this_year_covered": calendar.covers(year), "next_year_covered": calendar.covers(year + 1)}
    if not report["next_year_covered"]:
        report["warning"] = (f"{year + 1} 年的法定节假日尚未收录: 请升级 chinese-calendar, 或在“工作日历”页面 "
                             f"(或 [calendar] extra_holidays / extra_workdays) 中列出; 在此之前按周一至周五计算工作日")
    return report
