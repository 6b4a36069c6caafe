"""The inbox's page queries over the derived work_item table, prepared once per kind of filter (they run on
every inbox request; see engine/rows.py for why prepared statements). Through the (status, who, sort_due) indexes."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import Integer, and_, bindparam, case, func, or_, select, tuple_
from sqlalchemy.orm import Session

from engine import Item, UTCDateTime, WorkItem
from engine.prepared import Prepared

if TYPE_CHECKING:
    from ..org.models import User
    from .service import InboxFilter

ITEM = WorkItem.__table__
# Escalations (督办) come before everything else; then tasks by due time (sort_due: overdue first).
_RANK = case((ITEM.c.kind == "escalation", 0), else_=1)


def base(scope: str, f: InboxFilter, groups: int | None = None, people: int = 0, forms: int = 0):
    """The WHERE of one scope, with bind parameters: b_user, b_groups (or b_group0 … for `groups` groups),
    b_process, b_now, b_text (and b_person0 …, b_form0 … for `people` handlers and `forms` forms the text names)."""
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


def params_for(actor: User, f: InboxFilter, now: datetime) -> dict:
    """The bind values of the actor's page and count queries."""
    return {"b_user": actor.username, "b_groups": list(actor.groups), "b_process": f.process, "b_now": now,
            "b_text": contains_pattern(f.text) if f.text else None, "b_limit": f.limit}


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


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally."""
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


@lru_cache(maxsize=256)
def _page_query(scope: str, process: bool, overdue_only: bool, text: bool, groups: int, people: int = 0,
                forms: int = 0) -> Prepared:
    # One statement per kind of filter and number of queues, built and compiled once: building and running
    # a statement through SQLAlchemy costs several times what the database spends on it.
    from .service import InboxFilter

    f = InboxFilter(process="x" if process else None, overdue_only=overdue_only, text="x" if text else None)
    # sort_due is due_at, or a far-future value for items without one: overdue first, straight off the index.
    return Prepared(select(ITEM).where(base(scope, f, groups, people, forms)).order_by(ITEM.c.sort_due)
                    .limit(bindparam("b_limit")))


def page(session: Session, scope: str, f: InboxFilter, params: dict) -> list[Item]:
    """One scope's page of open items, overdue first."""
    if scope != "mine" and not params["b_groups"]:
        return []  # no queues
    query = _page_query(scope, bool(f.process), f.overdue_only, bool(f.text), len(params["b_groups"]),
                        len(f.people) if f.text else 0, _bucket(len(f.forms)) if f.text else 0)
    return [Item.from_tuple(r) for r in query.all(session, _page_params(scope, f, params))]


def _bucket(n: int) -> int:
    """Form-id lists are bound in a few sizes (padded), so searches share a handful of prepared statements."""
    return 0 if n == 0 else next(size for size in (8, 32, 200) if n <= size)


# --- the API's pages (processes/inbox/paging.py): one ordering over both scopes, walked with a cursor ---------
def _api_where(scope: str, f: InboxFilter, groups: int):
    """The WHERE of the actor's open items, with bind parameters b_user, b_group0 … (`groups` of them), b_process,
    b_now and b_text."""
    c = ITEM.c
    mine = c.assignee == bindparam("b_user")
    queue = and_(c.assignee.is_(None), c.candidate_group.in_([bindparam(f"b_group{i}") for i in range(groups)]))
    cond = and_(c.status == "open", {"mine": mine, "queue": queue}.get(scope, or_(mine, queue)))
    if f.process:
        cond = and_(cond, c.process_key == bindparam("b_process"))
    if f.overdue_only:
        cond = and_(cond, c.sort_due <= bindparam("b_now"))
    if f.text:
        cond = and_(cond, c.subject.like(bindparam("b_text"), escape="/"))
    return cond


@lru_cache(maxsize=256)
def api_page_queries(scope: str, process: bool, overdue_only: bool, text: bool, groups: int,
                     after: bool) -> tuple[Prepared, Prepared]:
    """The API's page statement (escalations first, then by due time, after a cursor's b_rank, b_due, b_id) and
    count statement (all, escalations, overdue at b_count_now) of one kind of filter and number of queues.

    Built and compiled once: building and running them through SQLAlchemy on each request cost several times what
    the database spends on them."""
    from .service import InboxFilter

    f = InboxFilter(scope=scope, process="x" if process else None, overdue_only=overdue_only, text="x" if text else None)
    where = _api_where(scope, f, groups)
    query = select(ITEM).where(where)
    if after:
        query = query.where(tuple_(_RANK, ITEM.c.sort_due, ITEM.c.id) > tuple_(
            bindparam("b_rank", type_=Integer()), bindparam("b_due", type_=ITEM.c.sort_due.type),
            bindparam("b_id", type_=ITEM.c.id.type)))
    page_query = Prepared(query.order_by(_RANK, ITEM.c.sort_due, ITEM.c.id).limit(bindparam("b_limit")))
    count_query = Prepared(select(
        func.count(), func.sum(case((ITEM.c.kind == "escalation", 1), else_=0)),
        # overdue work: tasks past due (a 督办 item sorts with its late task but is not itself late work)
        func.sum(case(((ITEM.c.kind == "task") & (ITEM.c.sort_due <= bindparam("b_count_now")), 1), else_=0)))
        .where(where))
    return page_query, count_query
