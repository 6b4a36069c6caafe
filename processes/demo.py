"""Demo organisation (in Chinese) for trying Guichet out; every user has the password `guichet-demo`."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Runtime

from .archive.custody import ensure_room
from .forms.service import ensure_general_template
from .org.models import Department, User
from .templates.models import TemplateReview

DEMO_PASSWORD = "guichet-demo"
DEPARTMENTS = [
    ("counter", "营业部"),
    ("credit", "信贷部"),
    ("compliance", "风险合规部"),
    ("archive", "档案室"),
    ("management", "公司管理层"),
    ("hr", "人力资源部"),
]
# username, display name, role, department code, superior
USERS = [
    ("manager", "王总(管理层)", "manager", "management", None),
    ("manager2", "周副总(管理层)", "manager", "management", "manager"),
    ("head", "李主任(信贷部负责人)", "head", "credit", "manager"),
    ("handler", "张经办(信贷部)", "handler", "credit", "head"),
    ("clerk", "陈柜员(营业部)", "clerk", "counter", "manager"),
    ("archive_head", "钱主任(档案室负责人)", "archivist", "archive", "manager"),
    ("archivist", "赵档案员(档案室)", "archivist", "archive", "archive_head"),
    ("inspector", "刘稽核(风险合规部)", "inspector", "compliance", "manager"),
    ("hr", "孙人事(人力资源部)", "hr", "hr", "manager"),
]
ARCHIVE_ROOM = "一号档案室"  # kept by the archivist
HEADS = {"credit": "head", "management": "manager", "counter": "manager", "archive": "archive_head"}


def seed_demo(session: Session, *, password_hash: str, now: datetime) -> list[tuple[str, str, str]]:
    """Create the demo departments, users and general template once; returns (username, name, role) rows."""
    depts = {d.code: d for d in session.scalars(select(Department)).all()}
    for code, name in DEPARTMENTS:
        if code not in depts:
            depts[code] = Department(code=code, name=name)
            session.add(depts[code])
    session.flush()
    users = {u.username: u for u in session.scalars(select(User)).all()}
    for username, display, role, dept, superior in USERS:
        if username not in users:
            users[username] = User(username=username, display_name=display, password_hash=password_hash, role=role,
                                   department_id=depts[dept].id, superior_id=users[superior].id if superior else None)
            session.add(users[username])
            session.flush()
    for dept, username in HEADS.items():
        depts[dept].head_id = users[username].id
    ensure_room(session, name=ARCHIVE_ROOM, keeper="archivist")
    general = ensure_general_template(session, now=now, department_id=depts["counter"].id)
    _record_general_approval(session, general, now)
    return [(u, d, r) for u, d, r, _dep, _sup in USERS]


def _record_general_approval(session: Session, version, now: datetime) -> None:
    """The built-in general template is an ordinary approved template: reviewed by 营业部's head, approved by management."""
    if session.scalar(select(TemplateReview.id).where(TemplateReview.version_id == version.id)):
        return
    version.submitted_at = version.submitted_at or now
    for step in ("review", "approve"):
        session.add(TemplateReview(version_id=version.id, step=step, decision="approve", comment="内置通用模板, 演示数据",
                                   decided_by="manager", decided_at=now))
    session.flush()


def seed_stages(session: Session, runtime: Runtime, config: dict) -> None:
    """Give each stage its demo records (after seed_demo and the diagrams' deployment), each at its own past times.

    The history and destruction's old forms take the shipped hand-over route (信贷部 → 营业部); when [transfer]
    process names another diagram (the load test's three_tasks) there is no such route, and they are left out."""
    from .archive.demo import seed_archive
    from .demo_history import seed_history
    from .destruction.demo import seed_destruction
    from .external.demo import seed_external

    shipped_route = config["transfer"].get("process", "internal_transfer") == "internal_transfer"
    if shipped_route:
        seed_history(session, runtime, config, count=config["app"].get("demo_history_forms", 300))
    seed_archive(session, runtime, config)
    from .queries.demo import seed_queries

    seed_queries(session, runtime, config)
    from .supervision.demo import seed_supervision

    seed_supervision(session, runtime, config)
    seed_external(session, runtime, config, now=datetime.now(timezone.utc))
    if shipped_route:
        seed_destruction(session, runtime, config)
