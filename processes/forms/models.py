"""Templates, their versions, and the forms filled on them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime


class FormTemplate(Base):
    """业务单模板: one per business type; its content lives in versions."""

    __tablename__ = "form_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    business_type: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TemplateVersion(Base):
    """模板版本: the ordered fields of one version; only an approved version is active."""

    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("form_template.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # draft | in_review | active | superseded | rejected
    fields: Mapped[list] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    template: Mapped[FormTemplate] = relationship(lazy="joined")


class Form(Base):
    """业务单: filled on one template version; never edited in place once submitted."""

    __tablename__ = "form"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"))
    business_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # draft | in_transfer | closed
    data: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)

    template_version: Mapped[TemplateVersion] = relationship(lazy="joined")

    @property
    def subject(self) -> str:
        """What the form is about, as a person reads it in a task list."""
        return f"{self.number} {self.business_type}"
