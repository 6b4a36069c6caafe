"""The API's inbox pages: escalations first, then overdue first, walked with a cursor, with counts.

A head can hold hundreds of escalation items beside a full queue; one ordering over both scopes (rank,
due, id) and a cursor after the last item shown mean no item is crowded out and none is shown twice.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from engine import Item

from ..errors import ValidationFailed
from ..org.models import User
from .rows import api_page_queries, contains_pattern
from .service import InboxFilter

@dataclass
class Page:
    """One page of items, the cursor of the next page (None on the last), and counts over every page."""

    items: list[Item]
    next_cursor: str | None
    counts: dict[str, int]


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
    groups = list(actor.groups) or [""]  # no queues: a group no item has
    params = {"b_user": actor.username, **{f"b_group{i}": group for i, group in enumerate(groups)}}
    if f.process:
        params["b_process"] = f.process
    if f.overdue_only:
        params["b_now"] = now
    if f.text:
        params["b_text"] = contains_pattern(f.text)
    if f.scope == "mine":  # the queues are not asked about
        params = {k: v for k, v in params.items() if not k.startswith("b_group")}
    elif f.scope == "queue":
        del params["b_user"]
    page_query, count_query = api_page_queries(f.scope, bool(f.process), f.overdue_only, bool(f.text),
                                       0 if f.scope == "mine" else len(groups), bool(cursor))
    page_params = {**params, "b_limit": f.limit + 1}
    if cursor:
        page_params["b_rank"], page_params["b_due"], page_params["b_id"] = decode_cursor(cursor)
    rows = page_query.all(session, page_params)
    items = [Item.from_tuple(r) for r in rows[: f.limit]]
    more = len(rows) > f.limit
    counted = count_query.first(session, {**params, "b_count_now": now})
    counts = {"total": counted[0] or 0, "escalations": int(counted[1] or 0), "overdue": int(counted[2] or 0)}
    return Page(items=items, next_cursor=encode_cursor(items[-1]) if more and items else None, counts=counts)
