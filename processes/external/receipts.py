"""签收 (R4.2.4): the one-time receipt link and code, the recipient's signature, the paper alternative, and the
public verification of a snapshot.

The recipient has no account. The sender gets a link (a random token) and a 6-digit code, shown once; only
their SHA-256 are kept (the code's bound to the token, so the table alone cannot be searched for codes). The
link works once, expires at the receipt deadline, is revoked by a new one, and locks after too many wrong codes.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.runtime import Runtime

from ..audit import service as audit
from ..errors import Conflict, ValidationFailed
from ..org.models import User
from ..transfer import service as transfer_service
from . import policy, service, snapshot
from .models import ExternalTransfer, Receipt, ReceiptLink

MAX_SCAN_BYTES = 1_500_000
SCAN_TYPES = {"application/pdf", "image/png", "image/jpeg"}
EXTERNAL_ACTOR = "external"  # the recipient, who has no login


class LinkGone(EngineError):
    """The receipt link was used, revoked, has expired or is locked."""

    code, status = "link_gone", 410


class WrongCode(ValidationFailed):
    """A wrong confirmation code; the attempt is counted (commit it, then answer 422). `locked`: it was the last."""

    def __init__(self, fields: dict, message: str, *, locked: bool = False):
        super().__init__(fields, message)
        self.locked = locked


@dataclass
class IssuedLink:
    """A new receipt link: the token and code exist only in this answer."""

    link: ReceiptLink
    token: str
    code: str


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _code_hash(token: str, code: str) -> str:
    return hmac.new(token.encode("utf-8"), code.encode("utf-8"), hashlib.sha256).hexdigest()


def _open_links(session: Session, transfer: ExternalTransfer) -> list[ReceiptLink]:
    return list(session.scalars(select(ReceiptLink).where(
        ReceiptLink.transfer_id == transfer.id, ReceiptLink.revoked_at.is_(None), ReceiptLink.used_at.is_(None))))


def _ensure_awaiting(transfer: ExternalTransfer) -> None:
    if transfer.status not in ("sent", "overdue"):
        raise Conflict(f"该移交当前状态为“{transfer.status_label}”, 不能办理签收", code="not_awaiting_receipt")


def issue_link(session: Session, runtime: Runtime, config: dict, *, transfer: ExternalTransfer, actor: User,
               now: datetime) -> IssuedLink:
    """A new one-time link and code for the recipient; an earlier link stops working."""
    _ensure_awaiting(transfer)
    item = service.receipt_item(session, runtime, transfer)
    policy.ensure_may_send(session, actor, transfer, holder=item.assignee if item else None)
    for old in _open_links(session, transfer):
        old.revoked_at = now
        audit.record(session, actor=actor.username, action="external_transfer.link_revoked",
                     object_type="external_transfer", object_id=transfer.id, now=now, details={"link": old.id})
    expires = transfer.due_at if transfer.due_at and transfer.due_at > now else \
        now + timedelta(days=int(service.settings(config)["late_link_days"]))
    token, code = secrets.token_urlsafe(32), f"{secrets.randbelow(1_000_000):06d}"
    link = ReceiptLink(transfer_id=transfer.id, token_sha256=_sha(token), code_sha256=_code_hash(token, code),
                       issued_by=actor.username, issued_at=now, expires_at=expires, failed_attempts=0)
    session.add(link)
    session.flush()
    audit.record(session, actor=actor.username, action="external_transfer.link_issued", object_type="external_transfer",
                 object_id=transfer.id, now=now, details={"link": link.id, "expires_at": expires.isoformat()})
    return IssuedLink(link, token, code)


def revoke_link(session: Session, runtime: Runtime, *, transfer: ExternalTransfer, actor: User, now: datetime) -> int:
    """Revoke the transfer's open links; how many were revoked."""
    item = service.receipt_item(session, runtime, transfer) if transfer.status in ("sent", "overdue") else None
    policy.ensure_may_send(session, actor, transfer, holder=item.assignee if item else None)
    links = _open_links(session, transfer)
    for link in links:
        link.revoked_at = now
        audit.record(session, actor=actor.username, action="external_transfer.link_revoked",
                     object_type="external_transfer", object_id=transfer.id, now=now, details={"link": link.id})
    return len(links)


