"""Task panels: what a task page shows about the thing its item concerns, one panel per `item.ref_type`.

Each stage's page module registers the panel of its items, so the task page does not grow a branch per stage:

    @task_panel("query_request")
    def _query_panel(session, item, user):
        query = session.get(QueryRequest, item.ref_id)
        return Panel("_task_query.html", {"query": query, ...})

The panel's context joins the task page's (its actions may read it: a form's 补正 step, the help under the
comment); a panel may narrow `decisions`, the buttons the step offers (an external transfer's wait for the
receipt offers none). The same panel serves the step's task items and their escalation items (督办).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.orm import Session

from engine import Item
from processes.org.models import User


@dataclass
class Panel:
    """A template included in the task page (None: nothing to show) and the variables it and the page read."""

    template: str | None
    context: dict = field(default_factory=dict)


PanelFn = Callable[[Session, Item, User], Panel | None]
_panels: dict[str, PanelFn] = {}


def task_panel(ref_type: str) -> Callable[[PanelFn], PanelFn]:
    """Register the decorated function as the panel of items whose `ref_type` is this."""

    def decorate(fn: PanelFn) -> PanelFn:
        _panels[ref_type] = fn
        return fn

    return decorate


def panel_for(session: Session, item: Item, user: User) -> Panel | None:
    """The panel of the item's reference, or None when no stage registered one."""
    fn = _panels.get(item.ref_type or "")
    return fn(session, item, user) if fn else None
