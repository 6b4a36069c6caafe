"""Integrity checks (存储安全, R4.3.3): each filed form's seal is recomputed on a rotating schedule.

Every night the least recently checked 1/N of the filed forms are checked ([archive] integrity_cycle_days = N),
so each is checked at least every N nights. A seal that no longer matches what is stored is a storage
incident, shown on /healthz and on the 存储安全 page until it is resolved.
"""
from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit import service as audit
from .models import Filing, IntegrityRun, StorageIncident
from .service import seals_of

CHUNK = 500


def check_slice(session: Session, config: dict, *, now: datetime, limit: int | None = None) -> IntegrityRun:
    """Re-check the least recently checked slice of filed forms; mismatches open incidents."""
    total = session.scalar(select(func.count(Filing.id))) or 0
    cycle = max(1, int(config["archive"]["integrity_cycle_days"]))
    size = limit if limit is not None else math.ceil(total / cycle)
    run = IntegrityRun(started_at=now, checked=0, mismatches=0, total=total)
    session.add(run)
    filings = list(session.scalars(select(Filing).order_by(Filing.checked_at, Filing.id).limit(size))) if size else []
    open_for = set(session.scalars(select(StorageIncident.filing_id).where(
        StorageIncident.kind == "integrity", StorageIncident.resolved_at.is_(None))))
    seals = {}
    for k in range(0, len(filings), CHUNK):  # bounded IN lists: a night's slice of a million forms is ~36,000
        seals.update(seals_of(session, [f.form_id for f in filings[k:k + CHUNK]]))
    for filing in filings:
        run.checked += 1
        if seals.get(filing.form_id) != filing.seal:
            run.mismatches += 1
            if filing.id not in open_for:
                session.add(StorageIncident(kind="integrity", filing_id=filing.id, opened_at=now,
                                            detail=f"{filing.archival_code} 的存储内容与归档时的固化值不符"))
        filing.checked_at = now
    run.finished_at = now
    session.flush()
    audit.record(session, actor="system", action="archive.integrity_check", object_type="integrity_run",
                 object_id=run.id, now=now, details={"checked": run.checked, "mismatches": run.mismatches})
    return run


def open_incidents(session: Session) -> list[StorageIncident]:
    """Storage incidents not resolved yet, newest first."""
    return list(session.scalars(select(StorageIncident).where(StorageIncident.resolved_at.is_(None))
                                .order_by(StorageIncident.id.desc())))


def open_incident_count(session: Session) -> int:
    """How many storage incidents are open (for /healthz)."""
    return session.scalar(select(func.count(StorageIncident.id)).where(StorageIncident.resolved_at.is_(None))) or 0


def recent_runs(session: Session, *, limit: int = 30) -> list[IntegrityRun]:
    """Integrity runs, newest first."""
    return list(session.scalars(select(IntegrityRun).order_by(IntegrityRun.id.desc()).limit(limit)))


def last_checked(session: Session) -> datetime | None:
    """The oldest check time over all filed forms: every form was checked at or after it."""
    return session.scalar(select(func.min(Filing.checked_at)))


def storage_checks(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """存储安全率's counts in [start, end): (passed, performed) over integrity runs and backup verifications.

    An integrity run passes when every seal it recomputed matched; a backup verification when restoring the
    backup gave the manifest's row counts and audit head. The whole organisation's figure (storage has no
    department)."""
    from .models import Backup

    runs = session.execute(select(func.count(IntegrityRun.id), func.count(IntegrityRun.id).filter(
        IntegrityRun.mismatches == 0)).where(IntegrityRun.started_at >= start, IntegrityRun.started_at < end)).one()
    checks = session.execute(select(func.count(Backup.id), func.count(Backup.id).filter(Backup.verified.is_(True)))
                             .where(Backup.verified.is_not(None), Backup.verified_at >= start,
                                    Backup.verified_at < end)).one()
    return runs[1] + checks[1], runs[0] + checks[0]
