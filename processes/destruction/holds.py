"""Holds (暂缓销毁, R4.5.1): a form or a volume kept past its retention for an unsettled matter (dispute,
litigation, audit); a held form is never proposed and never destroyed; a release is recorded."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..archive.models import Volume
from ..audit import service as audit
from ..errors import Conflict, NotFound, ValidationFailed, written
from ..forms.models import Form
from ..inputs import is_id
from ..org.models import User
from . import policy
from .models import Hold, Tombstone


def place(session: Session, *, actor: User, body: dict, now: datetime) -> Hold:
    """Place a hold on one form or one volume, with a reason (2 to 2000 characters)."""
    policy.ensure_hold_placer(actor)
    form_id, volume_id = body.get("form_id"), body.get("volume_id")
    reason = written(body, "reason")
    problems = {}
    if (form_id is None) == (volume_id is None):
        problems["form_id"] = "请指定一份业务单 (form_id) 或一个案卷 (volume_id), 二者选一"
    elif form_id is not None and not is_id(form_id):
        problems["form_id"] = "须为业务单编号 (正整数)"
    elif volume_id is not None and not is_id(volume_id):
        problems["volume_id"] = "须为案卷编号 (正整数)"
    if len(reason) < 2:
        problems["reason"] = "请写明暂缓销毁的原因 (争议、诉讼、审计等)"
    if problems:
        raise ValidationFailed(problems)
    if form_id is not None:
        if session.get(Form, form_id) is None:
            raise NotFound("业务单不存在", code="form_not_found")
        if session.get(Tombstone, form_id) is not None:
            raise Conflict("该业务单已销毁, 不能暂缓", code="form_destroyed")
        live = session.scalars(select(Hold).where(Hold.form_id == form_id, Hold.released_at.is_(None))).first()
    else:
        if session.get(Volume, volume_id) is None:
            raise NotFound("案卷不存在", code="volume_not_found")
        live = session.scalars(select(Hold).where(Hold.volume_id == volume_id, Hold.released_at.is_(None))).first()
    if live is not None:
        raise Conflict(f"已有暂缓销毁 #{live.id} (原因: {live.reason})", code="already_held")
    hold = Hold(form_id=form_id, volume_id=volume_id, reason=reason, placed_by=actor.username, placed_at=now)
    session.add(hold)
    session.flush()
    audit.record(session, actor=actor.username, action="destruction.hold", object_type="form" if form_id else "volume",
                 object_id=form_id or volume_id, now=now, details={"hold": hold.id})
    return hold


def release(session: Session, *, actor: User, hold_id: int, body: dict, now: datetime) -> Hold:
    """Release a hold (the matter is settled); who, when and why are kept."""
    policy.ensure_hold_placer(actor)
    hold = get_hold(session, hold_id)
    if hold.released_at is not None:
        raise Conflict("该暂缓已解除", code="hold_released")
    reason = written(body or {}, "reason")
    if len(reason) < 2:
        raise ValidationFailed({"reason": "请写明解除暂缓的原因"})
    hold.released_by, hold.released_at, hold.release_reason = actor.username, now, reason
    session.flush()
    audit.record(session, actor=actor.username, action="destruction.hold_release",
                 object_type="form" if hold.form_id else "volume", object_id=hold.form_id or hold.volume_id, now=now,
                 details={"hold": hold.id})
    return hold


def get_hold(session: Session, hold_id: int) -> Hold:
    """A hold by id; NotFound otherwise."""
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise NotFound("暂缓记录不存在", code="hold_not_found")
    return hold


def list_holds(session: Session, *, live_only: bool = False, limit: int = 200) -> list[Hold]:
    """Holds, newest first."""
    query = select(Hold)
    if live_only:
        query = query.where(Hold.released_at.is_(None))
    return list(session.scalars(query.order_by(Hold.id.desc()).limit(limit)))
