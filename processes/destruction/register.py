"""销毁清册 (R4.5.4): the register of an executed batch, printed as a PDF with signature lines and kept."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import documents
from ..errors import Conflict
from ..org import service as org
from . import retention
from .models import KINDS, Destruction, DestructionItem, DestructionStep

STEP_LABELS = {"appraise_archive": "档案室负责人鉴定", "appraise_department": "业务部门鉴定",
               "department_review": "部门负责人审核", "approve": "公司管理层批准"}
ELECTRONIC = "密钥销毁"


def register_content(session: Session, config: dict, batch: Destruction) -> dict:
    """What the register certifies (its content hash is taken over this)."""
    at = batch.executed_at
    zone = ZoneInfo(config["app"]["timezone"])
    paper = {p["volume_id"]: p for p in batch.paper or []}
    rows = [{"code": i.archival_code or "—", "title": i.title, "year": i.year, "retention": retention.label(i.retention)
             if i.retention else "—", "elapsed": f"{max(0, at.year - i.year - 1)}年" if at else "—", "pages": i.pages,
             "method": ELECTRONIC + (f"; 纸质{paper[i.volume_id]['method']}" if i.volume_id in paper else "")}
            for i in session.scalars(select(DestructionItem).where(DestructionItem.destruction_id == batch.id)
                                     .order_by(DestructionItem.archival_code, DestructionItem.form_id))]
    steps = [{"step": STEP_LABELS.get(s.step, s.step), "decision": "同意" if s.decision == "approve" else "退回",
              "by": org.display_name(session, s.decided_by), "at": s.decided_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), "comment": s.comment or ""}
             for s in session.scalars(select(DestructionStep).where(DestructionStep.destruction_id == batch.id)
                                      .order_by(DestructionStep.id))]
    return {"batch": batch.id, "kind": KINDS.get(batch.kind, batch.kind), "reason": batch.reason,
            "executed_at": at.isoformat() if at else None, "method": f"电子: {ELECTRONIC} (crypto-shredding)",
            "paper": batch.paper or [], "rows": rows, "steps": steps,
            "supervisors": [org.display_name(session, s) for s in batch.supervisors or []],
            "executed_by": org.display_name(session, batch.executed_by) if batch.executed_by else "",
            "proposed_by": org.display_name(session, batch.created_by),
            "key_backups_expire_at": batch.key_backups_expire_at.isoformat() if batch.key_backups_expire_at else None,
            "kept": config["destruction"]["register_retention"]}


def register_pdf(session: Session, config: dict, batch: Destruction, *, now: datetime, issuer: str = "") -> bytes:
    """The register as a PDF; only an executed batch has one."""
    if batch.status != "executed":
        raise Conflict("该批次尚未执行销毁, 没有销毁清册", code="not_executed")
    content = register_content(session, config, batch)
    return documents.render_pdf("destruction_register.html", title="销毁清册", number=f"XH-{batch.id}",
                                subtitle=f"{content['kind']} · {len(content['rows'])} 件", issuer=issuer,
                                generated_at=now, content_sha256=batch.register_sha256 or "",
                                zone=config["app"]["timezone"], c=content, batch=batch,
                                retention_label=retention.label(content["kept"]))
