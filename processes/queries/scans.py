"""Scans of an authority's documents (来文扫描件, R4.4.3), sealed with the request's data key, every opening audited."""
from __future__ import annotations

import os
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import service as audit
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..forms import personal
from ..org.models import User
from . import policy
from .models import QueryRequest, QueryScan

MAX_BYTES = 1_500_000  # as a form's attachment: under the request limit
MAX_SCANS = 20


def add(session: Session, config: dict, *, request: QueryRequest, actor: User, filename: str, content_type: str,
        content: bytes, now: datetime) -> QueryScan:
    """Keep one scan of the request's documents; only the registrant, while the request is being approved."""
    if request.kind != "external":
        raise ValidationFailed({"file": "只有外部查询需要上传来文扫描件"})
    if actor.username != request.applicant:
        raise Forbidden("只有登记人可以上传来文扫描件")
    if request.status != "pending":
        raise Conflict("审批已结束, 不能再补充来文扫描件", code="query_decided")
    name = os.path.basename((filename or "").replace("\\", "/")).strip()[:200]
    if not name or not content:
        raise ValidationFailed({"file": "请选择要上传的文件"})
    if len(content) > MAX_BYTES:
        raise ValidationFailed({"file": f"文件过大: 上限 {MAX_BYTES // 1000} KB"})
    if len(scans_of(session, request)) >= MAX_SCANS:
        raise ValidationFailed({"file": f"最多上传 {MAX_SCANS} 份扫描件"})
    key = personal.data_key(personal.keyring(config), request)
    nonce = os.urandom(12)
    scan = QueryScan(request_id=request.id, filename=name, content_type=content_type[:100] or "application/octet-stream",
                     size=len(content), sealed=nonce + AESGCM(key).encrypt(nonce, content, f"{request.id}:scan".encode()),
                     uploaded_by=actor.username, uploaded_at=now)
    session.add(scan)
    session.flush()
    audit.record(session, actor=actor.username, action="query.scan_add", object_type="query_request",
                 object_id=request.id, now=now, details={"number": request.number, "scan": scan.id, "size": len(content)})
    return scan


def scans_of(session: Session, request: QueryRequest) -> list[QueryScan]:
    """The request's scans (names and sizes), oldest first."""
    return list(session.scalars(select(QueryScan).where(QueryScan.request_id == request.id).order_by(QueryScan.id)))


def open_scan(session: Session, config: dict, *, request: QueryRequest, scan_id: int, actor: User,
              now: datetime) -> tuple[QueryScan, bytes]:
    """One scan in clear, for those who may see the request; the opening is audited."""
    policy.ensure_may_see(session, actor, request)
    scan = session.get(QueryScan, scan_id)
    if scan is None or scan.request_id != request.id:
        raise NotFound("扫描件不存在", code="scan_not_found")
    key = personal.data_key(personal.keyring(config), request)
    content = AESGCM(key).decrypt(scan.sealed[:12], scan.sealed[12:], f"{request.id}:scan".encode())
    audit.record(session, actor=actor.username, action="query.scan_view", object_type="query_request",
                 object_id=request.id, now=now, details={"number": request.number, "scan": scan.id})
    return scan, content
