"""The audit chain's writes: every step appends an event, so they use prepared statements (see engine/rows.py).

The chain's head row (seq, hash) moves with every event. The head this process last wrote is kept per
database: a transaction starts from it without reading the head row, and moving the head is conditional
on the row still holding exactly that seq and hash, which also takes the row's lock. Only when another
process (or a rolled-back transaction) moved it is the row read. Within a transaction the head is kept in
the transaction's context (dropped when a savepoint rolls back, since the row may then say otherwise).
"""
from __future__ import annotations

import contextlib
from typing import Callable
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import transaction
from engine.prepared import Prepared

from .models import AuditEvent, AuditHead

GENESIS = "0" * 64
EVENTS, HEAD = AuditEvent.__table__, AuditHead.__table__
_HEAD_KEY = "audit.head"
_INSERT_EVENT = Prepared(EVENTS.insert())
_MOVE_HEAD = Prepared(HEAD.update().where(HEAD.c.id == 1))
_MOVE_HEAD_FROM = Prepared(HEAD.update().where(HEAD.c.id == 1, HEAD.c.seq == bindparam("b_seq"),
                                               HEAD.c.hash == bindparam("b_hash")))
_SELECT_HEAD = select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)
_READ_HEAD = {"postgresql": Prepared(_SELECT_HEAD.with_for_update())}
_READ_HEAD_DEFAULT = Prepared(_SELECT_HEAD)
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


def append(session: Session, event: dict, chain: Callable[..., str]) -> int:
    """Write `event` as the chain's next one (its hash is chain(prev_hash, seq=…, **event)) and move the head."""
    held = transaction(session).stage
    head = held.get(_HEAD_KEY)
    if head is None:
        guess = _last_head.get(session.get_bind())
        head = dict(guess, locked=False) if guess else _read_head(session)
    seq, digest = head["seq"] + 1, chain(head["hash"], seq=head["seq"] + 1, **event)
    if head["locked"]:
        _MOVE_HEAD.execute(session, {"seq": seq, "hash": digest})
    elif _MOVE_HEAD_FROM.execute(session, {"b_seq": head["seq"], "b_hash": head["hash"], "seq": seq,
                                           "hash": digest}).rowcount != 1:
        head = _read_head(session)  # somebody else moved it: chain onto what the row says
        seq, digest = head["seq"] + 1, chain(head["hash"], seq=head["seq"] + 1, **event)
        _MOVE_HEAD.execute(session, {"seq": seq, "hash": digest})
    _INSERT_EVENT.execute(session, {"seq": seq, **event, "prev_hash": head["hash"], "hash": digest})
    held[_HEAD_KEY] = {"seq": seq, "hash": digest, "locked": True}
    _last_head[session.get_bind()] = {"seq": seq, "hash": digest}
    return seq
