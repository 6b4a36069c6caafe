"""Demo retention: forms of 2013-2015 filed and bound (most past their ten years now, so the nightly scan has a
proposal for the archivist to try), one of them on hold for a dispute, and the key store's first backup. The forms of
2014 are 信贷部's, so a proposal has two departments to appraise it besides the archive head."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Runtime

from ..archive.demo import _bind_year
from ..archive.models import Filing
from ..archive.service import file_forms
from ..demo_history import _one_form
from ..forms import keystore
from ..forms.models import Form, FormTemplate
from ..org import service as org
from . import holds, service

OLD_YEARS = (2013, 2014, 2015)
FORMS_A_YEAR = 6
CREDIT_YEAR = 2014
HELD_AT = datetime(2026, 10, 15, 2, 0, tzinfo=timezone.utc)
SCAN_AT = datetime(2026, 11, 2, 19, 0, tzinfo=timezone.utc)  # 03:00 in Shanghai, when the scan runs


def seed_destruction(session: Session, runtime: Runtime, config: dict) -> None:
    """Old forms filed and bound at their own times, a hold, and the scan's proposal; once."""
    if session.scalar(select(Filing.id).where(Filing.year < 2020).limit(1)) is not None:
        return
    rng = random.Random(2013)
    zone = ZoneInfo(config["app"]["timezone"])
    clerk, handler = org.get_by_username(session, "clerk"), org.get_by_username(session, "handler")
    archivist = org.get_by_username(session, "archivist")
    template_id = session.scalar(select(FormTemplate.id).where(FormTemplate.code == "general"))
    for year in OLD_YEARS:
        first = len(session.scalars(select(Form.id)).all())
        for n in range(FORMS_A_YEAR):
            day = date(year, 3 + n, 10 + n)
            at = datetime.combine(day, time(9, 30), tzinfo=zone).astimezone(timezone.utc)
            _one_form(session, runtime, config, rng, clerk=clerk, handler=handler, template_id=template_id, at=at,
                      zone=zone)
        session.flush()
        made = [f for f in session.scalars(select(Form).order_by(Form.id).offset(first))
                if f.closed_at is not None and f.closed_at.year == year]
        if year == CREDIT_YEAR:  # loan files: kept by 信贷部 (their 档号 carry its code)
            for form in made:
                form.department_id = handler.department_id
        filed_at = datetime(year + 1, 1, 20, 2, 0, tzinfo=timezone.utc)
        file_forms(session, config, actor=archivist, form_ids=[f.id for f in made], now=filed_at)
        _bind_year(session, archivist, year, filed_at + timedelta(days=7))
    held = session.scalars(select(Filing).where(Filing.year == OLD_YEARS[0]).order_by(Filing.id)).first()
    holds.place(session, actor=org.get_by_username(session, "inspector"), now=HELD_AT,
                body={"form_id": held.form_id, "reason": "客户对该笔业务提起诉讼, 案件未结"})
    service.scan(session, runtime, config, now=SCAN_AT)
    keystore.backup_keys(config, now=SCAN_AT - timedelta(hours=1))
