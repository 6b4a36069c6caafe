"""Filling and submitting forms."""
from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.runtime import Runtime

from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..org.models import User
from .models import Form, FormTemplate, TemplateVersion
from .schemas import GENERAL_TEMPLATE_FIELDS, schema_for


def active_templates(session: Session) -> list[TemplateVersion]:
    """Every template's active version, by name."""
    return list(session.scalars(
        select(TemplateVersion).join(FormTemplate).where(TemplateVersion.status == "active").order_by(FormTemplate.name)
    ).all())


def active_version(session: Session, template_id: int) -> TemplateVersion:
    """The active version of a template; NotFound when there is none."""
    version = session.scalars(
        select(TemplateVersion).where(TemplateVersion.template_id == template_id, TemplateVersion.status == "active")
    ).first()
    if version is None:
        raise NotFound("模板不存在或未启用", code="template_not_found")
    return version


def ensure_general_template(session: Session, *, now: datetime, department_id: int | None = None) -> TemplateVersion:
    """The built-in general template (通用业务单), created active on first use."""
    template = session.scalars(select(FormTemplate).where(FormTemplate.code == "general")).first()
    if template is None:
        template = FormTemplate(code="general", name="通用业务单", business_type="通用", department_id=department_id,
                                created_at=now)
        session.add(template)
        session.flush()
        session.add(TemplateVersion(template_id=template.id, version=1, status="active", fields=GENERAL_TEMPLATE_FIELDS,
                                    created_by="system", created_at=now, activated_at=now))
        session.flush()
    return active_version(session, template.id)


def validate_data(version: TemplateVersion, data: dict) -> dict:
    """The data cleaned by the version's schema; ValidationFailed names each field at fault."""
    try:
        cleaned = schema_for(version.fields).load(data)
    except ValidationError as exc:
        messages = {code: (" ".join(m) if isinstance(m, list) else str(m)) for code, m in exc.messages.items()}
        messages = {code: ("不是本模板的字段" if msg == "Unknown field." else msg) for code, msg in messages.items()}
        raise ValidationFailed(messages) from None
    return {k: (str(v) if not isinstance(v, (str, int, float, bool)) and v is not None else v) for k, v in cleaned.items()}


def create_form(session: Session, runtime: Runtime, config: dict, *, actor: User, template_id: int, data: dict,
                submit: bool, now: datetime) -> Form:
    """Fill a form on the template's active version; with submit, hand it to the internal transfer."""
    version = active_version(session, template_id)
    cleaned = validate_data(version, data) if submit else _draft_data(version, data)
    business_type = str(cleaned.get("business_type") or version.template.business_type)
    form = Form(number=f"tmp-{uuid.uuid4().hex}", template_version_id=version.id, business_type=business_type[:100],
                status="draft", data=cleaned, created_by=actor.username, department_id=actor.department_id,
                created_at=now)
    session.add(form)
    session.flush()
    local = now.astimezone(ZoneInfo(config["app"]["timezone"]))
    form.number = f"YW{local:%Y%m%d}{form.id:06d}"
    if submit:
        submit_form(session, runtime, config, form=form, actor=actor, now=now)
    return form


def _draft_data(version: TemplateVersion, data: dict) -> dict:
    known = {f["code"] for f in version.fields}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationFailed({code: "不是本模板的字段" for code in unknown})
    return {k: v for k, v in data.items() if isinstance(v, (str, int, float)) and len(str(v)) <= 5000}


def submit_form(session: Session, runtime: Runtime, config: dict, *, form: Form, actor: User, now: datetime) -> Form:
    """Submit a draft: validate it fully and start its internal transfer."""
    from ..transfer.service import start_transfer

    if form.created_by != actor.username:
        raise Forbidden("只有填单人可以提交该业务单")
    if form.status != "draft":
        raise Conflict("该业务单已提交", code="already_submitted")
    form.data = validate_data(form.template_version, form.data)
    form.status, form.submitted_at = "in_transfer", now
    start_transfer(session, runtime, config, form=form, actor=actor, now=now)
    return form


def get_form(session: Session, form_id: int) -> Form:
    """A form by id; NotFound otherwise."""
    form = session.get(Form, form_id)
    if form is None:
        raise NotFound("业务单不存在", code="form_not_found")
    return form


def list_forms(session: Session, *, actor: User, limit: int = 50) -> list[Form]:
    """Recent forms of the actor's department, newest first."""
    return list(session.scalars(
        select(Form).where(Form.department_id == actor.department_id).order_by(Form.id.desc()).limit(limit)
    ).all())
