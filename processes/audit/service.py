"""Append to the audit chain, verify it, and browse it."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..org.models import User
from . import rows
from .models import AuditEvent, AuditHead
from .rows import GENESIS


def event_hash(prev_hash: str, *, seq: int, at: datetime, actor: str, action: str, object_type: str, object_id: str,
               details: dict) -> str:
    """The SHA-256 of an event's content together with the previous event's hash."""
    body = json.dumps({"seq": seq, "at": at.isoformat(timespec="microseconds"), "actor": actor, "action": action,
                       "object": f"{object_type}:{object_id}", "details": details},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def record(session: Session, *, actor: str, action: str, object_type: str, object_id, now: datetime,
           details: dict | None = None) -> int:
    """Append one event (details must hold no personal data: field codes and masked values only); its seq."""
    event = {"at": now, "actor": actor, "action": action, "object_type": object_type, "object_id": str(object_id),
             "details": dict(details or {})}
    return rows.append(session, event, event_hash)


@dataclass
class Verdict:
    """The outcome of a chain check: events checked and the first broken one (None when intact)."""

    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether the whole chain is intact."""
        return self.broken_seq is None


def verify(session: Session) -> Verdict:
    """Walk the chain in order; name the first event that was edited, follows a deleted one, or moved."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq, AuditEvent.id)).yield_per(1000):
        if event.seq != expected_seq:
            return Verdict(checked, event.seq, event.id, f"序号不连续: 应为 {expected_seq}, 实为 {event.seq} (有事件被删除或移动)")
        if event.prev_hash != prev:
            return Verdict(checked, event.seq, event.id, "与前一事件的哈希不衔接 (前一事件被删除、修改或调换)")
        digest = event_hash(prev, seq=event.seq, at=event.at, actor=event.actor, action=event.action,
                            object_type=event.object_type, object_id=event.object_id, details=event.details)
        if digest != event.hash:
            return Verdict(checked, event.seq, event.id, "内容与哈希不符 (事件被修改)")
        prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = session.get(AuditHead, 1)
    if head is not None and head.seq != checked:
        return Verdict(checked, checked + 1, None, f"链尾缺失: 记录到第 {head.seq} 号, 只找到 {checked} 个")
    return Verdict(checked)


@dataclass
class AuditFilter:
    """What the audit page shows: by actor (a login name, or part of a person's name), action, object, period."""

    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


def list_events(session: Session, f: AuditFilter) -> list[AuditEvent]:
    """Events matching the filter, newest first."""
    query = select(AuditEvent)
    if f.actor:
        named = select(User.username).where(User.display_name.contains(f.actor, autoescape=True))
        query = query.where(or_(AuditEvent.actor == f.actor, AuditEvent.actor.in_(named)))
    if f.action:
        query = query.where(AuditEvent.action == f.action)
    if f.object_type:
        query = query.where(AuditEvent.object_type == f.object_type)
    if f.object_id:
        query = query.where(AuditEvent.object_id == str(f.object_id))
    if f.since:
        query = query.where(AuditEvent.at >= f.since)
    if f.until:
        query = query.where(AuditEvent.at < f.until)
    return list(session.scalars(query.order_by(AuditEvent.seq.desc()).limit(max(1, min(f.limit, 500)))).all())
