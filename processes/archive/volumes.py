"""Volumes (装订成册, R4.3.1): filed items of one business type and year, in time order, under a title."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import documents
from ..audit import service as audit
from ..errors import Conflict, NotFound, ValidationFailed, written
from ..org import service as org
from ..org.models import User
from . import policy
from .models import Filing, Volume
from .service import form_ids_of

TITLE_LIMIT = 200


def create_volume(session: Session, *, actor: User, title, business_type, year, now: datetime) -> Volume:
    """立卷: an open volume for the items of one business type and year."""
    policy.ensure_archivist(actor)
    problems = {}
    title = _text(problems, "title", title, TITLE_LIMIT, "请填写案卷题名")
    business_type = _text(problems, "business_type", business_type, 100, "请填写业务类型")
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2100:
        problems["year"] = "年度须为四位数年份"
    if problems:
        raise ValidationFailed(problems)
    volume = Volume(title=title, business_type=business_type, year=year, status="open", created_by=actor.username,
                    created_at=now)
    session.add(volume)
    session.flush()
    audit.record(session, actor=actor.username, action="archive.volume_create", object_type="volume",
                 object_id=volume.id, now=now, details={"title": title, "business_type": business_type, "year": year})
    return volume


def _text(problems: dict, key: str, value, limit: int, missing: str) -> str:
    """Text a person typed, or a message for `key` in `problems`."""
    try:
        text = written({key: value}, key, limit)
    except ValidationFailed as exc:
        problems.update(exc.details["fields"])
        return ""
    if not text:
        problems[key] = missing
    return text


def get_volume(session: Session, volume_id: int) -> Volume:
    """A volume by id; NotFound otherwise."""
    volume = session.get(Volume, volume_id)
    if volume is None:
        raise NotFound("案卷不存在", code="volume_not_found")
    return volume


def list_volumes(session: Session, *, limit: int = 200) -> list[Volume]:
    """Volumes, newest first."""
    return list(session.scalars(select(Volume).order_by(Volume.id.desc()).limit(limit)))


def add_items(session: Session, *, actor: User, volume: Volume, form_ids: list, now: datetime) -> list[Filing]:
    """组卷: put filed forms into an open volume; they are numbered in the order they were closed."""
    policy.ensure_archivist(actor)
    form_ids = form_ids_of(form_ids)
    if volume.status != "open":
        raise Conflict("案卷已装订, 不能再加入归档件", code="volume_closed")
    filings = {f.form_id: f for f in session.scalars(select(Filing).where(Filing.form_id.in_(form_ids)))}
    unfiled = [i for i in form_ids if i not in filings]
    if unfiled:
        raise Conflict(f"业务单尚未归档, 请先归档: {', '.join(map(str, unfiled))}", code="not_filed")
    elsewhere = [f.archival_code for f in filings.values() if f.volume_id not in (None, volume.id)]
    if elsewhere:
        raise Conflict(f"已在其他案卷中: {', '.join(elsewhere)}", code="in_another_volume")
    wrong = {}
    for filing in filings.values():
        if filing.year != volume.year:
            wrong[filing.archival_code] = f"年度为 {filing.year}, 本卷为 {volume.year} 年度"
        elif filing.business_type != volume.business_type:
            wrong[filing.archival_code] = f"业务类型为“{filing.business_type}”, 本卷为“{volume.business_type}”"
    if wrong:
        raise ValidationFailed({"form_ids": "; ".join(f"{code}: {why}" for code, why in wrong.items())},
                               message="所选业务单与本卷的年度或业务类型不符, 不能组入本卷")
    for filing in filings.values():
        filing.volume_id = volume.id
    session.flush()
    _renumber(session, volume)
    audit.record(session, actor=actor.username, action="archive.volume_add", object_type="volume", object_id=volume.id,
                 now=now, details={"archival_codes": sorted(f.archival_code for f in filings.values())})
    return items_of(session, volume)


def _renumber(session: Session, volume: Volume) -> None:
    """卷内序号 in time order (the order the forms were closed), kept while the volume is open."""
    for seq, filing in enumerate(items_of(session, volume, ordered_by_time=True), 1):
        filing.volume_seq = seq
    session.flush()


def items_of(session: Session, volume: Volume, *, ordered_by_time: bool = False) -> list[Filing]:
    """The volume's items in their order."""
    order = (Filing.closed_at, Filing.id) if ordered_by_time else (Filing.volume_seq, Filing.id)
    return list(session.scalars(select(Filing).where(Filing.volume_id == volume.id).order_by(*order)))


def page_count(session: Session, volume: Volume) -> int:
    """Pages of the volume's items together."""
    return session.scalar(select(func.coalesce(func.sum(Filing.pages), 0)).where(Filing.volume_id == volume.id))


def close_volume(session: Session, *, actor: User, volume: Volume, now: datetime) -> Volume:
    """装订: the volume takes no more items."""
    policy.ensure_archivist(actor)
    if volume.status != "open":
        raise Conflict("案卷已装订", code="volume_closed")
    if not items_of(session, volume):
        raise Conflict("空案卷不能装订, 请先加入归档件", code="volume_empty")
    volume.status, volume.closed_by, volume.closed_at = "closed", actor.username, now
    session.flush()
    audit.record(session, actor=actor.username, action="archive.volume_close", object_type="volume",
                 object_id=volume.id, now=now, details={"items": len(items_of(session, volume)),
                                                        "pages": page_count(session, volume)})
    return volume


def catalogue_context(session: Session, volume: Volume, *, now: datetime, issuer: str = "") -> dict:
    """What the 卷内目录 shows: one row per item (件号, 档号, 责任者, 题名, 日期, 页数), and its content hash."""
    rows = [{"seq": f.volume_seq, "code": f.archival_code, "responsible": org.display_name(session, f.responsible),
             "title": f.title, "date": f.closed_at, "pages": f.pages} for f in items_of(session, volume)]
    content = {"volume": volume.id, "title": volume.title, "rows": [{**r, "date": r["date"].isoformat()} for r in rows]}
    return dict(title="卷内目录", subtitle=volume.title, number=f"卷 {volume.id}", issuer=issuer, volume=volume,
                rows=rows, total_pages=sum(r["pages"] for r in rows), generated_at=now,
                content_sha256=documents.content_sha256(content))


def catalogue_pdf(session: Session, volume: Volume, *, now: datetime, issuer: str = "") -> bytes:
    """卷内目录 as a PDF."""
    return documents.render_pdf("archive_catalogue.html", **catalogue_context(session, volume, now=now, issuer=issuer))
