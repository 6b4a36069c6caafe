"""The transfer package (移交包): the snapshot as sent, as a PDF (hash, QR code to the verification page) and as JSON."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from .. import documents
from ..audit import service as audit
from ..errors import Conflict
from ..org.models import User
from . import policy, snapshot
from .models import ExternalTransfer

TEMPLATE = "external_package.html"


def _content(session: Session, config: dict, transfer: ExternalTransfer, actor: User | None) -> dict:
    if actor is not None:
        policy.ensure_may_send(session, actor, transfer)
    if transfer.snapshot_sha256 is None:
        raise Conflict("移交内容尚未核对备份, 暂无移交包", code="no_snapshot")
    return snapshot.read(session, config, transfer)


def context(content: dict, transfer: ExternalTransfer, verify_url: str) -> dict:
    """What the package document is rendered from."""
    return {"title": "对外移交清单", "subtitle": "业务单对外移交 · 依据《窗口工作业务单管理办法》第 4.2.3、4.2.4 条", "issuer": "Guichet",
            "number": f"WY{transfer.id:06d}", "generated_at": transfer.sent_at, "content_sha256": transfer.snapshot_sha256,
            "verify_url": verify_url, "content": content,
            "field_rows": [[v["label"], v["value"], "已脱敏" if v["masked"] else ""] for v in content["fields"]],
            "correction_rows": [[c["stamp"], c["label"], c["old_value"], c["new_value"], c["reason"]]
                                for c in content["corrections"]],
            "attachment_rows": [[a["filename"], a["size"], a["sha256"]] for a in content["attachments"]]}


def render_pdf(content: dict, transfer: ExternalTransfer, verify_url: str) -> bytes:
    """The package PDF of a snapshot's content."""
    return documents.render_pdf(TEMPLATE, **context(content, transfer, verify_url))


def document(session: Session, config: dict, *, transfer: ExternalTransfer, actor: User, verify_url: str) -> dict:
    """What the sender's package PDF is rendered from (plain values, usable after the transaction ends).

    Rendering takes a while: the caller ends the reading transaction, renders with `render`, then records the
    download with `record_download`, so that no lock is held (and no audit head waits) during the rendering."""
    return context(_content(session, config, transfer, actor), transfer, verify_url) | {"transfer_id": transfer.id}


def render(document_context: dict) -> bytes:
    """The PDF of a `document` context."""
    return documents.render_pdf(TEMPLATE, **{k: v for k, v in document_context.items() if k != "transfer_id"})


def record_download(session: Session, *, document_context: dict, actor: User, fmt: str, now: datetime) -> None:
    """The package left Guichet in the sender's hands: into the audit chain."""
    audit.record(session, actor=actor.username, action="external_transfer.package_download",
                 object_type="external_transfer", object_id=document_context["transfer_id"], now=now,
                 details={"format": fmt, "snapshot_sha256": document_context["content_sha256"]})


def as_json(session: Session, config: dict, *, transfer: ExternalTransfer, actor: User, verify_url: str,
            now: datetime) -> bytes:
    """The package as JSON (the snapshot's content and its SHA-256) for the sender; the download is audited."""
    content = _content(session, config, transfer, actor)
    record_download(session, document_context={"transfer_id": transfer.id, "content_sha256": transfer.snapshot_sha256},
                    actor=actor, fmt="json", now=now)
    body = {"number": f"WY{transfer.id:06d}", "snapshot_sha256": transfer.snapshot_sha256, "verify_url": verify_url,
            "content": content}
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")
