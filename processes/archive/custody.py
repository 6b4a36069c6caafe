"""Paper custody (R4.3.2): where each volume stands and its moves, archive-room visits, and lending (借阅).

A loan runs as `bpmn/archive_loan.bpmn`: its return is a task in the 档案室 lane whose boundary timer is the
return date; past it, the borrower's superior gets an escalation item, as a late handover does.
"""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.runtime import Runtime, StepResult

from ..audit import service as audit
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed, written
from ..forms.models import SensitiveValue
from ..org import service as org
from ..org.models import User
from . import policy
from .models import ArchiveRoom, Filing, Loan, RoomVisit, Volume, VolumeMove

LOAN_PROCESS = "archive_loan"
PLACE_LIMIT = 50


# --- rooms and locations ----------------------------------------------------------------------------
def ensure_room(session: Session, *, name: str, keeper: str) -> ArchiveRoom:
    """An archive room and its keeper (created once)."""
    room = session.scalars(select(ArchiveRoom).where(ArchiveRoom.name == name)).first()
    if room is None:
        room = ArchiveRoom(name=name, keeper=keeper)
        session.add(room)
        session.flush()
    return room


def rooms(session: Session) -> list[ArchiveRoom]:
    """Every archive room, by name."""
    return list(session.scalars(select(ArchiveRoom).order_by(ArchiveRoom.name)))


def _room_named(session: Session, name, field: str = "room") -> ArchiveRoom:
    room = session.scalars(select(ArchiveRoom).where(ArchiveRoom.name == name)).first() if isinstance(name, str) else None
    if room is None:
        raise ValidationFailed({field: "没有这个档案室"})
    return room


def move_volume(session: Session, *, actor: User, volume: Volume, place: dict, now: datetime) -> VolumeMove:
    """存放/移库: put a volume at room / cabinet / shelf / box; the move records from, to, who and when."""
    policy.ensure_archivist(actor)
    problems = {}
    values = {}
    for key, label in (("cabinet", "柜号"), ("shelf", "层号"), ("box", "盒号")):
        try:
            values[key] = written(place, key, PLACE_LIMIT)
        except ValidationFailed as exc:
            problems.update(exc.details["fields"])
            continue
        if not values[key]:
            problems[key] = f"请填写{label}"
    try:
        values["room"] = _room_named(session, place.get("room")).name
    except ValidationFailed as exc:
        problems.update(exc.details["fields"])
    if problems:
        raise ValidationFailed(problems)
    before = volume.location or "未上架"
    volume.room, volume.cabinet, volume.shelf, volume.box = values["room"], values["cabinet"], values["shelf"], values["box"]
    if volume.location == before:
        raise Conflict("案卷已在该位置", code="same_location")
    move = VolumeMove(volume_id=volume.id, from_location=before, to_location=volume.location, moved_by=actor.username,
                      moved_at=now)
    session.add(move)
    session.flush()
    audit.record(session, actor=actor.username, action="archive.volume_move", object_type="volume", object_id=volume.id,
                 now=now, details={"from": before, "to": volume.location})
    return move


def movements(session: Session, volume: Volume) -> list[VolumeMove]:
    """A volume's moves, oldest first."""
    return list(session.scalars(select(VolumeMove).where(VolumeMove.volume_id == volume.id).order_by(VolumeMove.id)))


# --- archive-room visits ----------------------------------------------------------------------------
def record_visit(session: Session, *, actor: User, room, visitor, purpose, accompanied_by, now: datetime) -> RoomVisit:
    """进入登记: the keeper records who entered the room, why, and who accompanies them."""
    policy.ensure_archivist(actor)
    problems = {}
    try:
        found = _room_named(session, room)
    except ValidationFailed as exc:
        problems.update(exc.details["fields"])
    people = {}
    for key, value in (("visitor", visitor), ("accompanied_by", accompanied_by)):
        person = org.get_by_username(session, value) if isinstance(value, str) and value else None
        if person is None:
            problems[key] = "找不到该人员"
        people[key] = person
    why = ""
    try:
        why = written({"purpose": purpose}, "purpose", 500)
    except ValidationFailed as exc:
        problems.update(exc.details["fields"])
    if not why and "purpose" not in problems:
        problems["purpose"] = "请填写进入事由"
    if problems:
        raise ValidationFailed(problems)
    if found.keeper != actor.username:
        raise Forbidden(f"只有该档案室的管理人 {org.display_name(session, found.keeper)} 可以登记出入")
    visit = RoomVisit(room_id=found.id, visitor=people["visitor"].username, purpose=why,
                      accompanied_by=people["accompanied_by"].username, entered_at=now, recorded_by=actor.username)
    session.add(visit)
    session.flush()
    audit.record(session, actor=actor.username, action="archive.room_enter", object_type="room_visit",
                 object_id=visit.id, now=now, details={"room": found.name, "visitor": visit.visitor})
    return visit


def leave(session: Session, *, actor: User, visit_id: int, now: datetime) -> RoomVisit:
    """离开登记: when the visitor left."""
    policy.ensure_archivist(actor)
    visit = session.get(RoomVisit, visit_id)
    if visit is None:
        raise NotFound("出入登记不存在", code="visit_not_found")
    if visit.left_at is not None:
        raise Conflict("已登记离开", code="already_left")
    visit.left_at = now
    session.flush()
    audit.record(session, actor=actor.username, action="archive.room_leave", object_type="room_visit",
                 object_id=visit.id, now=now, details={"visitor": visit.visitor})
    return visit


def visits(session: Session, *, limit: int = 100) -> list[RoomVisit]:
    """Latest visits first."""
    return list(session.scalars(select(RoomVisit).order_by(RoomVisit.id.desc()).limit(limit)))


