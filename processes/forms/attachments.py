"""Attachments (附件): files added to a draft's attachment fields, encrypted with the form's data key.

The field's value becomes a reference ("附件#12 身份证复印件.pdf"); the bytes are sealed with AES-GCM under the
same per-form data key as the form's sensitive values, so a key rotation re-wraps nothing more and destroying
the form's key destroys its files too. Viewing one follows the reveal rule and is written to the audit chain.
"""
from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import service as audit
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..org.models import User
from . import personal
from .amendments import may_reveal
from .models import Attachment, Form

MAX_BYTES = 1_500_000  # under the request limit, with room for the form around it
_REFERENCE = re.compile(r"^附件#(\d+) ")


def add(session: Session, config: dict, *, form: Form, actor: User, field: str, filename: str, content_type: str,
        content: bytes, now: datetime) -> Attachment:
    """Attach a file to a draft's attachment field (replacing an earlier one there)."""
    if form.created_by != actor.username:
        raise Forbidden("只有填单人可以添加附件")
    if form.status != "draft":
        raise Conflict("附件须在提交前添加; 已提交的业务单请使用更正", code="already_submitted")
    spec = next((f for f in form.template_version.fields if f["code"] == field), None)
    if spec is None or spec.get("type") != "attachment":
        raise ValidationFailed({"field": "该字段不是附件字段"})
    name = os.path.basename((filename or "").replace("\\", "/")).strip()[:200]
    if not name or not content:
        raise ValidationFailed({field: "请选择要上传的文件"})
    if len(content) > MAX_BYTES:
        raise ValidationFailed({field: f"文件过大: 上限 {MAX_BYTES // 1000} KB"})
    session.flush()  # the form's id for the key binding
    ring = personal.keyring(config)
    key = personal.data_key(ring, form)
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, content, f"{form.id}:{field}:attachment".encode())
    attachment = Attachment(form_id=form.id, field_code=field, content_type=content_type[:100] or
                            "application/octet-stream", size=len(content), sealed=sealed, uploaded_by=actor.username,
                            uploaded_at=now)
    personal.seal_into(ring, form, attachment, "filename_sealed", "attachment-name", name)
    session.add(attachment)
    session.flush()
    personal.seal_values(ring, form, {**form.values, field: f"附件#{attachment.id} {name}"})
    audit.record(session, actor=actor.username, action="form.attach", object_type="form", object_id=form.id, now=now,
                 details={"number": form.number, "field": field, "attachment": attachment.id, "size": len(content)})
    return attachment


def check_references(session: Session, form: Form) -> None:
    """Before submitting: an attachment reference in a field must name a file of this form and this field."""
    problems = {}
    for spec in form.template_version.fields:
        match = _REFERENCE.match(str(form.values.get(spec["code"]) or "")) if spec.get("type") == "attachment" else None
        if match:
            found = session.get(Attachment, int(match.group(1)))
            if found is None or found.form_id != form.id or found.field_code != spec["code"]:
                problems[spec["code"]] = "附件引用无效, 请重新上传"
    if problems:
        raise ValidationFailed(problems)


def of_form(session: Session, form: Form) -> list[Attachment]:
    """A form's attachments (metadata only)."""
    return list(session.scalars(select(Attachment).where(Attachment.form_id == form.id).order_by(Attachment.id)))


def open_file(session: Session, config: dict, *, form: Form, attachment_id: int, actor: User,
              now: datetime) -> tuple[Attachment, bytes]:
    """The file in clear, for someone allowed to see the form's personal data; the viewing is audited."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.form_id != form.id:
        raise NotFound("附件不存在", code="attachment_not_found")
    if not may_reveal(session, actor, form):
        raise Forbidden("您无权查看该业务单的附件; 如需查看, 请申请查询授权")
    content = _unseal(session, config, form, attachment)
    audit.record(session, actor=actor.username, action="form.attachment_view", object_type="form", object_id=form.id,
                 now=now, details={"number": form.number, "attachment": attachment.id})
    return attachment, content


def sha256_of(session: Session, config: dict, *, form: Form, attachment: Attachment) -> str:
    """The SHA-256 of an attachment's file, to list what a package holds without showing the file."""
    return hashlib.sha256(_unseal(session, config, form, attachment)).hexdigest()


def _unseal(session: Session, config: dict, form: Form, attachment: Attachment) -> bytes:
    key = personal.data_key(personal.keyring(config), form)
    return AESGCM(key).decrypt(attachment.sealed[:12], attachment.sealed[12:],
                               f"{form.id}:{attachment.field_code}:attachment".encode())
