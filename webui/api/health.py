"""GET /healthz: database and scheduler state."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, jsonify
from sqlalchemy import func, select, text

from engine.models import SchedulerBeat, Timer
from engine.workcalendar import WorkCalendar
from processes.archive import integrity

from ..context import db, guichet, now

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    """200 when the database answers; reports whether a scheduler ticked recently and open incidents."""
    services = guichet()
    try:
        db().execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - report, don't raise
        return jsonify({"status": "error", "database": f"error: {type(exc).__name__}"}), 503
    session = db()
    recent = now() - timedelta(seconds=max(30, 10 * services.config["scheduler"]["tick_seconds"]))
    beats = session.scalar(select(func.count()).select_from(SchedulerBeat).where(SchedulerBeat.beat_at >= recent))
    incidents = session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "incident"))
    due = session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "waiting", Timer.fire_at <= now()))
    local = services.scheduler
    storage = integrity.open_incident_count(session)  # a seal mismatch or a failed backup verification
    return jsonify({
        "status": "degraded" if storage else "ok",
        "database": "ok",
        "scheduler": {
            "running_here": bool(local and local.running),
            "alive": bool(beats),
            "due_timers": due,
            "incidents": incidents,
        },
        "calendar": _calendar(services.config),
        "storage": {"incidents": storage},
    })


def _calendar(config: dict) -> dict:
    """Whether working-time SLAs can be counted next year: its holidays must be known (published or listed)."""
    calendar = WorkCalendar.from_config(config)
    year = now().astimezone(calendar.zone).year
    report = {"this_year_covered": calendar.covers(year), "next_year_covered": calendar.covers(year + 1)}
    if not report["next_year_covered"]:
        report["warning"] = (f"{year + 1} 年的法定节假日尚未收录: 请升级 chinese-calendar, 或在 [calendar] "
                             f"extra_holidays / extra_workdays 中列出; 在此之前按周一至周五计算工作日")
    return report
