"""The API's inbox pages: escalations first, then overdue first, walked with a cursor, with counts.

A head can hold hundreds of escalation items beside a full queue; one ordering over both scopes (rank,
due, id) and a cursor after the last item shown mean no item is crowded out and none is shown twice.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from engine import Item

from ..errors import ValidationFailed
from ..org.models import User
from .rows import ITEM, contains_pattern
from .service import InboxFilter

# Escalations (督办) come before everything else; then tasks by due time (sort_due: overdue first).
_RANK = case((ITEM.c.kind == "escalation", 0), else_=1)


@dataclass
class Page:
    """One page of items, the cursor of the next page (None on the last), and counts over every page."""

    items: list[Item]
    next_cursor: str | None
    counts: dict[str, int]


def _where(actor: User, f: InboxFilter, now: datetime):
    c = ITEM.c
    mine = c.assignee == actor.username
    queue = and_(c.assignee.is_(None), c.candidate_group.in_(list(actor.groups) or [""]))
    cond = and_(c.status == "open", {"mine": mine, "queue": queue}.get(f.scope, or_(mine, queue)))
    if f.process:
        cond = and_(cond, c.process_key == f.process)
    if f.overdue_only:
        cond = and_(cond, c.sort_due <= now)
    if f.text:
        cond = and_(cond, c.subject.like(contains_pattern(f.text), escape="/"))
    return cond


def encode_cursor(item: Item) -> str:
    """The opaque position just after `item` in the order of the pages."""
    rank = 0 if item.kind == "escalation" else 1
    raw = json.dumps([rank, item.sort_due.isoformat(), item.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, datetime, str]:
    """(rank, sort_due, id) of a cursor; ValidationFailed when it is not one this API gave out."""
    try:
        rank, due, item_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if rank not in (0, 1) or not isinstance(item_id, str):
            raise ValueError(rank)
        return rank, datetime.fromisoformat(due), item_id
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ValidationFailed({"cursor": "翻页标记无效, 请从第一页重新开始"}) from None


def page(session: Session, *, actor: User, now: datetime, f: InboxFilter, cursor: str | None = None) -> Page:
    """The actor's open items after `cursor`: escalations first, then by due time; at most f.limit."""
    where = _where(actor, f, now)
    query = select(ITEM).where(where)
    if cursor:
        rank, due, item_id = decode_cursor(cursor)
        query = query.where(tuple_(_RANK, ITEM.c.sort_due, ITEM.c.id) > tuple_(literal(rank), literal(due, ITEM.c.sort_due.type),
                                                                                 literal(item_id, ITEM.c.id.type)))
    rows = session.execute(query.order_by(_RANK, ITEM.c.sort_due, ITEM.c.id).limit(f.limit + 1)).all()
    items = [Item.from_tuple(r) for r in rows[: f.limit]]
    more = len(rows) > f.limit
    counted = session.execute(select(
        func.count(), func.sum(case((ITEM.c.kind == "escalation", 1), else_=0)),
        # overdue work: tasks past due (a 督办 item sorts with its late task but is not itself late work)
        func.sum(case(((ITEM.c.kind == "task") & (ITEM.c.sort_due <= now), 1), else_=0))).where(where)).one()
    counts = {"total": counted[0] or 0, "escalations": int(counted[1] or 0), "overdue": int(counted[2] or 0)}
    return Page(items=items, next_cursor=encode_cursor(items[-1]) if more and items else None, counts=counts)
