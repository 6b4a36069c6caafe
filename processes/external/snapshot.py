"""备份快照 (R4.2.3): freeze exactly what an external transfer sends, sealed under a key of its own, with its hash.

The snapshot is the canonical JSON of what was sent (values as sent, the corrections of those fields, the list of
attachments with their hashes); its SHA-256 is what the package, the receipt and the verification page name.
It is sealed with AES-GCM under the transfer's own data key, which is wrapped under the form's data key: a later
correction changes nothing in it, and destroying the form (its key) destroys it too, in every backup: it is a copy
of the form. The transfer's record (recipient, times, hashes, receipt) stays.
The audit chain records both hashes when it is taken, so `guichet audit verify` reports an altered row.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.models import AuditEvent
from ..forms import attachments, personal
from ..forms.models import Form
from ..forms.schemas import is_sensitive
from .models import ExternalSnapshot, ExternalTransfer

SNAPSHOT_ACTION = "external_transfer.snapshot"


def canonical(content: dict) -> bytes:
    """The bytes a snapshot's SHA-256 is taken over (the same canonical JSON as documents.content_sha256)."""
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def content_of(session: Session, config: dict, transfer: ExternalTransfer, form: Form, now: datetime) -> dict:
    """What the transfer sends, as of `now`: selected values (sensitive ones masked unless sent in full)."""
    specs = [f for f in form.template_version.fields if transfer.fields is None or f["code"] in transfer.fields]
    current, ring = form.current_data, personal.keyring(config)
    values = []
    for spec in specs:
        code, full = spec["code"], spec["code"] in (transfer.full_fields or [])
        value = personal.load(session, ring, form, code) if full else current.get(code)
        values.append({"code": code, "label": spec.get("label", code), "value": value,
                       "masked": is_sensitive(spec) and not full})
    sent = {s["code"] for s in specs}
    labels = {s["code"]: s.get("label", s["code"]) for s in specs}
    corrections = [{"seq": c.seq, "field": c.field, "label": labels[c.field], "old_value": c.old_value,
                    "new_value": c.new_value, "reason": c.reason, "corrected_at": _iso(c.corrected_at),
                    "stamp": c.stamp} for c in form.corrections if c.field in sent]
    files = [{"field": a.field_code, "filename": a.filename, "content_type": a.content_type, "size": a.size,
              "sha256": attachments.sha256_of(session, config, form=form, attachment=a)}
             for a in attachments.of_form(session, form) if a.field_code in sent]
    return {
        "transfer": {"id": transfer.id, "department": transfer.department, "recipient_unit": transfer.recipient_unit,
                     "recipient_name": transfer.recipient_name, "recipient_contact": transfer.recipient_contact,
                     "purpose": transfer.purpose, "full_reason": transfer.full_reason, "sent_at": _iso(now)},
        "form": {"number": form.number, "business_type": form.business_type,
                 "template": form.template_version.template.name, "template_version": form.template_version.version,
                 "submitted_at": _iso(form.submitted_at), "closed_at": _iso(form.closed_at)},
        "fields": values,
        "corrections": corrections,
        "attachments": files,
    }


def _aad(transfer_id: int, what: str) -> bytes:
    return f"external_transfer:{transfer_id}:{what}".encode()


UNDER_FORM_KEY = "form"  # key_id of a transfer key wrapped under its form's data key (older ones: a master key's id)


def transfer_key(session: Session, config: dict, transfer: ExternalTransfer) -> bytes:
    """The transfer's own data key, made on first use and wrapped under the form's data key; KeyDestroyed once the
    form is destroyed."""
    ring = personal.keyring(config)
    if transfer.wrapped_key is None:
        key = AESGCM.generate_key(bit_length=256)
        wrap_under_form(session, ring, transfer, key)
        return key
    if transfer.key_id == UNDER_FORM_KEY:
        form = session.get(Form, transfer.form_id)
        sealed = transfer.wrapped_key
        return base64.b64decode(personal.open_text(transfer, form.id, "external-transfer-key", sealed))
    return ring.unwrap(transfer.wrapped_key, transfer.key_id)


def wrap_under_form(session: Session, ring: personal.Keyring, transfer: ExternalTransfer, key: bytes) -> None:
    """Keep the transfer's key wrapped under its form's data key."""
    form = session.get(Form, transfer.form_id)
    personal.seal_into(ring, form, transfer, "wrapped_key", "external-transfer-key",
                       base64.b64encode(key).decode("ascii"))
    transfer.key_id = UNDER_FORM_KEY


