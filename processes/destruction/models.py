"""Retention rules, holds, destruction batches with their approvals and supervisors, and tombstones (R4.5)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import Base, UTCDateTime

KINDS = {"retention": "保管期满", "error": "业务错误", "duplicate": "重复"}
STATUSES = {"proposed": "待提交", "superseded": "已提交", "in_approval": "审批中", "approved": "已批准", "returned": "已退回", "executed": "已销毁"}


class RetentionRule(Base):
    """保管期限规则: a business type's retention (Y permanent, D30, D10, D5…), and the legal basis when one is named."""

    __tablename__ = "retention_rule"

    business_type: Mapped[str] = mapped_column(String(100), primary_key=True)
    retention: Mapped[str] = mapped_column(String(10))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Hold(Base):
    """暂缓销毁: a form or a volume kept past its retention for an unsettled matter; released with a record."""

    __tablename__ = "destruction_hold"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int | None] = mapped_column(ForeignKey("form.id"), index=True)
    volume_id: Mapped[int | None] = mapped_column(ForeignKey("archive_volume.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(100))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(100))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_reason: Mapped[str | None] = mapped_column(Text)


class Destruction(Base):
    """销毁批次: what is to be destroyed, why, its approval, and once executed its supervisors and key expiry."""

    __tablename__ = "destruction"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # retention | error | duplicate
    status: Mapped[str] = mapped_column(String(20), index=True)  # in_approval | approved | returned | executed
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(JSON, default=list)  # attachment ids
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    approved_form_ids: Mapped[list | None] = mapped_column(JSON)  # the list as management approved it
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    executed_by: Mapped[str | None] = mapped_column(String(100))
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supervisors: Mapped[list] = mapped_column(JSON, default=list)  # usernames of the two 监销人
    paper: Mapped[list] = mapped_column(JSON, default=list)  # [{volume_id, method, place}]
    key_backups_expire_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    register_sha256: Mapped[str | None] = mapped_column(String(64))

    @property
    def kind_label(self) -> str:
        """The kind as people say it."""
        return KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        """The status as people say it."""
        return STATUSES.get(self.status, self.status)


class DestructionItem(Base):
    """One form of a batch, as the register lists it (kept after the form's content is gone)."""

    __tablename__ = "destruction_item"
    __table_args__ = (Index("ix_destruction_item_batch", "destruction_id", "form_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    destruction_id: Mapped[int] = mapped_column(ForeignKey("destruction.id"))
    form_id: Mapped[int] = mapped_column(ForeignKey("form.id"), index=True)
    archival_code: Mapped[str] = mapped_column(String(80), default="")
    title: Mapped[str] = mapped_column(String(300))
    business_type: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    year: Mapped[int] = mapped_column(Integer)
    retention: Mapped[str] = mapped_column(String(10), default="")
    pages: Mapped[int] = mapped_column(Integer, default=1)
    volume_id: Mapped[int | None] = mapped_column(ForeignKey("archive_volume.id"))


class DestructionStep(Base):
    """One approval step's decision (鉴定意见, 部门审核, 管理层批准) with its comment."""

    __tablename__ = "destruction_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    destruction_id: Mapped[int] = mapped_column(ForeignKey("destruction.id"), index=True)
    step: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Tombstone(Base):
    """销毁记录 of one form: what it was (档号, business type, year) and when which batch destroyed it; no content."""

    __tablename__ = "form_tombstone"

    form_id: Mapped[int] = mapped_column(ForeignKey("form.id"), primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    archival_code: Mapped[str] = mapped_column(String(80), default="")
    business_type: Mapped[str] = mapped_column(String(100))
    year: Mapped[int] = mapped_column(Integer)
    destruction_id: Mapped[int] = mapped_column(ForeignKey("destruction.id"))
    destroyed_at: Mapped[datetime] = mapped_column(UTCDateTime)
