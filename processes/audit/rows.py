"""The audit chain's writes: every step appends an event, so they use prepared statements (see engine/rows.py).

The chain's head row (seq, hash) moves with every event. The head this process last wrote is kept per
database: a transaction starts from it without reading the head row, and moving the head is conditional
on the row still holding exactly that seq and hash, which also takes the row's lock. Only when another
process (or a rolled-back transaction) moved it is the row read. Within a transaction the head is kept in
the transaction's context (dropped when a savepoint rolls back, since the row may then say otherwise).

On PostgreSQL moving the head and inserting the event are one statement (the UPDATE in a WITH, the INSERT taking
the new seq and hash from its RETURNING): no event is inserted when the head did not move, and an event is one
round trip to the server instead of two.
"""
from __future__ import annotations

import contextlib
from typing import Callable
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, select, update
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


def _append_with(move) -> Prepared:
    """INSERT the event whose seq and hash the head `move` (an UPDATE of the head row) returns: nothing if no row moved."""
    moved = move.values(seq=bindparam("seq"), hash=bindparam("hash")).returning(HEAD.c.seq, HEAD.c.hash).cte("moved")
    taken = [bindparam(c.name, type_=c.type) for c in (EVENTS.c.at, EVENTS.c.actor, EVENTS.c.action,
                                                        EVENTS.c.object_type, EVENTS.c.object_id, EVENTS.c.details,
                                                        EVENTS.c.prev_hash)]
    columns = ["seq", *(b.key for b in taken), "hash"]
    return Prepared(EVENTS.insert().from_select(columns, select(moved.c.seq, *taken, moved.c.hash)))


# (locked head, head as last seen): the event is inserted only if the head moved, in the same statement.
_APPEND = {"postgresql": (
    _append_with(update(HEAD).where(HEAD.c.id == 1)),
    _append_with(update(HEAD).where(HEAD.c.id == 1, HEAD.c.seq == bindparam("b_seq"),
                                    HEAD.c.hash == bindparam("prev_hash"))))}


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
    bind = session.get_bind()
    if head is None:
        guess = _last_head.get(bind)
        head = dict(guess, locked=False) if guess else _read_head(session)
    together = _APPEND.get(bind.dialect.name)
    if together is not None:
        seq, digest = _append_together(session, together, head, event, chain)
    else:
        seq, digest = _append_apart(session, head, event, chain)
    held[_HEAD_KEY] = {"seq": seq, "hash": digest, "locked": True}
    _last_head[bind] = {"seq": seq, "hash": digest}
    return seq


def _append_together(session: Session, statements, head: dict, event: dict, chain: Callable[..., str]) -> tuple:
    """Move the head and insert the event in one statement; when the head moved meanwhile, read it and chain onto it.
    (seq, hash) of the event."""
    locked, unlocked = statements
    seq, digest = head["seq"] + 1, chain(head["hash"], seq=head["seq"] + 1, **event)
    values = {**event, "seq": seq, "hash": digest, "prev_hash": head["hash"]}
    if head["locked"]:
        locked.execute(session, values)
    elif unlocked.execute(session, {**values, "b_seq": head["seq"]}).rowcount != 1:
        head = _read_head(session)  # somebody else moved it: chain onto what the row says
        seq, digest = head["seq"] + 1, chain(head["hash"], seq=head["seq"] + 1, **event)
        locked.execute(session, {**event, "seq": seq, "hash": digest, "prev_hash": head["hash"]})
    return seq, digest


def _append_apart(session: Session, head: dict, event: dict, chain: Callable[..., str]) -> tuple:
    """Move the head, then insert the event (two statements: SQLite's are cheap, and it has no UPDATE in a WITH).
    (seq, hash) of the event."""
    seq, digest = head["seq"] + 1, chain(head["hash"], seq=head["seq"] + 1, **event)
    if head["locked"]:
        _MOVE_HEAD.execute(session, {"seq": seq, "hash": digest})
    elif _MOVE_HEAD_FROM.execute(session, {"b_seq": head["seq"], "b_hash": head["hash"], "seq": seq,
                                           "hash": digest}).rowcount != 1:
        head = _read_head(session)  # somebody else moved it: chain onto what the row says
        seq, digest = head["seq"] + 1, chain(head["hash"], seq=head["seq"] + 1, **event)
        _MOVE_HEAD.execute(session, {"seq": seq, "hash": digest})
    _INSERT_EVENT.execute(session, {"seq": seq, **event, "prev_hash": head["hash"], "hash": digest})
    return seq, digest