def wrap_older_keys(session: Session, ring: personal.Keyring) -> int:
    """Re-wrap transfer keys an older version wrapped by the master key under their forms' data keys (`guichet
    migrate`); how many."""
    count = 0
    for transfer in session.scalars(select(ExternalTransfer).where(ExternalTransfer.wrapped_key.is_not(None),
                                                                   ExternalTransfer.key_id != UNDER_FORM_KEY)):
        form = session.get(Form, transfer.form_id)
        if form is None or form.status == "destroyed":
            continue
        wrap_under_form(session, ring, transfer, ring.unwrap(transfer.wrapped_key, transfer.key_id))
        count += 1
    session.flush()
    return count


def seal(session: Session, config: dict, transfer: ExternalTransfer, data: bytes, what: str) -> bytes:
    """Bytes sealed with the transfer's key, bound to the transfer and to what they are (snapshot, paper receipt)."""
    nonce = os.urandom(12)
    return nonce + AESGCM(transfer_key(session, config, transfer)).encrypt(nonce, data, _aad(transfer.id, what))


def unseal(session: Session, config: dict, transfer: ExternalTransfer, sealed: bytes, what: str) -> bytes:
    """The clear bytes of something sealed with `seal`."""
    return AESGCM(transfer_key(session, config, transfer)).decrypt(sealed[:12], sealed[12:], _aad(transfer.id, what))


def take(session: Session, config: dict, transfer: ExternalTransfer, form: Form, now: datetime) -> ExternalSnapshot:
    """Freeze what the transfer sends now: sealed, hashed, and never written again."""
    data = canonical(content_of(session, config, transfer, form, now))
    sealed = seal(session, config, transfer, data, "snapshot")
    snap = ExternalSnapshot(transfer_id=transfer.id, sha256=hashlib.sha256(data).hexdigest(), sealed=sealed,
                            sealed_sha256=hashlib.sha256(sealed).hexdigest(), size=len(data), created_at=now)
    session.add(snap)
    transfer.snapshot_sha256 = snap.sha256
    session.flush()
    return snap


def of_transfer(session: Session, transfer: ExternalTransfer) -> ExternalSnapshot | None:
    """The transfer's snapshot, once taken."""
    return session.scalars(select(ExternalSnapshot).where(ExternalSnapshot.transfer_id == transfer.id)).first()


def read(session: Session, config: dict, transfer: ExternalTransfer) -> dict:
    """The content as sent, from the sealed snapshot."""
    snap = of_transfer(session, transfer)
    return json.loads(unseal(session, config, transfer, snap.sealed, "snapshot"))


def check_all(session: Session, config: dict | None = None) -> list[str]:
    """Every snapshot against what the audit chain recorded when it was taken (and, with the key, its content):
    a list of problems, empty when every snapshot is as sent."""
    recorded = {e.object_id: e.details for e in session.scalars(
        select(AuditEvent).where(AuditEvent.action == SNAPSHOT_ACTION))}
    problems = []
    for snap, transfer in session.execute(select(ExternalSnapshot, ExternalTransfer).join(
            ExternalTransfer, ExternalTransfer.id == ExternalSnapshot.transfer_id).order_by(ExternalSnapshot.id)):
        name = f"对外移交 #{transfer.id} 的备份快照"
        details = recorded.get(str(transfer.id))
        if details is None:
            problems.append(f"{name}: 审计链中没有其生成记录")
            continue
        if snap.sha256 != details.get("snapshot_sha256") or transfer.snapshot_sha256 != snap.sha256:
            problems.append(f"{name}: 校验值与审计链记录不符 (快照被修改)")
        elif hashlib.sha256(snap.sealed).hexdigest() != details.get("sealed_sha256") or \
                snap.sealed_sha256 != details.get("sealed_sha256"):
            problems.append(f"{name}: 密封内容与审计链记录不符 (快照被修改)")
        elif config is not None:
            try:
                data = unseal(session, config, transfer, snap.sealed, "snapshot")
            except personal.KeyDestroyed:  # destroyed with its form: its hashes above are what is left to check
                continue
            except Exception:  # noqa: BLE001 - any failure to open is the finding itself
                problems.append(f"{name}: 无法解密 (密钥缺失或内容被修改)")
                continue
            if hashlib.sha256(data).hexdigest() != snap.sha256:
                problems.append(f"{name}: 内容与校验值不符 (快照被修改)")
    return problems


def rotate(session: Session, old: personal.Keyring, new_key: bytes) -> int:
    """Re-wrap every transfer's data key under `new_key` (with the forms' keys, by `guichet rotate-key`)."""
    new_ring, count = personal.Keyring(new_key), 0
    for transfer in session.scalars(select(ExternalTransfer).where(ExternalTransfer.wrapped_key.is_not(None),
                                                                   ExternalTransfer.key_id != UNDER_FORM_KEY)):
        transfer.wrapped_key, transfer.key_id = new_ring.wrap(old.unwrap(transfer.wrapped_key, transfer.key_id))
        count += 1
    session.flush()
    return count
