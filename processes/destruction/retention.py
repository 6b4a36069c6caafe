"""Retention rules (R4.5.1): per business type, seeded from [archive] retention; when a form's retention ends; which
filed forms are past it and not held; the nightly scan that collects them into a proposal for the archivist.

Retention is counted from 1 January of the year after the form was closed (archive practice): a form closed in
2015 kept ten years (D10) is kept through 31 December 2025 and may be destroyed from 2026.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, insert, or_, select
from sqlalchemy.orm import Session

from ..archive.models import Filing
from ..audit import service as audit
from ..errors import ValidationFailed, written
from ..org.models import User
from . import policy
from .models import Destruction, DestructionItem, Hold, RetentionRule, Tombstone

MINIMUM_YEARS = 5  # never under five years
_CODE = re.compile(r"^(Y|D(\d{1,3}))$")
OPEN_BATCH = ("proposed", "in_approval", "approved")


def years_of(code: str) -> int | None:
    """Years a retention code keeps a form (None: permanent)."""
    match = _CODE.match(code or "")
    if match is None:
        raise ValueError(code)
    return None if match.group(1) == "Y" else int(match.group(2))


def ends_on(code: str, year: int) -> date | None:
    """The last day a form closed in `year` is kept (None: permanent)."""
    years = years_of(code)
    return None if years is None else date(year + years, 12, 31)


def filed_ends_on(code: str, year: int) -> date | None:
    """What a filing keeps as its retention_ends_on: the last day it is kept (None: permanent or an unknown code)."""
    return ends_on(code, year) if _CODE.match(code or "") else None


def label(code: str) -> str:
    """The retention as people say it: 永久, 10年."""
    years = years_of(code)
    return "永久" if years is None else f"{years}年"


def ensure_rules(session: Session, config: dict, now: datetime) -> None:
    """Seed the rules from [archive] retention once (a type already ruled keeps its rule)."""
    known = set(session.scalars(select(RetentionRule.business_type)))
    seed = {k: v for k, v in config["archive"].get("retention", {}).items() if k not in known}
    if seed:
        session.execute(insert(RetentionRule), [dict(business_type=k, retention=v, legal_basis="", updated_by="system",
                                                     updated_at=now) for k, v in seed.items()])
        session.flush()


def rules(session: Session, config: dict, now: datetime) -> list[RetentionRule]:
    """Every rule, by business type."""
    ensure_rules(session, config, now)
    return list(session.scalars(select(RetentionRule).order_by(RetentionRule.business_type)))


def retention_for(session: Session, config: dict, business_type: str) -> str:
    """保管期限 code of a business type: its rule, its seed in [archive] retention, or [archive] retention_default."""
    rule = session.get(RetentionRule, business_type)
    if rule is not None:
        return rule.retention
    settings = config["archive"]
    return settings.get("retention", {}).get(business_type) or settings["retention_default"]


def set_rule(session: Session, config: dict, *, actor: User, business_type: str, body: dict,
             now: datetime) -> RetentionRule:
    """Set a business type's rule; under five years is refused, and so is one under the minimum its legal basis names."""
    policy.ensure_rule_editor(actor)
    business_type = (business_type or "").strip()
    problems = {}
    if not business_type or len(business_type) > 100:
        problems["business_type"] = "业务类型不能为空, 最多 100 个字"
    code = str(body.get("retention") or "").strip().upper()
    basis = written(body, "legal_basis")
    minimum = body.get("minimum_years", MINIMUM_YEARS)
    if not isinstance(minimum, int) or isinstance(minimum, bool) or not MINIMUM_YEARS <= minimum <= 200:
        problems["minimum_years"] = f"最低保管年限须为 {MINIMUM_YEARS} 至 200 之间的整数"
    elif minimum > MINIMUM_YEARS and not basis:
        problems["legal_basis"] = "规定更长的最低保管年限时须写明法律依据"
    if not _CODE.match(code):
        problems["retention"] = "保管期限须为 Y (永久) 或 D 加年数, 例如 D30、D10、D5"
    elif not problems:
        years = years_of(code)
        if years is not None and years < MINIMUM_YEARS:
            problems["retention"] = f"保管期限不得少于 {MINIMUM_YEARS} 年"
        elif years is not None and years < minimum:
            problems["retention"] = f"保管期限不得少于法律依据规定的 {minimum} 年 ({basis})"
    if problems:
        raise ValidationFailed(problems)
    ensure_rules(session, config, now)
    rule = session.get(RetentionRule, business_type)
    before = rule.retention if rule else None
    if rule is None:
        rule = RetentionRule(business_type=business_type)
        session.add(rule)
    rule.retention, rule.legal_basis, rule.updated_by, rule.updated_at = code, basis, actor.username, now
    session.flush()
    audit.record(session, actor=actor.username, action="retention.rule", object_type="retention_rule",
                 object_id=business_type, now=now, details={"retention": code, "before": before,
                                                            "legal_basis": basis or None})
    return rule


