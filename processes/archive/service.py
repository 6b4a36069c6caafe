"""Filing (归档, R4.3.1): the 待归档 queue, gap-free archival numbers (档号), the seal, and the archive list.

档号 = 全宗号-门类代码·年度-保管期限-机构代码-件号 (DA/T 22-2015), e.g. G001-YW·2026-D10-XD-0001. The item
number runs within (fonds, category, year, retention, organisation) from a counter row that filing increments
in its own transaction: a filing that rolls back takes its number back with it, so numbers have no gaps, and
filed items are never deleted, so no number is used twice. Two archivists filing at once queue on the row.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audit import service as audit
from ..documents import content_sha256
from ..errors import Conflict, NotFound, ValidationFailed
from ..forms.models import Attachment, Correction, Form, SensitiveValue
from ..inputs import is_id
from ..org.models import Department, User
from ..destruction.retention import filed_ends_on, retention_for
from . import policy
from .models import ArchiveSequence, Filing

MAX_BATCH = 500  # forms filed in one request
SEQUENCE = ArchiveSequence.__table__


def queue(session: Session, *, limit: int = 200) -> list[Form]:
    """待归档: closed forms not filed yet, oldest closed first."""
    return list(session.scalars(
        select(Form).outerjoin(Filing, Filing.form_id == Form.id)
        .where(Form.status == "closed", Filing.id.is_(None)).order_by(Form.closed_at, Form.id).limit(limit)))


def form_ids_of(body: object) -> list[int]:
    """The form ids a request names: a non-empty list of whole numbers; refused with a field message otherwise."""
    if not isinstance(body, list) or not body:
        raise ValidationFailed({"form_ids": "请选择要办理的业务单"})
    if len(body) > MAX_BATCH:
        raise ValidationFailed({"form_ids": f"一次最多 {MAX_BATCH} 份 (现有 {len(body)} 份)"})
    if not all(is_id(i) for i in body):
        raise ValidationFailed({"form_ids": "须为业务单编号 (正整数) 的列表"})
    if len(set(body)) != len(body):
        raise ValidationFailed({"form_ids": "同一业务单不能重复选择"})
    return list(body)


def file_forms(session: Session, config: dict, *, actor: User, form_ids: list, now: datetime) -> list[Filing]:
    """归档: give each closed form its 档号 (in the order they were closed) and seal it; all or none."""
    policy.ensure_archivist(actor)
    form_ids = form_ids_of(form_ids)
    forms = {f.id: f for f in session.scalars(select(Form).where(Form.id.in_(form_ids)))}
    missing = [i for i in form_ids if i not in forms]
    if missing:
        raise NotFound(f"业务单不存在: {', '.join(map(str, missing))}", code="form_not_found")
    open_ = [f.number for f in forms.values() if f.status != "closed"]
    if open_:
        raise Conflict(f"业务单尚未办结, 不能归档: {', '.join(open_)}", code="form_not_closed")
    filed = session.scalars(select(Filing.archival_code).where(Filing.form_id.in_(form_ids))).all()
    if filed:
        raise Conflict(f"业务单已归档: {', '.join(filed)}", code="already_filed")
    settings, zone = config["archive"], ZoneInfo(config["app"]["timezone"])
    departments = {d.id: d for d in session.scalars(select(Department))}
    seals = seals_of(session, form_ids)
    filings = []
    for form in sorted(forms.values(), key=lambda f: (f.closed_at, f.id)):
        key = dict(fonds=settings["fonds"], category=settings["category"], year=form.closed_at.astimezone(zone).year,
                   retention=retention_for(session, config, form.business_type),
                   org_code=org_code_of(settings, departments[form.department_id]))
        item_no = next_item_no(session, **key)
        filing = Filing(form_id=form.id, archival_code=archival_code(**key, item_no=item_no), item_no=item_no,
                        business_type=form.business_type, department_id=form.department_id,
                        title=f"{form.business_type} · {form.number}"[:300], responsible=form.created_by,
                        closed_at=form.closed_at, pages=1 + len(form.corrections), filed_by=actor.username,
                        filed_at=now, seal=seals[form.id], checked_at=now,
                        retention_ends_on=filed_ends_on(key["retention"], key["year"]), **key)
        session.add(filing)
        filings.append(filing)
    session.flush()
    for filing in filings:
        audit.record(session, actor=actor.username, action="archive.file", object_type="form", object_id=filing.form_id,
                     now=now, details={"archival_code": filing.archival_code, "sha256": filing.seal})
    return filings


def archival_code(*, fonds: str, category: str, year: int, retention: str, org_code: str, item_no: int) -> str:
    """档号 as DA/T 22-2015 writes it: G001-YW·2026-D10-XD-0001."""
    return f"{fonds}-{category}·{year}-{retention}-{org_code}-{item_no:04d}"


def retention_of(settings: dict, business_type: str) -> str:
    """保管期限 of a business type in the settings alone (the seed of the retention rules), or the default."""
    return settings.get("retention", {}).get(business_type) or settings["retention_default"]


def org_code_of(settings: dict, department: Department) -> str:
    """机构代码 of a department: configured, or its own code in capitals."""
    return settings.get("department_codes", {}).get(department.code) or department.code.upper()


def next_item_no(session: Session, **key) -> int:
    """The next item number of (fonds, category, year, retention, org_code), taken inside the caller's transaction.

    The increment and the read are one UPDATE … RETURNING: it waits for another transaction holding the row
    (PostgreSQL row lock; SQLite write transactions begin IMMEDIATE), so two filings never read the same number.
    """
    where = and_(*(SEQUENCE.c[k] == v for k, v in key.items()))
    bump = update(SEQUENCE).where(where).values(last_no=SEQUENCE.c.last_no + 1).returning(SEQUENCE.c.last_no)
    for _attempt in range(3):
        number = session.execute(bump).scalar()
        if number is not None:
            return number
        try:
            with session.begin_nested():
                session.execute(insert(SEQUENCE).values(**key, last_no=1))
            return 1
        except IntegrityError:
            continue  # another transaction created the row first: bump it
    raise Conflict("档号分配繁忙, 请重试", code="numbering_busy")


# --- the seal (固化) --------------------------------------------------------------------------------
FORM = Form.__table__


def seal_of(session: Session, form_id: int) -> str:
    """SHA-256 over what is stored of a form: its values, sensitive values (encrypted), corrections, attachment hashes.

    Read with Core statements, so it is what the database holds now, not what the session remembers.
    """
    return seals_of(session, [form_id])[form_id]


def seals_of(session: Session, form_ids: list[int]) -> dict[int, str]:
    """seal_of for several forms, in four statements whatever their number."""
    forms = session.execute(select(*(c for c in FORM.c if c.name not in _UNSEALED)).where(FORM.c.id.in_(form_ids))).all()
    parts = {f.id: {"form": _plain(_form_part(f._asdict())), "sensitive": [], "corrections": [], "attachments": []}
             for f in forms}
    for r in session.execute(select(SensitiveValue.form_id, SensitiveValue.field, SensitiveValue.seq,
                                    SensitiveValue.ciphertext).where(SensitiveValue.form_id.in_(form_ids))
                             .order_by(SensitiveValue.form_id, SensitiveValue.field, SensitiveValue.seq)):
        parts[r.form_id]["sensitive"].append([r.field, r.seq, r.ciphertext])
    for r in session.execute(select(*Correction.__table__.c).where(Correction.form_id.in_(form_ids))
                             .order_by(Correction.form_id, Correction.seq)):
        parts[r.form_id]["corrections"].append(_plain(r._asdict()))
    for a in session.execute(select(Attachment.form_id, Attachment.id, Attachment.field_code, Attachment.filename_sealed,
                                    Attachment.size, Attachment.sealed).where(Attachment.form_id.in_(form_ids))
                             .order_by(Attachment.form_id, Attachment.id)):
        parts[a.form_id]["attachments"].append([a.id, a.field_code, a.filename_sealed, a.size,
                                                hashlib.sha256(a.sealed).hexdigest()])
    return {form_id: content_sha256(content) for form_id, content in parts.items()}


# Not covered by the seal: the status changes after filing (destroyed), the search index is emptied at closing.
_UNSEALED = ("status", "search")


def _form_part(row: dict) -> dict:
    """The form row as sealed; a form stored before its values were sealed has no sealed_data (the seal of those
    forms reads as it did)."""
    if row.get("sealed_data") is None:
        row.pop("sealed_data", None)
    return row


def _plain(row: dict) -> dict:
    """Values as canonical JSON holds them the same on every database: UTC instants, bytes in base64."""
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif isinstance(value, (bytes, memoryview)):
            value = base64.b64encode(bytes(value)).decode()
        out[key] = value
    return out


# --- reading ---------------------------------------------------------------------------------------
@dataclass
class ArchiveFilter:
    """What the archive page filters on; None is "any"."""

    year: int | None = None
    business_type: str | None = None
    department_id: int | None = None
    retention: str | None = None
    volume_id: int | None = None
    code_prefix: str | None = None


def list_filings(session: Session, f: ArchiveFilter, *, before_id: int | None = None,
                 limit: int = 50) -> tuple[list[Filing], int | None]:
    """A page of filed items, newest filed first (by 档号 under a 档号 prefix), and the id to continue after (keyset
    paging: no OFFSET, so the thousandth page costs what the first does)."""
    query = select(Filing)
    for column, value in ((Filing.year, f.year), (Filing.business_type, f.business_type),
                          (Filing.department_id, f.department_id), (Filing.retention, f.retention),
                          (Filing.volume_id, f.volume_id)):
        if value is not None:
            query = query.where(column == value)
    if f.code_prefix:
        # A range on the unique index of the code (LIKE would not use it on every database), read in code order,
        # so a prefix matching a whole year never sorts that year; the page continues below the last code shown.
        query = query.where(Filing.archival_code >= f.code_prefix, Filing.archival_code < f.code_prefix + "\uffff")
        if before_id is not None:
            query = query.where(Filing.archival_code < select(Filing.archival_code).where(Filing.id == before_id)
                                .scalar_subquery())
        order = Filing.archival_code.desc()
    else:
        if before_id is not None:
            query = query.where(Filing.id < before_id)
        order = Filing.id.desc()
    rows = list(session.scalars(query.order_by(order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def filing_of_form(session: Session, form_id: int) -> Filing | None:
    """The filing of a form, if it is filed."""
    return session.scalars(select(Filing).where(Filing.form_id == form_id)).first()


def get_filing(session: Session, filing_id: int) -> Filing:
    """A filed item by id; NotFound otherwise."""
    filing = session.get(Filing, filing_id)
    if filing is None:
        raise NotFound("归档件不存在", code="filing_not_found")
    return filing


def facets(session: Session, config: dict) -> dict:
    """What the archive page's filters offer, read from small tables (never a scan of filed items or volumes)."""
    from ..forms.models import FormTemplate

    years = session.execute(select(SEQUENCE.c.year).distinct().order_by(SEQUENCE.c.year.desc())).scalars().all()
    retentions = session.execute(select(SEQUENCE.c.retention).distinct().order_by(SEQUENCE.c.retention)).scalars().all()
    types = set(config["archive"].get("retention", {})) | set(session.scalars(select(FormTemplate.business_type)))
    return {"years": list(years), "retentions": list(retentions), "business_types": sorted(types),
            "departments": list(session.scalars(select(Department).order_by(Department.id)))}


