"""Inbox queries: they read only the derived work_item table, through its (status, who, due_at) indexes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from engine.models import WorkItem

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
    if scope == "mine":
        cond = and_(WorkItem.status == "open", WorkItem.assignee == actor.username)
    else:
        cond = and_(WorkItem.status == "open", WorkItem.assignee.is_(None), WorkItem.candidate_group.in_(actor.groups))
    if f.process:
        cond = and_(cond, WorkItem.process_key == f.process)
    if f.overdue_only:
        cond = and_(cond, WorkItem.due_at <= now)
    if f.text:
        cond = and_(cond, WorkItem.subject.contains(f.text, autoescape=True))
    return cond


def _page(session: Session, cond, limit: int) -> list[WorkItem]:
    # Items with a due time, earliest (i.e. overdue) first, straight off the index; then those without.
    dated = session.scalars(
        select(WorkItem).where(cond, WorkItem.due_at.is_not(None)).order_by(WorkItem.due_at).limit(limit)
    ).all()
    if len(dated) >= limit:
        return list(dated)
    undated = session.scalars(
        select(WorkItem).where(cond, WorkItem.due_at.is_(None)).order_by(WorkItem.created_at).limit(limit - len(dated))
    ).all()
    return list(dated) + list(undated)


def list_items(session: Session, *, actor: User, now: datetime, f: InboxFilter | None = None) -> list[WorkItem]:
    """The actor's open items (assigned to them, and unclaimed in their queues), overdue first."""
    f = f or InboxFilter()
    scopes = ["mine", "queue"] if f.scope == "all" else [f.scope]
    items: list[WorkItem] = []
    for scope in scopes:
        items += _page(session, _base(actor, scope, f, now), f.limit)
    far = datetime.max.replace(tzinfo=now.tzinfo)
    items.sort(key=lambda i: (i.due_at is None, i.due_at or far, i.created_at))
    return items[: f.limit]


def counts(session: Session, *, actor: User, now: datetime) -> dict[str, int]:
    """How many items are mine, in my queues, and overdue among both."""
    result = {}
    for scope in ("mine", "queue"):
        cond = _base(actor, scope, InboxFilter(), now)
        result[scope] = session.scalar(select(func.count()).select_from(WorkItem).where(cond)) or 0
        result[f"{scope}_overdue"] = session.scalar(
            select(func.count()).select_from(WorkItem).where(cond, WorkItem.due_at <= now)) or 0
    return result
