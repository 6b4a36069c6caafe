"""Inspections, findings, rectification notices, KPI snapshots, appraisals and training records."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime

from ..forms.models import Form
from ..transfer.models import Handover

STAGES = {"generation": "生成", "circulation": "流转", "storage": "存储", "query": "查询", "destruction": "销毁"}
NOTICE_STATUS = {"issued": "待整改", "responded": "待复查", "passed": "已通过复查", "overdue": "已逾期"}
RATINGS = {"commend": "表彰", "criticise": "通报批评"}
TOPICS = {"archives_law": "档案法", "pipl": "个人信息保护法", "consumer_rights": "消费者权益保护法",
          "regulation": "业务单管理办法"}

# The KPIs read forms by submission time and hops by completion time (R5.4), for the company or one department:
# these keep those reads on an index. Hops have one such index (its columns change as a hop ends): company-wide
# reads name every department, so each is a range of it.
Index("ix_form_kpi", Form.submitted_at, Form.department_id, Form.created_by)
Index("ix_form_kpi_department", Form.department_id, Form.submitted_at, Form.created_by)
Index("ix_handover_kpi", Handover.to_department, Handover.completed_at, Handover.completed_by, Handover.overdue,
      Handover.status)
# "Was this form ever returned for correction?" answered from the index alone (form_id and kind never change).
Index("ix_handover_form_kind", Handover.form_id, Handover.kind)


class InspectionPlan(Base):
    """检查计划 (R5.1): a department and stage inspected every month by the cron job, with its checklist."""

    __tablename__ = "inspection_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(20))
    checklist: Mapped[list] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Inspection(Base):
    """监督检查 (R5.1): one inspection of a department's stage, with its findings and the inspector's evaluation."""

    __tablename__ = "inspection"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    department: Mapped[str] = mapped_column(String(100), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))  # scheduled | adhoc
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_plan.id"))
    checklist: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    evaluation: Mapped[str | None] = mapped_column(Text)
    inspector: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def stage_label(self) -> str:
        """The stage as staff say it."""
        return STAGES.get(self.stage, self.stage)


class Finding(Base):
    """检查发现: an automatic finding read from the records (with links to them) or one the inspector wrote."""

    __tablename__ = "finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # overdue_handovers | corrections | returns | untrained | manual
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[list] = mapped_column(JSON)  # [{"type": "form", "id": 1, "label": "YW…"}, …]
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RectificationNotice(Base):
    """整改通知书 (R5.2): problem, requirement and deadline issued to a department head; closed by re-inspection."""

    __tablename__ = "rectification_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    department: Mapped[str] = mapped_column(String(100), index=True)
    problem: Mapped[str] = mapped_column(Text)
    requirement: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="issued")
    overdue: Mapped[bool] = mapped_column(default=False)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("finding.id"))
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))

    @property
    def status_label(self) -> str:
        """The status as staff say it."""
        return NOTICE_STATUS.get(self.status, self.status)


class RectificationStep(Base):
    """整改记录: the department's response (measures taken) or the inspector's re-inspection (复查) of one round."""

    __tablename__ = "rectification_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("rectification_notice.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(20))  # respond | pass | fail
    text: Mapped[str] = mapped_column(Text)
    new_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RectificationEvidence(Base):
    """整改佐证: a file the department attaches to its response."""

    __tablename__ = "rectification_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("rectification_notice.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KpiSnapshot(Base):
    """指标快照 (R5.4): one month's numerator and denominator of a KPI for a department or a person, frozen."""

    __tablename__ = "kpi_snapshot"
    __table_args__ = (UniqueConstraint("month", "metric", "department", "person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # 2026-11
    metric: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(100))
    person: Mapped[str] = mapped_column(String(100))  # "" for the department's own row
    numerator: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Appraisal(Base):
    """考核评价 (R5.3): HR's quarterly rating of a department or a person, with a note."""

    __tablename__ = "appraisal"
    __table_args__ = (UniqueConstraint("quarter", "subject_type", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6))  # 2026Q4
    subject_type: Mapped[str] = mapped_column(String(20))  # department | person
    subject: Mapped[str] = mapped_column(String(100))
    rating: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def rating_label(self) -> str:
        """表彰 / 通报批评."""
        return RATINGS.get(self.rating, self.rating)


class TrainingSession(Base):
    """培训 (R6.3): a session on a law or this regulation, its date and trainer."""

    __tablename__ = "training_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    trainer: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def topic_label(self) -> str:
        """The law or rule the session taught."""
        return TOPICS.get(self.topic, self.topic)


class TrainingAttendance(Base):
    """培训签到: one person attended one session."""

    __tablename__ = "training_attendance"
    __table_args__ = (UniqueConstraint("session_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id"), index=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
