"""Audit events and the head of their hash chain."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime

ACTIONS = {
    "form.create": "填单",
    "form.submit": "提交",
    "form.correct": "更正",
    "form.reveal": "查看敏感信息",
    "form.handover": "移交",
    "template.design": "设计模板",
    "template.review": "模板审核",
    "template.approve": "模板批准",
    "template.publish": "模板启用",
    "bpmn.deploy": "部署流程",
}


class AuditEvent(Base):
    """审计事件: who did what to which object, when; its hash covers the previous event's hash."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(50), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def action_label(self) -> str:
        """The action as staff say it."""
        return ACTIONS.get(self.action, self.action)


class AuditHead(Base):
    """The chain's last sequence number and hash; its row lock makes appends take turns."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
