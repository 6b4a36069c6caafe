"""Archive records (R4.3): filed items with their 档号 and seal, volumes, paper custody, backups and integrity runs."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine import Base, UTCDateTime

RETENTION_LABELS = {"Y": "永久", "D30": "30年", "D10": "10年", "D5": "5年"}


class ArchiveSequence(Base):
    """件号计数: the last item number used within one (fonds, category, year, retention, organisation)."""

    __tablename__ = "archive_sequence"

    fonds: Mapped[str] = mapped_column(String(20), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    retention: Mapped[str] = mapped_column(String(10), primary_key=True)
    org_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_no: Mapped[int] = mapped_column(Integer)


class Volume(Base):
    """案卷 (装订成册): items of one business type and year in time order; closed (装订) takes no more items."""

    __tablename__ = "archive_volume"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    business_type: Mapped[str] = mapped_column(String(100))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    room: Mapped[str | None] = mapped_column(String(100))
    cabinet: Mapped[str | None] = mapped_column(String(50))
    shelf: Mapped[str | None] = mapped_column(String(50))
    box: Mapped[str | None] = mapped_column(String(50))

    @property
    def location(self) -> str:
        """Where the paper volume stands: room / cabinet / shelf / box."""
        if not self.room:
            return ""
        return f"{self.room} · {self.cabinet}柜 · {self.shelf}层 · {self.box}盒"


class Filing(Base):
    """归档件: one filed form with its archival number (档号) and its seal (SHA-256 of what is stored)."""

    __tablename__ = "archive_filing"
    __table_args__ = (
        UniqueConstraint("fonds", "category", "year", "retention", "org_code", "item_no"),
        # The archive page pages by id (keyset) under any filter; each index serves one filter plus the order.
        Index("ix_archive_filing_year_id", "year", "id"),
        Index("ix_archive_filing_business_type_id", "business_type", "id"),
        Index("ix_archive_filing_department_id_id", "department_id", "id"),
        Index("ix_archive_filing_retention_id", "retention", "id"),
        Index("ix_archive_filing_volume_id_id", "volume_id", "id"),
        Index("ix_archive_filing_checked_at", "checked_at", "id"),
        # The nightly retention scan: forms whose retention ended, oldest first, read off the index (R4.5.1).
        Index("ix_archive_filing_retention_ends_on", "retention_ends_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("form.id"), unique=True)
    archival_code: Mapped[str] = mapped_column(String(80), unique=True)
    fonds: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    retention: Mapped[str] = mapped_column(String(10))
    org_code: Mapped[str] = mapped_column(String(20))
    item_no: Mapped[int] = mapped_column(Integer)
    business_type: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    title: Mapped[str] = mapped_column(String(300))
    responsible: Mapped[str] = mapped_column(String(100))  # 责任者: who filled the form
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pages: Mapped[int] = mapped_column(Integer, default=1)
    filed_by: Mapped[str] = mapped_column(String(100))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    volume_id: Mapped[int | None] = mapped_column(ForeignKey("archive_volume.id"))
    volume_seq: Mapped[int | None] = mapped_column(Integer)  # 卷内序号
    seal: Mapped[str] = mapped_column(String(64))
    # The last day it is kept (31 December of year + the retention's years); None: permanent. Fixed at filing, as the
    # retention and year in its 档号 are.
    retention_ends_on: Mapped[date | None] = mapped_column(Date)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def retention_label(self) -> str:
        """The retention period as people say it."""
        return RETENTION_LABELS.get(self.retention, self.retention)


class VolumeMove(Base):
    """案卷位置变动: a volume moved from one place to another, by whom, when."""

    __tablename__ = "archive_volume_move"

    id: Mapped[int] = mapped_column(primary_key=True)
    volume_id: Mapped[int] = mapped_column(ForeignKey("archive_volume.id"), index=True)
    from_location: Mapped[str] = mapped_column(String(300))
    to_location: Mapped[str] = mapped_column(String(300))
    moved_by: Mapped[str] = mapped_column(String(100))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArchiveRoom(Base):
    """档案室: a room (or cabinet group) kept by one named keeper (R4.3.2)."""

    __tablename__ = "archive_room"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    keeper: Mapped[str] = mapped_column(String(100))


class RoomVisit(Base):
    """档案室出入登记: who entered, when, why, accompanied by whom, and when they left."""

    __tablename__ = "archive_room_visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("archive_room.id"), index=True)
    visitor: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(Text)
    accompanied_by: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(100))


class Loan(Base):
    """借阅: a paper volume lent to a person until a return date; the return records who received it."""

    __tablename__ = "archive_loan"

    id: Mapped[int] = mapped_column(primary_key=True)
    volume_id: Mapped[int] = mapped_column(ForeignKey("archive_volume.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # awaiting_approval | lent | returned
    borrower: Mapped[str] = mapped_column(String(100))
    due_date: Mapped[date] = mapped_column(Date)
    lent_by: Mapped[str] = mapped_column(String(100))
    lent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_by: Mapped[str | None] = mapped_column(String(100))
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))


class Backup(Base):
    """备份: one backup file with its manifest; verified by restoring it into a scratch database."""

    __tablename__ = "archive_backup"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    manifest: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    verified: Mapped[bool | None] = mapped_column(Boolean)  # None: not verified yet
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verify_detail: Mapped[str] = mapped_column(Text, default="")
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IntegrityRun(Base):
    """完整性校验: one run over a slice of filed forms, recomputing each seal."""

    __tablename__ = "archive_integrity_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked: Mapped[int] = mapped_column(Integer, default=0)
    mismatches: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)


class StorageIncident(Base):
    """存储安全事件: a filed form whose seal no longer matches, or a backup that failed its verification."""

    __tablename__ = "archive_incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # integrity | backup
    filing_id: Mapped[int | None] = mapped_column(ForeignKey("archive_filing.id"))
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("archive_backup.id"))
    detail: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
