"""External transfers, their frozen snapshots, the one-time receipt links and the receipts (签收凭证)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import Base, UTCDateTime

STATUS = {
    "checking": "待核对",
    "awaiting_approval": "待管理层批准",
    "sent": "已发出, 待签收",
    "received": "已签收",
    "overdue": "逾期未签收",
    "returned": "已退回",
    "cancelled": "已撤销",
}


class ExternalTransfer(Base):
    """对外移交: one form (or selected fields of it) sent to an outside unit, from request to signed receipt."""

    __tablename__ = "external_transfer"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("form.id"), index=True)
    form_number: Mapped[str] = mapped_column(String(40))  # kept so the record reads the same after a destruction
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    department: Mapped[str] = mapped_column(String(100))  # the sending department (its name, as lanes use)
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipient_unit: Mapped[str] = mapped_column(String(200))
    recipient_name: Mapped[str] = mapped_column(String(100))
    recipient_contact: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    fields: Mapped[list | None] = mapped_column(JSON)  # codes sent; None: the whole form
    full_fields: Mapped[list] = mapped_column(JSON)  # sensitive codes sent in full (management approval)
    full_reason: Mapped[str | None] = mapped_column(Text)
    receipt_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    checked_by: Mapped[str | None] = mapped_column(String(100))
    approved_by: Mapped[str | None] = mapped_column(String(100))
    returned_comment: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # The snapshot's own data key, wrapped under the form's data key (key_id "form"; older ones by the master key
    # `key_id`): destroying the form (crypto-shredding) destroys the copy that was sent too.
    wrapped_key: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(16))

    @property
    def status_label(self) -> str:
        """The status as staff say it."""
        return STATUS.get(self.status, self.status)

    def status_at(self, now: datetime) -> str:
        """The status, with a sent package past its receipt deadline reported as overdue."""
        if self.status == "sent" and self.due_at is not None and self.due_at <= now:
            return "overdue"
        return self.status


class ExternalSnapshot(Base):
    """备份快照 (R4.2.3): exactly what was sent, sealed, with the SHA-256 of its canonical JSON; never changed."""

    __tablename__ = "external_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("external_transfer.id"), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_sha256: Mapped[str] = mapped_column(String(64))  # of the sealed bytes, checkable without the key
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReceiptLink(Base):
    """签收链接: a one-time link for the recipient; only hashes of the token and code are kept."""

    __tablename__ = "external_receipt_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("external_transfer.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    code_sha256: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Receipt(Base):
    """签收凭证 (R4.2.4): who at the receiving unit signed for which snapshot, when and from where; or a paper scan."""

    __tablename__ = "external_receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("external_transfer.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # link | paper
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    signer_name: Mapped[str | None] = mapped_column(String(100))
    signer_position: Mapped[str | None] = mapped_column(String(100))
    signer_unit: Mapped[str | None] = mapped_column(String(200))
    client_address: Mapped[str | None] = mapped_column(String(64))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("external_receipt_link.id"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str | None] = mapped_column(String(100))  # the sender who uploaded a paper receipt
    scan_filename: Mapped[str | None] = mapped_column(String(200))
    scan_content_type: Mapped[str | None] = mapped_column(String(100))
    scan_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    scan_sha256: Mapped[str | None] = mapped_column(String(64))