def open_link(session: Session, token: str, now: datetime) -> tuple[ReceiptLink, ExternalTransfer]:
    """The link a token opens and its transfer; LinkGone when it no longer works (unknown tokens too)."""
    link = session.scalars(select(ReceiptLink).where(ReceiptLink.token_sha256 == _sha(token or ""))).first()
    if link is None:
        raise LinkGone("签收链接无效, 请向移交单位索取新的链接")
    if link.used_at is not None:
        raise LinkGone("该签收链接已使用, 移交已签收")
    if link.revoked_at is not None:
        raise LinkGone("该签收链接已作废, 请向移交单位索取新的链接")
    if link.locked_at is not None:
        raise LinkGone("确认码错误次数过多, 该签收链接已锁定, 请向移交单位索取新的链接")
    if link.expires_at <= now:
        raise LinkGone("该签收链接已过期, 请向移交单位索取新的链接")
    return link, session.get(ExternalTransfer, link.transfer_id)


def summary(transfer: ExternalTransfer) -> dict:
    """What the receipt page shows: the package, not the people (no names, no contact, no values)."""
    return {"number": f"WY{transfer.id:06d}", "form_number": transfer.form_number, "department": transfer.department,
            "recipient_unit": transfer.recipient_unit, "sent_at": transfer.sent_at, "due_at": transfer.due_at,
            "snapshot_sha256": transfer.snapshot_sha256, "field_count": len(transfer.fields or []) or None}


def sign(session: Session, runtime: Runtime, config: dict, *, token: str, name: str, position: str, unit: str,
         code: str, client_address: str | None, now: datetime) -> Receipt:
    """签收 by the recipient on the link: the code must match; the receipt names the snapshot it acknowledges."""
    link, transfer = open_link(session, token, now)
    problems, values, given = {}, {}, {"name": name, "position": position, "unit": unit}
    for key, label, limit in (("name", "姓名", 100), ("position", "职务", 100), ("unit", "单位", 200)):
        value = given[key].strip() if isinstance(given[key], str) else ""
        if len(value) < 1:
            problems[key] = f"请填写{label}"
        elif len(value) > limit:
            problems[key] = f"{label}不能超过 {limit} 个字"
        values[key] = value
    if problems:
        raise ValidationFailed(problems, message="请填写签收人信息")
    if not hmac.compare_digest(_code_hash(token, (code or "").strip()), link.code_sha256):
        link.failed_attempts += 1
        limit = int(service.settings(config)["max_code_attempts"])
        left = limit - link.failed_attempts
        if left <= 0:
            link.locked_at = now
            audit.record(session, actor=EXTERNAL_ACTOR, action="external_transfer.link_locked",
                         object_type="external_transfer", object_id=transfer.id, now=now, details={"link": link.id})
            raise WrongCode({"code": "确认码错误次数过多, 链接已锁定"}, "确认码错误次数过多, 该链接已锁定", locked=True)
        raise WrongCode({"code": f"确认码不正确, 还可尝试 {left} 次"}, "确认码不正确")
    _ensure_awaiting(transfer)
    link.used_at = now
    receipt = Receipt(transfer_id=transfer.id, kind="link", snapshot_sha256=transfer.snapshot_sha256,
                      signer_name=values["name"], signer_position=values["position"], signer_unit=values["unit"],
                      client_address=(client_address or "")[:64] or None, link_id=link.id, signed_at=now)
    audit.record(session, actor=EXTERNAL_ACTOR, action="external_transfer.link_used", object_type="external_transfer",
                 object_id=transfer.id, now=now, details={"link": link.id})
    return _received(session, runtime, transfer, receipt, actor=EXTERNAL_ACTOR, now=now)


