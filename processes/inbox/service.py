"""Inbox queries: they read only the derived work_item table, through its (status, who, sort_due) indexes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from engine.db import UTCDateTime
from engine.prepared import Prepared
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
    page: int = 1  # pages of `limit` items, from 1
    people: tuple[str, ...] = ()  # logins whose names match `text`: their items match too
    forms: tuple[int, ...] = ()  # forms whose values (e.g. the customer) match `text`: their items match too


def _base(scope: str, f: InboxFilter, groups: int | None = None, people: int = 0, forms: int = 0):
    """The WHERE of one scope, with bind parameters: b_user, b_groups (or b_group0 … for `groups` groups),
    b_process, b_now, b_text."""
    c = ITEM.c
    if scope == "mine":
        cond = and_(c.status == "open", c.assignee == bindparam("b_user"))
    elif groups is not None:
        cond = and_(c.status == "open", c.assignee.is_(None),
                    c.candidate_group.in_([bindparam(f"b_group{i}") for i in range(groups)]))
    else:
        cond = and_(c.status == "open", c.assignee.is_(None), c.candidate_group.in_(bindparam("b_groups", expanding=True)))
    if f.process:
        cond = and_(cond, c.process_key == bindparam("b_process"))
    if f.overdue_only:
        cond = and_(cond, c.sort_due <= bindparam("b_now", type_=UTCDateTime()))
    if f.text:
        matches = c.subject.like(bindparam("b_text"), escape="/")
        if people:  # the text names a handler: the items they hold
            matches = or_(matches, c.assignee.in_([bindparam(f"b_person{i}") for i in range(people)]))
        if forms:  # the text is in a form (its customer): that form's items
            matches = or_(matches, and_(c.ref_type == "form", c.ref_id.in_([bindparam(f"b_form{i}") for i in range(forms)])))
        cond = and_(cond, matches)
    return cond


def _params(actor: User, f: InboxFilter, now: datetime) -> dict:
    return {"b_user": actor.username, "b_groups": list(actor.groups), "b_process": f.process, "b_now": now,
            "b_text": _contains_pattern(f.text) if f.text else None, "b_limit": f.limit}


def _page_params(scope: str, f: InboxFilter, params: dict) -> dict:
    """Exactly the parameters the page query of `scope` and `f` takes."""
    wanted = {"b_limit": params["b_limit"]}
    if scope == "mine":
        wanted["b_user"] = params["b_user"]
    else:
        wanted.update({f"b_group{i}": group for i, group in enumerate(params["b_groups"])})
    if f.process:
        wanted["b_process"] = params["b_process"]
    if f.overdue_only:
        wanted["b_now"] = params["b_now"]
    if f.text:
        wanted["b_text"] = params["b_text"]
        wanted.update({f"b_person{i}": login for i, login in enumerate(f.people)})
        padded = list(f.forms) + [-1] * (_bucket(len(f.forms)) - len(f.forms))  # -1 is no form
        wanted.update({f"b_form{i}": form_id for i, form_id in enumerate(padded)})
    return wanted


def _contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally."""
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


@lru_cache(maxsize=256)
def _page_query(scope: str, process: bool, overdue_only: bool, text: bool, groups: int, people: int = 0,
                forms: int = 0) -> Prepared:
    # One statement per kind of filter and number of queues, built and compiled once: building and running
    # a statement through SQLAlchemy costs several times what the database spends on it.
    f = InboxFilter(process="x" if process else None, overdue_only=overdue_only, text="x" if text else None)
    # sort_due is due_at, or a far-future value for items without one: overdue first, straight off the index.
    return Prepared(select(ITEM).where(_base(scope, f, groups, people, forms)).order_by(ITEM.c.sort_due)
                    .limit(bindparam("b_limit")))


def _page(session: Session, scope: str, f: InboxFilter, params: dict) -> list[Item]:
    if scope != "mine" and not params["b_groups"]:
        return []  # no queues
    query = _page_query(scope, bool(f.process), f.overdue_only, bool(f.text), len(params["b_groups"]),
                        len(f.people) if f.text else 0, _bucket(len(f.forms)) if f.text else 0)
    return [Item.from_tuple(r) for r in query.all(session, _page_params(scope, f, params))]


def _bucket(n: int) -> int:
    """Form-id lists are bound in a few sizes (padded), so searches share a handful of prepared statements."""
    return 0 if n == 0 else next(size for size in (8, 32, 200) if n <= size)


def people_named(session: Session, text: str, limit: int = 20) -> tuple[str, ...]:
    """Logins of the people whose name contains `text` (the inbox searches by handler as people read them)."""
    return tuple(session.scalars(select(User.username).where(User.display_name.like(_contains_pattern(text), escape="/"))
                                 .order_by(User.id).limit(limit)))


def list_items(session: Session, *, actor: User, now: datetime, f: InboxFilter | None = None) -> list[Item]:
    """The actor's open items (assigned to them, and unclaimed in their queues), overdue first; page `f.page`."""
    return list_page(session, actor=actor, now=now, f=f)[0]


def list_page(session: Session, *, actor: User, now: datetime, f: InboxFilter | None = None) -> tuple[list[Item], bool]:
    """One page of the actor's open items, and whether there is a next one."""
    f = f or InboxFilter()
    scopes = ["mine", "queue"] if f.scope == "all" else [f.scope]
    # Each scope's first page*limit+1 items, merged: enough to cut this page and know whether more follow.
    params = {**_params(actor, f, now), "b_limit": f.limit * f.page + 1}
    items: list[Item] = []
    for scope in scopes:
        items += _page(session, scope, f, params)
    items.sort(key=lambda i: (i.sort_due, i.created_at))
    start = f.limit * (f.page - 1)
    return items[start: start + f.limit], len(items) > start + f.limit


def done_by(session: Session, *, actor: User, page: int = 1, limit: int = 50) -> tuple[list[Item], bool]:
    """我已办: the tasks the actor completed, newest first, one page, and whether more follow."""
    rows = session.execute(select(ITEM).where(ITEM.c.completed_by == actor.username, ITEM.c.status == "done")
                           .order_by(ITEM.c.completed_at.desc()).offset(limit * (page - 1)).limit(limit + 1)).all()
    return [Item.from_tuple(r) for r in rows[:limit]], len(rows) > limit


def counts(session: Session, *, actor: User, now: datetime) -> dict[str, int]:
    """How many items are mine, in my queues, and overdue among both."""
    result = {}
    params = _params(actor, InboxFilter(), now)
    for scope in ("mine", "queue"):
        cond = _base(scope, InboxFilter())
        conn = session.connection()
        result[scope] = conn.execute(select(func.count()).select_from(ITEM).where(cond), params).scalar() or 0
        result[f"{scope}_overdue"] = conn.execute(
            select(func.count()).select_from(ITEM).where(cond, ITEM.c.sort_due <= now), params).scalar() or 0
    return result
