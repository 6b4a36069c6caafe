"""Sending a stored file to the browser as a download."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response


def attachment_response(filename: str, content_type: str, content: bytes) -> Response:
    """The file as a download under its own (possibly Chinese) name, never rendered inline."""
    return Response(content, mimetype=content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff"})
