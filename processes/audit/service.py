"""Append to the audit chain, verify it, and browse it."""
from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.prepared import Prepared

from ..org.models import User
from .models import AuditEvent, AuditHead

GENESIS = "0" * 64


def event_hash(prev_hash: str, *, seq: int, at: datetime, actor: str, action: str, object_type: str, object_id: str,
               details: dict) -> str:
    """The SHA-256 of an event's content together with the previous event's hash."""
    body = json.dumps({"seq": seq, "at": at.isoformat(timespec="microseconds"), "actor": actor, "action": action,
                       "object": f"{object_type}:{object_id}", "details": details},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


# Appending is on every step's path, so it uses prepared statements (see engine/rows.py for why).
EVENTS, HEAD = AuditEvent.__table__, AuditHead.__table__
_HELD = "guichet_txn_audit_head"  # dropped when a savepoint rolls back (engine/runtime.py)
_INSERT_EVENT = Prepared(EVENTS.insert())
_MOVE_HEAD = Prepared(HEAD.update().where(HEAD.c.id == 1))
_MOVE_HEAD_FROM = Prepared(HEAD.update().where(HEAD.c.id == 1, HEAD.c.seq == bindparam("b_seq"),
                                               HEAD.c.hash == bindparam("b_hash")))
_SELECT_HEAD = select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)
_READ_HEAD = {"postgresql": Prepared(_SELECT_HEAD.with_for_update())}
_READ_HEAD_DEFAULT = Prepared(_SELECT_HEAD)

# The head this process last wrote, per database. A transaction starts from it without reading the head
# row: moving the head is conditional on the row still holding exactly that seq and hash, which also takes
# the row's lock. Only when another process (or a rolled-back transaction) moved it is the row read.
_last_head: WeakKeyDictionary = WeakKeyDictionary()


def _read_head(session: Session) -> dict:
    """The head row, locked for the rest of the transaction (created on the very first event)."""
    query = _READ_HEAD.get(session.get_bind().dialect.name, _READ_HEAD_DEFAULT)
    row = query.first(session)
    if row is None:
        # If another transaction created it first, its savepoint is rolled back and the row read as it is.
        with contextlib.suppress(IntegrityError), session.begin_nested():
            session.connection().execute(HEAD.insert(), {"id": 1, "seq": 0, "hash": GENESIS})
        row = query.first(session)
    return {"seq": row[0], "hash": row[1], "locked": True}


def record(session: Session, *, actor: str, action: str, object_type: str, object_id, now: datetime,
           details: dict | None = None) -> int:
    """Append one event (details must hold no personal data: field codes and masked values only); its seq."""
    head = session.info.get(_HELD)
    if head is None:
        guess = _last_head.get(session.get_bind())
        head = dict(guess, locked=False) if guess else _read_head(session)
    event = {"at": now, "actor": actor, "action": action, "object_type": object_type, "object_id": str(object_id),
             "details": dict(details or {})}
    seq, digest = head["seq"] + 1, event_hash(head["hash"], seq=head["seq"] + 1, **event)
    if head["locked"]:
        _MOVE_HEAD.execute(session, {"seq": seq, "hash": digest})
    elif _MOVE_HEAD_FROM.execute(session, {"b_seq": head["seq"], "b_hash": head["hash"], "seq": seq,
                                           "hash": digest}).rowcount != 1:
        head = _read_head(session)  # somebody else moved it: chain onto what the row says
        seq, digest = head["seq"] + 1, event_hash(head["hash"], seq=head["seq"] + 1, **event)
        _MOVE_HEAD.execute(session, {"seq": seq, "hash": digest})
    _INSERT_EVENT.execute(session, {"seq": seq, **event, "prev_hash": head["hash"], "hash": digest})
    session.info[_HELD] = {"seq": seq, "hash": digest, "locked": True}
    _last_head[session.get_bind()] = {"seq": seq, "hash": digest}
    return seq


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