def seal_stored_values(session: Session, ring, *, now: datetime, batch: int = 500, progress=None) -> int:
    """Seal the values forms still hold in clear (personal.seal_stored), keeping their archive seals true: a filed
    form whose seal matched what was stored is sealed anew over what is stored now (and the audit chain says so);
    one whose seal did not match keeps it, and so still shows as altered. How many forms were sealed."""
    from ..forms import personal

    done, last = 0, 0
    while True:
        forms = list(session.scalars(select(Form).where(Form.sealed_data.is_(None), Form.status != "destroyed",
                                                        Form.id > last).order_by(Form.id).limit(batch)))
        if not forms:
            return done
        ids = [f.id for f in forms]
        filings = {f.form_id: f for f in session.scalars(select(Filing).where(Filing.form_id.in_(ids)))}
        before = seals_of(session, list(filings)) if filings else {}
        personal.seal_stored(session, ring, forms)
        after = seals_of(session, list(filings)) if filings else {}
        resealed = [form_id for form_id, filing in filings.items() if filing.seal == before.get(form_id)]
        for form_id in resealed:
            filings[form_id].seal = after[form_id]
        session.flush()
        if resealed:
            audit.record(session, actor="system", action="archive.reseal", object_type="form", object_id=resealed[0],
                         now=now, details={"forms": len(resealed), "reason": "存量内容加密"})
        done, last = done + len(forms), ids[-1]
        if progress is not None:
            progress(done)
