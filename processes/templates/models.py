"""Review and approval records of template versions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import Base, UTCDateTime

STEPS = {"review": "部门负责人审核", "approve": "公司管理层批准"}
DECISIONS = {"approve": "同意", "return": "退回"}


class TemplateReview(Base):
    """模板审批记录: one decision (approve / return, with comment) on one step of a version's approval."""

    __tablename__ = "template_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"), index=True)
    step: Mapped[str] = mapped_column(String(20))  # review | approve
    decision: Mapped[str] = mapped_column(String(20))  # approve | return
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def step_label(self) -> str:
        """The step as staff say it."""
        return STEPS.get(self.step, self.step)

    @property
    def decision_label(self) -> str:
        """The decision as staff say it."""
        return DECISIONS.get(self.decision, self.decision)