def paper_receipt(session: Session, runtime: Runtime, config: dict, *, transfer: ExternalTransfer, actor: User,
                  filename: str, content_type: str, content: bytes, now: datetime) -> Receipt:
    """The paper alternative (R4.2.4): the sender uploads a scan of the signed receipt, sealed like attachments."""
    _ensure_awaiting(transfer)
    item = service.receipt_item(session, runtime, transfer)
    policy.ensure_may_send(session, actor, transfer, holder=item.assignee if item else None)
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or not content:
        raise ValidationFailed({"file": "请选择签收凭证的扫描件"})
    if len(name) > 200:
        raise ValidationFailed({"file": "文件名不能超过 200 个字"})
    if len(content) > MAX_SCAN_BYTES:
        raise ValidationFailed({"file": f"文件过大: 上限 {MAX_SCAN_BYTES // 1000} KB"})
    if content_type not in SCAN_TYPES:
        raise ValidationFailed({"file": "请上传 PDF、PNG 或 JPEG 格式的扫描件"})
    for link in _open_links(session, transfer):
        link.revoked_at = now
    receipt = Receipt(transfer_id=transfer.id, kind="paper", snapshot_sha256=transfer.snapshot_sha256, signed_at=now,
                      recorded_by=actor.username, scan_filename=name, scan_content_type=content_type,
                      scan_sealed=snapshot.seal(session, config, transfer, content, "paper_receipt"),
                      scan_sha256=hashlib.sha256(content).hexdigest())
    return _received(session, runtime, transfer, receipt, actor=actor.username, now=now)


def _received(session: Session, runtime: Runtime, transfer: ExternalTransfer, receipt: Receipt, *, actor: str,
              now: datetime) -> Receipt:
    """The receipt is in: keep it, end the wait (and its escalations), and say so in the audit chain."""
    item = service.receipt_item(session, runtime, transfer)
    session.add(receipt)
    transfer.status, transfer.received_at = "received", now
    session.flush()
    if item is not None:
        late = item.is_overdue(now)
        runtime.complete(session, item, actor=actor, now=now, data={"decision": "received"})
        transfer_service.finish_hop(session, item, actor=actor, late=late, now=now, comment="已签收")
    audit.record(session, actor=actor, action="external_transfer.receipt", object_type="external_transfer",
                 object_id=transfer.id, now=now, details={"kind": receipt.kind, "snapshot_sha256": receipt.snapshot_sha256,
                                                          "scan_sha256": receipt.scan_sha256})
    return receipt


def receipt_of(session: Session, transfer: ExternalTransfer) -> Receipt | None:
    """The transfer's receipt, once signed."""
    return session.scalars(select(Receipt).where(Receipt.transfer_id == transfer.id)).first()


def scan_of(session: Session, config: dict, *, transfer: ExternalTransfer, actor: User, now: datetime) -> tuple[Receipt, bytes]:
    """The paper receipt's scan in clear, for the sender side; the viewing is audited."""
    policy.ensure_may_send(session, actor, transfer)
    receipt = receipt_of(session, transfer)
    if receipt is None or receipt.kind != "paper":
        raise ValidationFailed({"file": "该移交没有纸质签收凭证"})
    content = snapshot.unseal(session, config, transfer, receipt.scan_sealed, "paper_receipt")
    audit.record(session, actor=actor.username, action="external_transfer.receipt_view", object_type="external_transfer",
                 object_id=transfer.id, now=now, details={"receipt": receipt.id})
    return receipt, content


def verification(session: Session, sha256: str) -> dict:
    """What /verify/<sha256> may say to anyone: whether Guichet issued it, when, to which unit, signed or not."""
    transfer = service.by_snapshot(session, sha256) if len(sha256) == 64 else None
    if transfer is None:
        return {"issued": False, "sha256": sha256}
    receipt = receipt_of(session, transfer)
    return {"issued": True, "sha256": transfer.snapshot_sha256, "number": f"WY{transfer.id:06d}",
            "sent_at": transfer.sent_at, "recipient_unit": transfer.recipient_unit,
            "signed": receipt is not None, "signed_at": receipt.signed_at if receipt else None,
            "receipt_kind": receipt.kind if receipt else None}
