"""Inbox queries: they read only the derived work_item table, through its (status, who, sort_due) indexes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from engine.rows import ITEM, Item

from ..org.models import User


@dataclass
class InboxFilter:
    """What the inbox shows: `scope` mine | queue | all, a process key, overdue only, a text in the subject."""

    scope: str = "all"
    process: str | None = None
    overdue_only: bool = False
    text: str | None = None
    limit: int = 50


def _base(actor: User, scope: str, f: InboxFilter, now: datetime):
    c = ITEM.c
    if scope == "mine":
        cond = and_(c.status == "open", c.assignee == actor.username)
    else:
        cond = and_(c.status == "open", c.assignee.is_(None), c.candidate_group.in_(actor.groups))
    if f.process:
        cond = and_(cond, c.process_key == f.process)
    if f.overdue_only:
        cond = and_(cond, c.sort_due <= now)
    if f.text:
        cond = and_(cond, c.subject.contains(f.text, autoescape=True))
    return cond


def _page(session: Session, cond, limit: int) -> list[Item]:
    # sort_due is due_at, or a far-future value for items without one: overdue first, straight off the index.
    # Read with Core into plain items: a page of ORM objects costs several times the query.
    rows = session.connection().execute(select(ITEM).where(cond).order_by(ITEM.c.sort_due).limit(limit))
    return [Item.from_row(r) for r in rows]


def list_items(session: Session, *, actor: User, now: datetime, f: InboxFilter | None = None) -> list[Item]:
    """The actor's open items (assigned to them, and unclaimed in their queues), overdue first."""
    f = f or InboxFilter()
    scopes = ["mine", "queue"] if f.scope == "all" else [f.scope]
    items: list[Item] = []
    for scope in scopes:
        items += _page(session, _base(actor, scope, f, now), f.limit)
    items.sort(key=lambda i: (i.sort_due, i.created_at))
    return items[: f.limit]


def counts(session: Session, *, actor: User, now: datetime) -> dict[str, int]:
    """How many items are mine, in my queues, and overdue among both."""
    result = {}
    for scope in ("mine", "queue"):
        cond = _base(actor, scope, InboxFilter(), now)
        conn = session.connection()
        result[scope] = conn.execute(select(func.count()).select_from(ITEM).where(cond)).scalar() or 0
        result[f"{scope}_overdue"] = conn.execute(
            select(func.count()).select_from(ITEM).where(cond, ITEM.c.sort_due <= now)).scalar() or 0
    return result
