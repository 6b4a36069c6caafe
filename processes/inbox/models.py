"""What superiors did with escalation items (督办), whatever the stage: one row per 催办 / 改派 / 接办."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engine import Base, UTCDateTime

ACTION_LABELS = {"urge": "催办", "reassign": "改派", "take_over": "接办"}


class EscalationAction(Base):
    """督办处理记录: who urged, reassigned or took over a late step, from which escalation item, when."""

    __tablename__ = "escalation_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_item_id: Mapped[str] = mapped_column(ForeignKey("work_item.id"), index=True)
    step_item_id: Mapped[str] = mapped_column(ForeignKey("work_item.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # urge | reassign | take_over
    actor: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(100))  # who the step was given to (改派 / 接办)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def label(self) -> str:
        """The action as staff say it."""
        return ACTION_LABELS.get(self.action, self.action)
