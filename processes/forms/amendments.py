"""Corrections (更正) and revealing sensitive values: both only for the people R4.1.3-R4.1.4 name, both audited.

A submitted form is never edited in place: a correction is appended with its stamp (who, when, number)
and the corrector's signature, a re-entry of their password sealed as an HMAC of the amendment.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import WorkItem

from ..audit import service as audit
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed, written
from ..org.models import User
from . import personal
from .models import Correction, Form, SensitiveValue
from .schemas import schema_for
from .validators import mask

REVEAL_ROLES = {"manager"}


def holds(session: Session, actor: User, form: Form) -> bool:
    """Whether the actor currently holds the form: an open item of it was claimed by (or given to) them."""
    if not form.process_instance_id:
        return False
    return bool(session.scalar(select(WorkItem.id).where(
        WorkItem.instance_id == form.process_instance_id, WorkItem.status == "open", WorkItem.kind == "task",
        WorkItem.assignee == actor.username).limit(1)))


def may_reveal(session: Session, actor: User, form: Form) -> bool:
    """The clerk who filled the form, the handler holding it now, and management."""
    return actor.role in REVEAL_ROLES or form.created_by == actor.username or holds(session, actor, form)


REASON_LIMIT = 500  # characters of the reason for a correction or for seeing a sensitive value


def _reason(text, what: str) -> str:
    """The reason given, refused (not cut) unless it is text of 2 to REASON_LIMIT characters."""
    reason = written({"reason": text}, "reason", REASON_LIMIT)
    if len(reason) < 2:
        raise ValidationFailed({"reason": f"请说明{what}原因 (2 至 {REASON_LIMIT} 字)"})
    return reason


def reveal(session: Session, config: dict, *, form: Form, actor: User, field: str, reason: str, now: datetime,
           seq: int | None = None) -> dict:
    """A sensitive value in clear, for someone allowed, with the reason in the audit chain (查看敏感信息)."""
    if field not in form.sensitive_fields:
        raise ValidationFailed({"field": "该字段不是敏感信息, 无需申请查看"})
    if not may_reveal(session, actor, form):
        raise Forbidden("您无权查看该业务单的敏感信息; 如需查看, 请申请查询授权")
    reason = _reason(reason, "查看")
    value = personal.load(session, personal.keyring(config), form, field, seq)
    if value is None:
        raise NotFound("该字段未填写或没有该次更正", code="value_not_found")
    audit.record(session, actor=actor.username, action="form.reveal", object_type="form", object_id=form.id, now=now,
                 details={"number": form.number, "field": field, "seq": seq, "reason": reason})
    return {"field": field, "value": value, "seq": seq}


def correct(session: Session, config: dict, *, form: Form, actor: User, field: str, new_value, reason: str,
            password: str, ph: PasswordHasher, now: datetime) -> Correction:
    """Append a correction to a submitted form, signed by the corrector's password."""
    if form.status == "draft":
        raise Conflict("草稿可直接修改, 无需更正", code="still_a_draft")
    if form.status == "closed":
        raise Conflict("业务单已办结, 不能再更正", code="form_closed")
    if not (form.created_by == actor.username or holds(session, actor, form)):
        raise Forbidden("只有填单人或当前经办人可以更正该业务单")
    reason = _reason(reason, "更正")
    spec = next((f for f in form.template_version.fields if f["code"] == field), None)
    if spec is None:
        raise ValidationFailed({"field": "不是本模板的字段"})
    try:
        ph.verify(actor.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        raise ValidationFailed({"password": "密码不正确, 签名未通过"}, message="签名未通过, 请重新输入您的登录密码") from None
    try:
        today = now.astimezone(ZoneInfo(config["app"]["timezone"])).date()
        cleaned = schema_for([spec], today).load({field: new_value}).get(field)
    except ValidationError as exc:
        raise ValidationFailed({"new_value": " ".join(exc.messages.get(field, ["格式不正确"]))}) from None
    cleaned = "" if cleaned is None else str(cleaned)
    sensitive = field in form.sensitive_fields
    old_shown = form.current_data.get(field)
    new_shown = mask(spec.get("type", "text"), cleaned) if sensitive else cleaned
    if sensitive:
        unchanged = personal.load(session, personal.keyring(config), form, field) == cleaned
    else:
        unchanged = str(old_shown if old_shown is not None else "") == cleaned
    if unchanged:
        raise ValidationFailed({"new_value": "新值与现值相同, 无需更正"})
    seq = len(form.corrections) + 1
    if sensitive:
        personal.store(session, personal.keyring(config), form, field, cleaned, seq=seq)
        session.flush()
    ring = personal.keyring(config)
    correction = Correction(form_id=form.id, seq=seq, field=field, corrected_by=actor.username, corrected_at=now,
                            signature="")
    personal.seal_into(ring, form, correction, "old_sealed", "correction-old",
                       None if old_shown is None else str(old_shown))
    personal.seal_into(ring, form, correction, "new_sealed", "correction-new", new_shown)
    personal.seal_into(ring, form, correction, "reason_sealed", "correction-reason", reason)
    correction.signature = sign(session, config, form, correction)
    session.add(correction)
    session.flush()
    session.expire(form, ["corrections"])
    audit.record(session, actor=actor.username, action="form.correct", object_type="form", object_id=form.id, now=now,
                 details={"number": form.number, "field": field, "seq": seq})
    return correction


def sign(session: Session, config: dict, form: Form, correction: Correction) -> str:
    """The HMAC of an amendment (its values, sealed value, reason, stamp) under a key derived from the form's data key.

    The data key survives master-key rotation (only its wrapping changes) and dies with the form (crypto-shredding).
    """
    sealed = session.scalar(select(SensitiveValue.ciphertext).where(
        SensitiveValue.form_id == form.id, SensitiveValue.field == correction.field, SensitiveValue.seq == correction.seq))
    body = json.dumps({"form": form.number, "seq": correction.seq, "field": correction.field,
                       "old": correction.old_value, "new": correction.new_value, "reason": correction.reason,
                       "by": correction.corrected_by, "at": correction.corrected_at.isoformat(timespec="seconds"),
                       "sealed": hashlib.sha256((sealed or "").encode()).hexdigest()},
                      sort_keys=True, ensure_ascii=False)
    data_key = personal.data_key(personal.keyring(config), form)
    key = hmac.new(data_key, b"guichet-correction-signature", hashlib.sha256).digest()
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def corrections_of(session: Session, config: dict, form: Form) -> list[dict]:
    """A form's corrections as diffs with their stamps, each with its signature checked."""
    labels = {f["code"]: f["label"] for f in form.template_version.fields}
    rows = session.scalars(select(Correction).where(Correction.form_id == form.id).order_by(Correction.seq)).all()
    return [{"seq": c.seq, "field": c.field, "label": labels.get(c.field, c.field), "old_value": c.old_value,
             "new_value": c.new_value, "reason": c.reason, "corrected_by": c.corrected_by, "corrected_at": c.corrected_at,
             "stamp": c.stamp, "signature": c.signature,
             "signature_valid": hmac.compare_digest(c.signature, sign(session, config, form, c))} for c in rows]
