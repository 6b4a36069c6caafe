"""Inbox queries: they read only the derived work_item table, through its (status, who, sort_due) indexes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Item

from ..org.models import User
from .rows import ITEM, base, page, params_for


@dataclass
class InboxFilter:
    """What the inbox shows: `scope` mine | queue | all, a process key, overdue only, a text in the subject."""

    scope: str = "all"
    process: str | None = None
    overdue_only: bool = False
    text: str | None = None
    limit: int = 50


def list_items(session: Session, *, actor: User, now: datetime, f: InboxFilter | None = None) -> list[Item]:
    """The actor's open items (assigned to them, and unclaimed in their queues), overdue first."""
    f = f or InboxFilter()
    scopes = ["mine", "queue"] if f.scope == "all" else [f.scope]
    params = params_for(actor, f, now)
    items: list[Item] = []
    for scope in scopes:
        items += page(session, scope, f, params)
    items.sort(key=lambda i: (i.sort_due, i.created_at))
    return items[: f.limit]


def counts(session: Session, *, actor: User, now: datetime) -> dict[str, int]:
    """How many items are mine, in my queues, and overdue among both."""
    result = {}
    params = params_for(actor, InboxFilter(), now)
    for scope in ("mine", "queue"):
        cond = base(scope, InboxFilter())
        conn = session.connection()
        result[scope] = conn.execute(select(func.count()).select_from(ITEM).where(cond), params).scalar() or 0
        result[f"{scope}_overdue"] = conn.execute(
            select(func.count()).select_from(ITEM).where(cond, ITEM.c.sort_due <= now), params).scalar() or 0
    return result
