"""Sending a stored file to the browser as a download."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response


def attachment_response(filename: str, content_type: str, content: bytes) -> Response:
    """The file as a download under its own (possibly Chinese) name, never rendered inline."""
    return Response(content, mimetype=content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff"})


def pdf_response(transfer, verify_url) -> Response:
    """An external transfer's package PDF, rendered outside any transaction: reading, rendering (slow) and
    recording the download are three steps, so the rendering holds no database lock."""
    from processes.external import package

    from .auth import actor
    from .context import db, guichet, now

    user = actor()
    context = package.document(db(), guichet().config, transfer=transfer, actor=user, verify_url=verify_url(transfer))
    db().rollback()  # ends the reading transaction; the download is recorded in a fresh one below
    data = package.render(context)
    package.record_download(db(), document_context=context, actor=user, fmt="pdf", now=now())
    return attachment_response(f"对外移交-{context['number']}.pdf", "application/pdf", data)