def today(config: dict, now: datetime) -> date:
    """The local date at `now`."""
    return now.astimezone(ZoneInfo(config["app"]["timezone"])).date()


def held_form_ids(session: Session, form_ids: list[int] | None = None) -> dict[int, Hold]:
    """Forms under a live hold (on the form or on its volume), with the hold."""
    query = (select(Filing.form_id, Hold).join(Hold, or_(Hold.form_id == Filing.form_id,
                                                         and_(Filing.volume_id.is_not(None),
                                                              Hold.volume_id == Filing.volume_id)))
             .where(Hold.released_at.is_(None)))
    if form_ids is not None:
        query = query.where(Filing.form_id.in_(form_ids))
    return {form_id: hold for form_id, hold in session.execute(query)}


def due_query(session: Session, on: date):
    """Filed forms past retention on `on`, not held, not destroyed, and in no open batch."""
    held_form = select(Hold.id).where(Hold.form_id == Filing.form_id, Hold.released_at.is_(None))
    held_volume = select(Hold.id).where(Hold.volume_id == Filing.volume_id, Hold.released_at.is_(None))
    batched = (select(DestructionItem.id).join(Destruction, Destruction.id == DestructionItem.destruction_id)
               .where(DestructionItem.form_id == Filing.form_id, Destruction.status.in_(OPEN_BATCH)))
    gone = select(Tombstone.form_id).where(Tombstone.form_id == Filing.form_id)
    # One range of ix_archive_filing_retention_ends_on, in its order (oldest ended first): a limit stops the scan early,
    # with no sort of all the forms past retention; the NOT EXISTS are index probes per candidate.
    return (select(Filing).where(Filing.retention_ends_on < on, ~exists(held_form), ~exists(held_volume),
                                 ~exists(batched), ~exists(gone))
            .order_by(Filing.retention_ends_on, Filing.id))


def due(session: Session, config: dict, *, now: datetime, limit: int = 500) -> list[Filing]:
    """Forms past retention and not held, the longest ended first."""
    return list(session.scalars(due_query(session, today(config, now)).limit(limit)))


def is_past_retention(filing: Filing, on: date) -> bool:
    """Whether this filed form's retention ended before `on`."""
    end = ends_on(filing.retention, filing.year)
    return end is not None and end < on


def of_form(session: Session, config: dict, form_id: int, business_type: str, filing: Filing | None) -> dict:
    """What a form page shows: its retention (the filing's, or its type's rule before filing), when it ends, and a
    live hold."""
    code = filing.retention if filing else retention_for(session, config, business_type)
    hold = held_form_ids(session, [form_id]).get(form_id) if filing else None
    return {"code": code, "label": label(code) if _CODE.match(code) else code,
            "ends_on": ends_on(code, filing.year) if filing and _CODE.match(code) else None, "hold": hold}
