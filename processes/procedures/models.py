"""Deployment requests that wait for a second manager."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import Base, UTCDateTime


class DeploymentRequest(Base):
    """部署申请: a diagram a manager wants deployed, waiting for another manager's approval."""

    __tablename__ = "deployment_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # pending | deployed | rejected
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # the requester's change note (变更说明): what and why
    trial: Mapped[dict | None] = mapped_column(JSON)  # the trial run's paths, kept so the approver need not re-run it
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"))
