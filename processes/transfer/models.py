"""Handover records and escalations."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import Base, UTCDateTime

HANDOVER_STATUS = {
    "pending": "待接收",
    "received": "已接收",
    "completed": "已移交",  # the hop that closes the form reads 已办结 (see the handover table)
    "returned": "已退回",
    "cancelled": "已撤销",
}


class Handover(Base):
    """交接记录 (R4.2.1): who handed the form to which department, when received, by when due, how it ended."""

    __tablename__ = "handover"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("form.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    work_item_id: Mapped[str] = mapped_column(ForeignKey("work_item.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # handover | return
    step: Mapped[str] = mapped_column(String(100))
    step_name: Mapped[str] = mapped_column(String(200))
    from_department: Mapped[str] = mapped_column(String(100))
    from_user: Mapped[str] = mapped_column(String(100))
    to_department: Mapped[str | None] = mapped_column(String(100))
    to_user: Mapped[str | None] = mapped_column(String(100))
    handed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    late_reason: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)

    @property
    def status_label(self) -> str:
        """The status as staff say it."""
        return HANDOVER_STATUS.get(self.status, self.status)


class Escalation(Base):
    """逾期升级: a late hop reported to a superior, who may urge, reassign or take it over."""

    __tablename__ = "escalation"

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handover.id"), index=True)
    work_item_id: Mapped[str | None] = mapped_column(ForeignKey("work_item.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    superior: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    urge_count: Mapped[int] = mapped_column(Integer, default=0)
    last_action: Mapped[str | None] = mapped_column(String(200))
    last_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
