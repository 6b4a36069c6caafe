"""The form table's writes on every lifecycle's path (closing one also empties its search index), with prepared statements rather than unit-of-work flushes,
which cost several times as much (see engine/rows.py); and the read of a template's active version."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.prepared import Prepared

from .models import Form, FormTemplate, TemplateVersion

FORMS, VERSIONS, TEMPLATES = Form.__table__, TemplateVersion.__table__, FormTemplate.__table__
FORM_COLUMNS = [c.name for c in FORMS.c if c.name != "id"]
_INSERT_FORM = Prepared(FORMS.insert().returning(FORMS.c.id))
_UPDATE_FORM = Prepared(FORMS.update().where(FORMS.c.id == bindparam("b_id")))
_ACTIVE_VERSION = Prepared(
    select(VERSIONS.c.id, VERSIONS.c.version, VERSIONS.c.fields, VERSIONS.c.created_at, TEMPLATES.c.code,
           TEMPLATES.c.name, TEMPLATES.c.business_type)
    .join(TEMPLATES, TEMPLATES.c.id == VERSIONS.c.template_id)
    .where(VERSIONS.c.template_id == bindparam("b_template"), VERSIONS.c.status == "active").limit(1))


def active_version(session: Session, template_id: int) -> tuple | None:
    """(id, version, fields, created_at, template code, name, business_type) of a template's active version."""
    return _ACTIVE_VERSION.first(session, {"b_template": template_id})


def insert_form(session: Session, values: dict) -> int:
    """Insert a form row (every column but id); its id."""
    ((form_id,),) = _INSERT_FORM.execute(session, values).fetchall()
    return form_id


def update_form(session: Session, form_id: int, changed: dict) -> None:
    """Write changed columns of one form."""
    _UPDATE_FORM.execute(session, {"b_id": form_id, **changed})


def close_form(session: Session, form_id: int, now: datetime) -> None:
    """The form's process ended: the form is closed (办结)."""
    _UPDATE_FORM.execute(session, {"b_id": form_id, "status": "closed", "closed_at": now, "search": None})
    held = session.identity_map.get(session.identity_key(Form, form_id))
    if held is not None:  # a copy this transaction already loaded must not contradict the row
        set_committed_value(held, "status", "closed")
        set_committed_value(held, "closed_at", now)
        set_committed_value(held, "search", None)
