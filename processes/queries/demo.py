"""Demo queries: one approved (the archivist reads two old forms under a live grant) and one waiting for 信贷部's head."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import WorkItem
from engine.runtime import Runtime

from ..forms.models import Form
from ..org import service as org
from . import service
from .models import QueryRequest


def seed_queries(session: Session, runtime: Runtime, config: dict, *, now: datetime | None = None) -> int:
    """File and decide the demo queries through the services, an hour before `now`; returns how many were made."""
    if session.scalar(select(QueryRequest.id).limit(1)):
        return 0
    closed = list(session.scalars(select(Form.id).where(Form.status == "closed").order_by(Form.id).limit(3)))
    if len(closed) < 3:
        return 0
    now = now or datetime.now(timezone.utc)
    archivist, handler = org.get_by_username(session, "archivist"), org.get_by_username(session, "handler")
    approved = service.file_internal(session, runtime, config, actor=archivist, form_ids=closed[:2],
                                     fields=["customer_name", "content"], purpose="年度归档核对: 核对业务内容与客户名称",
                                     days=7, copy=False, now=now - timedelta(hours=1))
    (item_id,) = session.scalars(select(WorkItem.id).where(WorkItem.instance_id == approved.process_instance_id,
                                                          WorkItem.status == "open", WorkItem.kind == "task"))
    item = runtime.get_item(session, item_id)
    service.complete_item(session, runtime, item=item, actor=org.get_by_username(session, item.assignee),
                          data={"decision": "approve", "comment": "同意, 仅限核对"}, now=now - timedelta(minutes=50))
    service.file_internal(session, runtime, config, actor=handler, form_ids=closed[2:3], fields=["customer_name"],
                          purpose="客户投诉复核: 查阅原办理记录", days=3, copy=False, now=now - timedelta(minutes=30))
    session.flush()
    return 2

