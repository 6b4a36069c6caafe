"""Query applications, their approvals, the grants they give, every view under a grant, and external requests."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime

KINDS = {"internal": "内部查询", "external": "外部查询"}
STATUSES = {"pending": "审批中", "approved": "已批准", "returned": "已退回", "expired": "已到期", "revoked": "已撤销"}
STEPS = {"head_review": "部门负责人审批", "management_approval": "公司管理层特别审批",
         "superior_report": "上级审阅", "compliance_review": "风险合规部审查", "external_approval": "公司管理层批准"}
DECISIONS = {"approve": "同意", "return": "退回"}
AUTHORITIES = {"court": "人民法院", "procuratorate": "人民检察院", "police": "公安机关", "regulator": "监管机构",
               "auditor": "审计机关"}


class QueryRequest(Base):
    """业务单查询申请: who asks to see which forms, which fields, why, for how long; or an external authority's request."""

    __tablename__ = "query_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # internal | external
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending | approved | returned | revoked
    applicant: Mapped[str] = mapped_column(String(100), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    form_ids: Mapped[list] = mapped_column(JSON)
    fields: Mapped[list] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    days: Mapped[int | None] = mapped_column(Integer)
    copy: Mapped[bool] = mapped_column(Boolean, default=False)
    special: Mapped[bool] = mapped_column(Boolean, default=False)  # needs management's special approval (R4.4.2)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    # External requests (R4.4.3)
    authority: Mapped[str | None] = mapped_column(String(200))
    legal_basis: Mapped[str | None] = mapped_column(Text)
    document_number: Mapped[str | None] = mapped_column(String(100))
    due_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The request's data key (officials' ID numbers), wrapped by the master key as a form's is.
    wrapped_key: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(16))

    @property
    def kind_label(self) -> str:
        """The kind as staff say it."""
        return KINDS.get(self.kind, self.kind)


class QueryDecision(Base):
    """审批意见: one decision (approve / return, with comment) on one step of a query's approval."""

    __tablename__ = "query_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("query_request.id"), index=True)
    step: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text)
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


class AccessGrant(Base):
    """查询授权: read-only access of one person to some fields of some forms, from–until, copy allowed or not."""

    __tablename__ = "access_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("query_request.id"), unique=True)
    grantee: Mapped[str] = mapped_column(String(100))
    form_ids: Mapped[list] = mapped_column(JSON)
    fields: Mapped[list] = mapped_column(JSON)
    copy: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class GrantedForm(Base):
    """One form a grant opens, with the grantee and expiry copied so the read path checks it in one indexed query."""

    __tablename__ = "granted_form"
    __table_args__ = (Index("ix_granted_form_lookup", "grantee", "form_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("access_grant.id"), index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("form.id"))
    grantee: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # set to the revocation time when revoked


class AccessLog(Base):
    """查询记录: one view of a form under a grant (which fields were shown in full, when, how)."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("access_grant.id"), index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("form.id"))
    viewer: Mapped[str] = mapped_column(String(100))
    fields: Mapped[list] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(20))  # page | api | pdf
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QueryOfficial(Base):
    """An official of the requesting authority: name, and ID document number encrypted under the request's key."""

    __tablename__ = "query_official"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("query_request.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    id_number_masked: Mapped[str] = mapped_column(String(60))
    id_number_sealed: Mapped[str] = mapped_column(Text)


class DisclosureHandover(Base):
    """披露交付: the disclosure package of an external query handed to the authority, with the package's hash."""

    __tablename__ = "disclosure_handover"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("query_request.id"), index=True)
    package_sha256: Mapped[str] = mapped_column(String(64))
    received_by: Mapped[str] = mapped_column(String(100))
    handed_by: Mapped[str] = mapped_column(String(100))
    handed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class QueryScan(Base):
    """来文扫描件: a scan of the authority's documents (notice, warrant, ID cards), sealed with the request's data key."""

    __tablename__ = "query_scan"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("query_request.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