# --- lending ---------------------------------------------------------------------------------------------
def holds_personal_data(session: Session, volume: Volume) -> bool:
    """Whether any form in the volume holds personal information (such a volume needs management's approval)."""
    return bool(session.scalar(select(SensitiveValue.id).join(Filing, Filing.form_id == SensitiveValue.form_id)
                               .where(Filing.volume_id == volume.id).limit(1)))


def lend(session: Session, runtime: Runtime, config: dict, *, actor: User, volume: Volume, borrower, due_date,
         now: datetime) -> Loan:
    """借出: lend a paper volume until a return date; a volume with personal information waits for management."""
    policy.ensure_archivist(actor)
    person = org.get_by_username(session, borrower) if isinstance(borrower, str) and borrower else None
    problems = {}
    if person is None or not person.active:
        problems["borrower"] = "找不到该人员"
    due = _date(due_date)
    zone = ZoneInfo(config["app"]["timezone"])
    if due is None:
        problems["due_date"] = "归还日期格式应为 2026-12-31"
    elif due < now.astimezone(zone).date():
        problems["due_date"] = "归还日期不能早于今天"
    if problems:
        raise ValidationFailed(problems)
    if session.scalar(select(Loan.id).where(Loan.volume_id == volume.id, Loan.status != "returned").limit(1)):
        raise Conflict("该案卷已借出或正在待批借阅", code="volume_on_loan")
    loan = Loan(volume_id=volume.id, borrower=person.username, due_date=due, lent_by=actor.username, lent_at=now,
                status="awaiting_approval" if holds_personal_data(session, volume) else "lent", overdue=False)
    session.add(loan)
    session.flush()
    audit.record(session, actor=actor.username, action="archive.loan", object_type="volume", object_id=volume.id,
                 now=now, details={"borrower": loan.borrower, "due_date": due.isoformat(), "status": loan.status})
    if loan.status == "lent":
        _start(session, runtime, config, loan, volume, actor, now)
    return loan


def approve_loan(session: Session, runtime: Runtime, config: dict, *, actor: User, loan: Loan, now: datetime) -> Loan:
    """管理层批准: a loan of a volume with personal information is handed out only after this."""
    if not policy.may_approve_sensitive_loan(actor):
        raise Forbidden("含个人信息的案卷借阅须由公司管理层批准")
    if loan.status != "awaiting_approval":
        raise Conflict("该借阅无需审批或已审批", code="not_awaiting_approval")
    loan.status, loan.approved_by, loan.lent_at = "lent", actor.username, now
    session.flush()
    audit.record(session, actor=actor.username, action="archive.loan_approve", object_type="volume",
                 object_id=loan.volume_id, now=now, details={"borrower": loan.borrower})
    _start(session, runtime, config, loan, session.get(Volume, loan.volume_id), actor, now)
    return loan


def _start(session, runtime: Runtime, config: dict, loan: Loan, volume: Volume, actor: User, now: datetime) -> None:
    zone = ZoneInfo(config["app"]["timezone"])
    due = datetime.combine(loan.due_date, time(23, 59), tzinfo=zone)
    result = runtime.start(session, LOAN_PROCESS, data={"loan_id": loan.id, "loan_due": due.isoformat()},
                           actor=actor.username, now=now, business_key=f"借阅-{loan.id}",
                           subject=f"借阅 {volume.title} · {org.display_name(session, loan.borrower)}",
                           ref_type="archive_loan", ref_id=loan.id)
    loan.process_instance_id = result.instance.id
    session.flush()


def get_loan(session: Session, loan_id: int) -> Loan:
    """A loan by id; NotFound otherwise."""
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound("借阅记录不存在", code="loan_not_found")
    return loan


def return_loan(session: Session, runtime: Runtime, *, actor: User, loan: Loan, now: datetime) -> Loan:
    """归还: the archivist receives the volume back; the loan's task and any escalation close."""
    item = _open_return_item(session, loan)
    _record_return(session, runtime, actor=actor, loan=loan, item=item, now=now)
    return loan


def _record_return(session: Session, runtime: Runtime, *, actor: User, loan: Loan, item, now: datetime):
    policy.ensure_archivist(actor)
    if loan.status != "lent":
        raise Conflict("该借阅不在借出状态", code="not_lent")
    result = runtime.complete(session, item, actor=actor.username, now=now, data={"decision": "complete"}) if item else None
    loan.status, loan.returned_at, loan.received_by = "returned", now, actor.username
    session.flush()
    audit.record(session, actor=actor.username, action="archive.loan_return", object_type="volume",
                 object_id=loan.volume_id, now=now, details={"borrower": loan.borrower, "late": loan.overdue})
    return result


def _open_return_item(session: Session, loan: Loan):
    from engine.models import WorkItem

    if loan.process_instance_id is None:
        return None
    return session.scalar(select(WorkItem.id).where(WorkItem.instance_id == loan.process_instance_id,
                                                    WorkItem.status == "open", WorkItem.kind == "task"))


def complete_from_inbox(session: Session, runtime: Runtime, *, item, actor: User, data: dict, now: datetime) -> StepResult:
    """The 归还 task completed from the inbox is the same as recording the return."""
    return _record_return(session, runtime, actor=actor, loan=get_loan(session, item.ref_id), item=item, now=now)


def loans(session: Session, *, volume_id: int | None = None, limit: int = 200) -> list[Loan]:
    """Loans (of one volume, or all), newest first."""
    query = select(Loan).order_by(Loan.id.desc()).limit(limit)
    if volume_id is not None:
        query = query.where(Loan.volume_id == volume_id)
    return list(session.scalars(query))


def _date(value) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None
