"""Printable documents: one renderer for the transfer package, 卷内目录, 销毁清册, 整改通知书 and disclosure packages.

A document is a Jinja template rendered to HTML (the page the browser shows) and, from the same HTML, to
PDF with WeasyPrint in a CJK font (WenQuanYi Micro Hei from Debian's `fonts-wqy-microhei`). Templates
extend `document.html`, which gives every document the same frame: issuer, title and number, the time it
was made, its content hash, a QR code to the verification page where there is one, an optional watermark
on every page, and page numbers.

Where templates live: `processes/documents/templates/` (the frame and shared macros) and each stage's own
`processes/<stage>/documents/` folder. Names are global, so a stage prefixes its own
(`external_package.html`, `archive_catalogue.html`).

    html = documents.render_html("archive_catalogue.html", title="卷内目录", number=code, rows=rows)
    pdf = documents.render_pdf("archive_catalogue.html", title="卷内目录", number=code, rows=rows)
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup

HERE = Path(__file__).resolve().parent
PROCESSES = HERE.parent
DEFAULT_ZONE = "Asia/Shanghai"


def content_sha256(content: object) -> str:
    """SHA-256 of content as canonical JSON (sorted keys, no spaces, UTF-8): what a document certifies."""
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def qr_svg(data: str, *, scale: int = 3) -> Markup:
    """An inline SVG QR code (segno) of `data`, e.g. the verification URL of a document."""
    return Markup(segno.make(data, error="m").svg_inline(scale=scale, omitsize=False))


@pass_context
def _local(context, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp shown in the document's zone (context `zone`, default Asia/Shanghai)."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(context.get("zone") or DEFAULT_ZONE)).strftime(fmt)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja environment over the frame and every stage's documents folder."""
    folders = [HERE / "templates", *sorted(p for p in PROCESSES.glob("*/documents") if p.is_dir())]
    env = Environment(loader=FileSystemLoader([str(f) for f in folders]),
                      autoescape=select_autoescape(["html"], default=True), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["local"] = _local
    env.globals["qr_svg"] = qr_svg
    return env


def _context(context: dict) -> dict:
    defaults = {"issuer": "", "number": "", "subtitle": "", "generated_at": None, "content_sha256": "",
                "verify_url": "", "watermark": "", "zone": DEFAULT_ZONE, "pdf": False}
    return {**defaults, **context}


def render_html(template: str, **context) -> str:
    """The document as an HTML page (what the browser shows and what the PDF is made from)."""
    return environment().get_template(template).render(**_context(context))


def render_pdf(template: str, **context) -> bytes:
    """The document as a PDF (A4, CJK font, page numbers), made from the same HTML."""
    return html_to_pdf(environment().get_template(template).render(**_context({**context, "pdf": True})))


def html_to_pdf(html: str) -> bytes:
    """PDF of a rendered document page."""
    from weasyprint import HTML  # imported on first use: loading pango takes a moment

    return HTML(string=html, base_url=str(HERE / "templates")).write_pdf()
