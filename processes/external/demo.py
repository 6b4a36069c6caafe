"""Demo external transfers, made through the services at past times: one sent and awaiting its receipt, one signed."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.runtime import Runtime

from ..forms.models import Form
from ..org import service as org
from . import receipts, service
from .models import ExternalTransfer

DEMO_REQUESTS = [
    {"recipient_unit": "北京市某某区人民法院", "recipient_name": "孙书记员", "recipient_contact": "010-6688 1234",
     "purpose": "协助查询 (2026) 京 0105 执 123 号"},
    {"recipient_unit": "某某合作银行授信部", "recipient_name": "钱经理", "recipient_contact": "021-5555 0101",
     "purpose": "联合授信审查"},
]


def seed_external(session: Session, runtime: Runtime, config: dict, *, now: datetime) -> list[ExternalTransfer]:
    """Two closed forms of the demo history sent out by 营业部, once: the first awaits its receipt, the second was
    signed on its link."""
    if session.scalar(select(ExternalTransfer.id).limit(1)):
        return []
    clerk, checker = org.get_by_username(session, "clerk"), org.get_by_username(session, "manager")  # 营业部's head
    closed = list(session.scalars(select(Form).where(Form.status == "closed", Form.department_id == clerk.department_id)
                                  .order_by(Form.closed_at.desc()).limit(len(DEMO_REQUESTS)))) if clerk else []
    made = []
    for n, (form, request) in enumerate(zip(closed, DEMO_REQUESTS)):
        at = now - timedelta(days=6 - 3 * n)
        transfer = service.start(session, runtime, config, form=form, actor=clerk, now=at,
                                 data={**request, "fields": None, "full_fields": [], "receipt_days": 14})
        check = next(_open_items(session, runtime, transfer, checker))
        service.complete_item(session, runtime, item=check, actor=checker,
                              data={"decision": "approve", "comment": "与原件一致"}, now=at + timedelta(hours=1))
        if n == 1:
            issued = receipts.issue_link(session, runtime, config, transfer=transfer, actor=clerk,
                                         now=at + timedelta(hours=2))
            receipts.sign(session, runtime, config, token=issued.token, name="钱某", position="授信经理",
                          unit=request["recipient_unit"], code=issued.code, client_address="203.0.113.7",
                          now=at + timedelta(days=1))
        made.append(transfer)
    return made


def _open_items(session: Session, runtime: Runtime, transfer: ExternalTransfer, checker):
    """The transfer's open check item, as the checker's inbox lists it."""
    from ..inbox import service as inbox

    for item in inbox.list_items(session, actor=checker, now=transfer.started_at,
                                 f=inbox.InboxFilter(process=service.PROCESS_KEY, limit=200)):
        if item.ref_id == transfer.id and item.task_name == service.CHECK_STEP:
            yield item
