"""Demo external transfers, made through the services at past times: one sent and awaiting its receipt, one signed."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.runtime import Runtime

from ..forms import service as forms
from ..forms.models import FormTemplate
from ..org import service as org
from . import receipts, service
from .models import ExternalTransfer

DEMO_FORMS = [
    ({"business_type": "对公账户开户", "customer_name": "北京某某科技有限公司", "content": "开立基本存款账户, 法院协助查询开户资料",
      "handled_at": "2026-02-10 10:00", "handled_by": "陈柜员"},
     {"recipient_unit": "北京市某某区人民法院", "recipient_name": "孙书记员", "recipient_contact": "010-6688 1234",
      "purpose": "协助查询 (2026) 京 0105 执 123 号"}),
    ({"business_type": "个人贷款申请", "customer_name": "李四", "content": "个人经营贷款 30 万元, 合作银行联合授信",
      "handled_at": "2026-02-12 14:30", "handled_by": "陈柜员"},
     {"recipient_unit": "某某合作银行授信部", "recipient_name": "钱经理", "recipient_contact": "021-5555 0101",
      "purpose": "联合授信审查"}),
]


def seed_external(session: Session, runtime: Runtime, config: dict, *, now: datetime) -> list[ExternalTransfer]:
    """Two transfers of 信贷部, once: the first awaits its receipt, the second was signed on its link."""
    if session.scalar(select(ExternalTransfer.id).limit(1)):
        return []
    clerk, handler, head = (org.get_by_username(session, u) for u in ("clerk", "handler", "head"))
    template_id = session.scalar(select(FormTemplate.id).where(FormTemplate.code == "general"))
    if None in (clerk, handler, head, template_id):
        return []
    made = []
    for n, (values, request) in enumerate(DEMO_FORMS):
        at = now - timedelta(days=6 - 3 * n)
        form = forms.create_form(session, runtime, config, actor=clerk, template_id=template_id, data=values,
                                 submit=True, now=at)
        transfer = service.start(session, runtime, config, form=form, actor=handler, now=at + timedelta(minutes=20),
                                 data={**request, "fields": None, "full_fields": [], "receipt_days": 14})
        check = next(i for i in _open_items(session, runtime, transfer))
        service.complete_item(session, runtime, item=check, actor=head, data={"decision": "approve", "comment": "与原件一致"},
                              now=at + timedelta(hours=1))
        if n == 1:
            issued = receipts.issue_link(session, runtime, config, transfer=transfer, actor=handler,
                                         now=at + timedelta(hours=2))
            receipts.sign(session, runtime, config, token=issued.token, name="钱某", position="授信经理",
                          unit=request["recipient_unit"], code=issued.code, client_address="203.0.113.7",
                          now=at + timedelta(days=1))
        made.append(transfer)
    return made


def _open_items(session: Session, runtime: Runtime, transfer: ExternalTransfer):
    """The transfer's open check item (read through the inbox's own table via the runtime)."""
    from ..inbox import service as inbox

    for item in inbox.list_items(session, actor=org.get_by_username(session, "head"), now=transfer.started_at,
                                 f=inbox.InboxFilter(process=service.PROCESS_KEY, limit=200)):
        if item.ref_id == transfer.id and item.task_name == service.CHECK_STEP:
            yield item
