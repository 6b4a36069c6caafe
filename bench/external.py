"""External transfer: p95 to build one package PDF (`external_package_ms`) and of the open receipt page
(`external_receipt_page_p95_ms`), on SQLite through Flask's test client.

A form is submitted, sent out by 信贷部 (request, check, snapshot) and given a receipt link. The package is
downloaded BENCH_EXTERNAL_PACKAGES times (after one warm-up that loads WeasyPrint): each download reads the
sealed snapshot, renders the PDF in the CJK font (WeasyPrint, with the QR code) and records the download in the
audit chain. The receipt page is opened BENCH_EXTERNAL_PAGES times (token lookup, summary, template).
"""
from __future__ import annotations

import time

from .common import (
    DEMO_PASSWORD,
    GOOD_FORM,
    build_app,
    make_config,
    median,
    percentile,
    say,
    size,
    sqlite_url,
    tempdir,
)


def _timed(call, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def run():
    folder = tempdir("external")
    app = build_app(make_config(sqlite_url(folder), folder))
    client = app.test_client()
    tokens = {u: {"Authorization": "Bearer " + client.post("/api/v1/auth/token", json={
        "username": u, "password": DEMO_PASSWORD}).json["token"]} for u in ("clerk", "handler", "head")}
    form = client.post("/api/v1/forms", headers=tokens["clerk"], json={"template_id": 1, "data": GOOD_FORM,
                                                                       "submit": True}).json
    transfer = client.post(f"/api/v1/forms/{form['id']}/external-transfers", headers=tokens["handler"], json={
        "recipient_unit": "某某人民法院", "recipient_name": "孙法官", "recipient_contact": "010-12345678",
        "purpose": "协助调查", "receipt_days": 7}).json
    (check,) = client.get("/api/v1/tasks", headers=tokens["head"], query_string={"process": "external_transfer"}).json
    assert client.post(f"/api/v1/tasks/{check['id']}/complete", headers=tokens["head"],
                       json={"data": {"decision": "approve"}}).status_code == 200
    link = client.post(f"/api/v1/external-transfers/{transfer['id']}/receipt-link", headers=tokens["handler"]).json
    receipt_path = "/" + link["url"].split("/", 3)[3]
    package_url = f"/api/v1/external-transfers/{transfer['id']}/package.pdf"

    def package():
        r = client.get(package_url, headers=tokens["handler"])
        assert r.status_code == 200 and r.data.startswith(b"%PDF"), r.status_code

    def receipt_page():
        r = client.get(receipt_path)
        assert r.status_code == 200, r.status_code

    packages, pages = size("external_packages", 30), size("external_pages", 300)
    say("external: warming up (WeasyPrint loads on the first PDF) …")
    package()
    receipt_page()
    say(f"external: {packages} package PDFs …")
    package_ms = _timed(package, packages)
    say(f"external: {pages} receipt pages …")
    page_ms = _timed(receipt_page, pages)
    pdf_bytes = len(client.get(package_url, headers=tokens["handler"]).data)
    app.extensions["guichet_engine"].dispose()
    metrics = {"external_package_ms": round(percentile(package_ms, 95), 1),
               "external_receipt_page_p95_ms": round(percentile(page_ms, 95), 2)}
    notes = {"external": {"packages": packages, "package_median_ms": round(median(package_ms), 1),
                          "package_pdf_bytes": pdf_bytes, "receipt_pages": pages,
                          "receipt_page_median_ms": round(median(page_ms), 2)}}
    return metrics, notes
