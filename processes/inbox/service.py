"""Inbox queries: they read only the derived work_item table, through its (status, who, sort_due) indexes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Item

from ..org.models import User
from .rows import ITEM, base, contains_pattern, page, params_for


@dataclass
class InboxFilter:
    """What the inbox shows: `scope` mine | queue | all, a process key, overdue only, a text in the subject."""

    scope: str = "all"
    process: str | None = None
    overdue_only: bool = False
    text: str | None = None
    limit: int = 50
    page: int = 1  # pages of `limit` items, from 1
    people: tuple[str, ...] = ()  # logins whose names match `text`: their items match too
    forms: tuple[int, ...] = ()  # forms whose values (e.g. the customer) match `text`: their items match too


def people_named(session: Session, text: str, limit: int = 20) -> tuple[str, ...]:
    """Logins of the people whose name contains `text` (the inbox searches by handler as people read them)."""
    return tuple(session.scalars(select(User.username).where(User.display_name.like(contains_pattern(text), escape="/"))
                                 .order_by(User.id).limit(limit)))


def list_items(session: Session, *, actor: User, now: datetime, f: InboxFilter | None = None) -> list[Item]:
    """The actor's open items (assigned to them, and unclaimed in their queues), overdue first; page `f.page`."""
    return list_page(session, actor=actor, now=now, f=f)[0]


def list_page(session: Session, *, actor: User, now: datetime, f: InboxFilter | None = None) -> tuple[list[Item], bool]:
    """One page of the actor's open items, and whether there is a next one."""
    f = f or InboxFilter()
    scopes = ["mine", "queue"] if f.scope == "all" else [f.scope]
    # Each scope's first page*limit+1 items, merged: enough to cut this page and know whether more follow.
    params = {**params_for(actor, f, now), "b_limit": f.limit * f.page + 1}
    items: list[Item] = []
    for scope in scopes:
        items += page(session, scope, f, params)
    items.sort(key=lambda i: (i.sort_due, i.created_at))
    start = f.limit * (f.page - 1)
    return items[start: start + f.limit], len(items) > start + f.limit


def done_by(session: Session, *, actor: User, page: int = 1, limit: int = 50) -> tuple[list[Item], bool]:
    """我已办: the tasks the actor completed, newest first, one page, and whether more follow."""
    rows = session.execute(select(ITEM).where(ITEM.c.completed_by == actor.username, ITEM.c.status == "done")
                           .order_by(ITEM.c.completed_at.desc()).offset(limit * (page - 1)).limit(limit + 1)).all()
    return [Item.from_tuple(r) for r in rows[:limit]], len(rows) > limit


def counts(session: Session, *, actor: User, now: datetime) -> dict[str, int]:
    """How many items are mine, in my queues, and overdue among both (overdue work: late tasks, not the 督办 items
    that sort beside them)."""
    result = {}
    params = params_for(actor, InboxFilter(), now)
    for scope in ("mine", "queue"):
        cond = base(scope, InboxFilter())
        conn = session.connection()
        result[scope] = conn.execute(select(func.count()).select_from(ITEM).where(cond), params).scalar() or 0
        result[f"{scope}_overdue"] = conn.execute(
            select(func.count()).select_from(ITEM).where(cond, ITEM.c.kind == "task", ITEM.c.sort_due <= now),
            params).scalar() or 0
    return result
