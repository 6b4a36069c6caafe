"""Training on the law (R6.3) and HR's quarterly appraisal ratings (R5.3)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import service as audit
from ..errors import ValidationFailed, written
from ..org import service as org
from ..org.models import Department, User
from . import policy
from .models import RATINGS, TOPICS, Appraisal, TrainingAttendance, TrainingSession

TRAINING_VALID_DAYS = 365  # "staff without training in the last 12 months"
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def _day(value) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        raise ValidationFailed({"held_on": "请填写培训日期, 如 2026-11-20"}) from None


def record_session(session: Session, *, actor: User, data: dict, now: datetime) -> TrainingSession:
    """A training session and who attended it (HR keeps these)."""
    policy.ensure_hr(actor)
    problems = {}
    topic = str(data.get("topic") or "")
    if topic not in TOPICS:
        problems["topic"] = "请选择培训内容: " + "、".join(TOPICS.values())
    title, trainer = written(data, "title", 200), written(data, "trainer", 100)
    if not title:
        problems["title"] = "请填写培训名称"
    if not trainer:
        problems["trainer"] = "请填写培训讲师"
    try:
        held_on = _day(data.get("held_on"))
        if held_on > now.date() + timedelta(days=1):
            problems["held_on"] = "培训日期不能晚于今天 (记录已举办的培训)"
    except ValidationFailed as exc:
        problems.update(exc.details["fields"])
    attendees = data.get("attendees") or []
    if not isinstance(attendees, list) or not all(isinstance(a, str) for a in attendees):
        problems["attendees"] = "参训人员须为登录名列表"
        attendees = []
    unknown = [a for a in attendees if org.get_by_username(session, a) is None]
    if unknown:
        problems["attendees"] = "找不到这些人员: " + "、".join(unknown)
    if problems:
        raise ValidationFailed(problems)
    training = TrainingSession(topic=topic, title=title, held_on=held_on, trainer=trainer, created_by=actor.username,
                               created_at=now)
    session.add(training)
    session.flush()
    session.add_all([TrainingAttendance(session_id=training.id, username=a) for a in sorted(set(attendees))])
    session.flush()
    audit.record(session, actor=actor.username, action="training.record", object_type="training",
                 object_id=training.id, now=now, details={"topic": topic, "attendees": len(set(attendees))})
    return training


def sessions(session: Session, limit: int = 200) -> list[TrainingSession]:
    """Training sessions, newest first."""
    return list(session.scalars(select(TrainingSession).order_by(TrainingSession.held_on.desc(),
                                                                 TrainingSession.id.desc()).limit(limit)))


def attendees_of(session: Session, session_ids: list[int]) -> dict[int, list[str]]:
    """Who attended each session."""
    found: dict[int, list[str]] = {i: [] for i in session_ids}
    if session_ids:
        for row in session.scalars(select(TrainingAttendance).where(TrainingAttendance.session_id.in_(session_ids))
                                   .order_by(TrainingAttendance.username)):
            found[row.session_id].append(row.username)
    return found


def overdue(session: Session, *, now: datetime, department: str | None = None) -> list[dict]:
    """Active staff without any training in the last 12 months, with their last training date (None: never)."""
    since = now.date() - timedelta(days=TRAINING_VALID_DAYS)
    last = dict(session.execute(select(TrainingAttendance.username, TrainingSession.held_on)
                                .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
                                .order_by(TrainingSession.held_on)).all())
    query = select(User).join(Department, User.department_id == Department.id).where(User.active.is_(True))
    if department is not None:
        query = query.where(Department.name == department)
    return [{"username": u.username, "name": u.display_name, "department": u.department.name,
             "last_training": last.get(u.username)}
            for u in session.scalars(query.order_by(Department.name, User.username))
            if last.get(u.username) is None or last[u.username] < since]


def record_appraisal(session: Session, *, actor: User, data: dict, now: datetime) -> Appraisal:
    """表彰 / 通报批评: HR's rating of a department or person for a quarter; a second rating replaces the first."""
    policy.ensure_hr(actor)
    problems = {}
    quarter = str(data.get("quarter") or "").strip()
    if not _QUARTER.match(quarter):
        problems["quarter"] = "季度格式应为 2026Q4"
    subject_type, subject = str(data.get("subject_type") or ""), str(data.get("subject") or "").strip()
    if subject_type == "department":
        if org.department_by_name(session, subject) is None:
            problems["subject"] = "找不到该部门"
    elif subject_type == "person":
        if org.get_by_username(session, subject) is None:
            problems["subject"] = "找不到该人员"
    else:
        problems["subject_type"] = "请选择部门或人员"
    rating = str(data.get("rating") or "")
    if rating not in RATINGS:
        problems["rating"] = "请选择“表彰”或“通报批评”"
    note = written(data, "note", 500)
    if problems:
        raise ValidationFailed(problems)
    appraisal = session.scalars(select(Appraisal).where(Appraisal.quarter == quarter, Appraisal.subject_type == subject_type,
                                                        Appraisal.subject == subject)).first()
    if appraisal is None:
        appraisal = Appraisal(quarter=quarter, subject_type=subject_type, subject=subject)
        session.add(appraisal)
    appraisal.rating, appraisal.note, appraisal.recorded_by, appraisal.recorded_at = rating, note or None, actor.username, now
    session.flush()
    audit.record(session, actor=actor.username, action="appraisal.record", object_type="appraisal",
                 object_id=appraisal.id, now=now, details={"quarter": quarter, "subject": subject, "rating": rating})
    return appraisal


def appraisals(session: Session, quarter: str | None = None) -> list[Appraisal]:
    """Ratings, newest quarter first."""
    query = select(Appraisal).order_by(Appraisal.quarter.desc(), Appraisal.subject_type, Appraisal.subject)
    if quarter:
        query = query.where(Appraisal.quarter == quarter)
    return list(session.scalars(query))
