"""The document renderer: the same page as HTML and as an A4 PDF in a CJK font, with hash, QR and watermark."""
from __future__ import annotations

import io
from datetime import datetime, timezone

from pypdf import PdfReader

from processes import documents

SAMPLE = """{% extends "document.html" %}{% block body %}
{{ doc.kv_table([("接收单位", "某某人民法院"), ("用途", "协助查询"), ("备注", "")]) }}
{{ doc.data_table(["件号", "档号", "页数"], rows, numeric=(2,)) }}
{{ doc.signature_lines(["移交人签字", "接收人签字"]) }}
{% endblock %}"""


def render(**context):
    template = documents.environment().from_string(SAMPLE)
    context = {"title": "对外移交清单", "number": "WY-2026-0001", "issuer": "示例银行营业部",
               "generated_at": datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc),
               "rows": [[i, f"G001-YW·2026-D10-XD-{i:04d}", 3] for i in range(1, 61)], **context}
    return template.render(**documents._context(context))


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_content_hash_is_canonical():
    assert documents.content_sha256({"b": 1, "a": "张三"}) == documents.content_sha256({"a": "张三", "b": 1})
    assert documents.content_sha256({"a": 1}) != documents.content_sha256({"a": 2})


def test_html_escapes_and_shows_local_time():
    html = render(issuer="<script>x</script>")
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    assert "2026-03-02 09:30" in html  # Asia/Shanghai


def test_pdf_holds_the_chinese_text_hash_and_page_numbers():
    digest = documents.content_sha256({"form": 1})
    pdf = documents.html_to_pdf(render(content_sha256=digest, verify_url=f"http://127.0.0.1:5000/verify/{digest}",
                                       watermark="张三 2026-03-02 授权 #7"))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2  # 60 rows run over a page: numbering counts them
    text = pdf_text(pdf)
    for words in ("对外移交清单", "某某人民法院", "G001-YW·2026-D10-XD-0060", "移交人签字", digest, "第 1 页",
                  "张三 2026-03-02 授权 #7"):
        assert words in text, words


def test_qr_code_is_inline_svg():
    svg = documents.qr_svg("http://127.0.0.1:5000/verify/abc")
    assert svg.startswith("<svg") and "path" in svg
