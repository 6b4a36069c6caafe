"""External queries (R4.4.3): registered with the legal basis, reported, reviewed, approved, disclosed, handed over."""
from __future__ import annotations

import io
import json

from pypdf import PdfReader

from tests.processes.test_queries import cold, decide, items, kyc_form  # noqa: F401 - fixtures

OFFICER_ID = "110101198001010013"


def register(client, auth, form_ids, user="clerk", **changes):
    body = {"kind": "external", "authority": "某某市人民法院", "legal_basis": "《中华人民共和国民事诉讼法》第六十七条",
            "document_number": "(2026)某法协查字第12号", "purpose": "协助查询客户办理记录",
            "officials": [{"name": "王法官", "id_number": OFFICER_ID}, {"name": "李书记员", "id_number": "J12345678"}],
            "form_ids": form_ids, "fields": ["customer_name", "customer_id"], "due_date": "2026-03-10", **changes}
    return client.post("/api/v1/queries", headers=auth(user), json=body)


def test_report_review_approve_then_disclose_only_the_approved_fields(client, auth, kyc_form, services, cold):  # noqa: F811
    r = register(client, auth, [kyc_form["id"]])
    assert r.status_code == 201, r.json
    query = r.json
    assert query["status"] == "pending" and query["kind"] == "external" and query["number"].startswith("WC")
    cold()
    (report,) = items(client, auth, "manager")  # clerk's superior
    assert report["name"] == "上级审阅" and report["assignee"] == "manager"
    assert report["due_at"].startswith("2026-03-10T15:59")  # the authority's deadline, end of day in Shanghai
    assert decide(client, auth, "manager", report["id"], comment="属实, 转合规").status_code == 200
    cold()
    (review,) = items(client, auth, "inspector")
    assert review["queue"] == "风险合规部" and review["due_at"].startswith("2026-03-10T15:59")
    assert decide(client, auth, "handler", review["id"]).status_code == 403
    assert decide(client, auth, "inspector", review["id"], comment="法律依据充分").status_code == 200
    cold()
    (approval,) = items(client, auth, "manager2")
    assert decide(client, auth, "manager2", approval["id"], comment="批准披露").status_code == 200
    got = client.get(f"/api/v1/queries/{query['id']}", headers=auth("clerk")).json
    assert got["status"] == "approved" and got["grant"] is None
    assert [d["step"] for d in got["decisions"]] == ["superior_report", "compliance_review", "external_approval"]
    js = client.get(f"/api/v1/queries/{query['id']}/disclosure.json", headers=auth("clerk"))
    assert js.status_code == 200
    package = json.loads(js.data)
    fields = {f["code"]: f["value"] for f in package["package"]["forms"][0]["fields"]}
    assert fields == {"customer_name": "张三", "customer_id": "11010519491231002X"}  # only the approved fields
    assert package["watermark"] == f"披露编号 {query['number']}"
    pdf = client.get(f"/api/v1/queries/{query['id']}/disclosure.pdf", headers=auth("clerk"))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert f"披露编号 {query['number']}" in text and "11010519491231002X" in text and "6222" not in text
    assert package["sha256"] in text
    bad = client.post(f"/api/v1/queries/{query['id']}/handover", headers=auth("clerk"), json={"received_by": "某人"})
    assert bad.status_code == 422
    done = client.post(f"/api/v1/queries/{query['id']}/handover", headers=auth("clerk"),
                       json={"received_by": "王法官", "note": "当面交付, 核验工作证"})
    assert done.status_code == 201 and done.json["package_sha256"] == package["sha256"]
    assert client.get(f"/api/v1/queries/{query['id']}/disclosure.json", headers=auth("handler")).status_code == 403
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=auth("manager")).json]
    assert {"query.superior_report", "query.compliance_review", "query.external_approval",
            "query.disclosure_download", "query.disclosure_handover"} <= set(actions)


def test_official_ids_are_encrypted_and_nowhere_in_clear(client, auth, kyc_form, services):  # noqa: F811
    query = register(client, auth, [kyc_form["id"]]).json
    from sqlalchemy import text

    with services.sessions() as session:
        dump = " ".join(str(row) for table in ("query_official", "query_request", "process_instance", "audit_event",
                                               "work_item")
                        for row in session.execute(text(f"SELECT * FROM {table}")).all())
        from processes.queries import external
        from processes.queries.models import QueryOfficial, QueryRequest

        request = session.get(QueryRequest, query["id"])
        official = session.query(QueryOfficial).filter_by(request_id=request.id, seq=0).one()
        assert external.official_id(session, services.config, request, official) == OFFICER_ID
        assert official.id_number_masked == "11************0013"
    assert OFFICER_ID not in dump and "王法官" in dump


def test_returned_at_compliance_discloses_nothing(client, auth, kyc_form):  # noqa: F811
    query = register(client, auth, [kyc_form["id"]]).json
    (report,) = items(client, auth, "manager")
    decide(client, auth, "manager", report["id"], comment="转合规")
    (review,) = items(client, auth, "inspector")
    assert decide(client, auth, "inspector", review["id"], "return", "缺少来文原件").status_code == 200
    assert client.get(f"/api/v1/queries/{query['id']}", headers=auth("clerk")).json["status"] == "returned"
    assert client.get(f"/api/v1/queries/{query['id']}/disclosure.json", headers=auth("clerk")).status_code == 409


def test_bad_external_requests_name_each_field(client, auth, kyc_form):  # noqa: F811
    r = register(client, auth, [kyc_form["id"], 424242], authority="", legal_basis=None, due_date="2026-03-01",
                 officials=[{"name": "王", "id_number": "12"}])
    assert r.status_code == 422
    assert {"authority", "legal_basis", "due_date", "form_ids", "officials.0.name", "officials.0.id_number"} <= \
        set(r.json["fields"])
    assert "424242" in r.json["fields"]["form_ids"]
    assert register(client, auth, [kyc_form["id"]], officials=[]).status_code == 422
    assert register(client, auth, [kyc_form["id"]], user="archivist").status_code == 403
    assert client.get("/api/v1/queries?mine=1", headers=auth("clerk")).json == []


def test_scans_of_the_documents_are_sealed_and_opened_by_the_approvers(client, auth, kyc_form, services):  # noqa: F811
    import io as _io

    query = register(client, auth, [kyc_form["id"]]).json
    url = f"/api/v1/queries/{query['id']}/scans"
    notice = b"%PDF-1.4 notice of assistance"
    r = client.post(url, headers=auth("clerk"), data={"file": (_io.BytesIO(notice), "协助查询通知书.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    scan_id = r.json["id"]
    assert client.post(url, headers=auth("manager"), data={"file": (_io.BytesIO(b"x"), "a.pdf")},
                       content_type="multipart/form-data").status_code == 403
    assert client.post(url, headers=auth("clerk"), data={}, content_type="multipart/form-data").status_code == 422
    big = _io.BytesIO(b"x" * 1_500_001)
    assert client.post(url, headers=auth("clerk"), data={"file": (big, "big.pdf")},
                       content_type="multipart/form-data").status_code == 422
    assert [s["filename"] for s in client.get(url, headers=auth("inspector")).json] == ["协助查询通知书.pdf"]
    opened = client.get(f"{url}/{scan_id}", headers=auth("inspector"))
    assert opened.status_code == 200 and opened.data == notice
    assert client.get(f"{url}/{scan_id}", headers=auth("handler")).status_code == 403
    from sqlalchemy import text

    with services.sessions() as session:
        (sealed,) = session.execute(text("SELECT sealed FROM query_scan")).one()
    assert b"notice of assistance" not in bytes(sealed)
    for user in ("manager", "inspector", "manager2"):
        (item,) = items(client, auth, user)
        decide(client, auth, user, item["id"])
    late = client.post(url, headers=auth("clerk"), data={"file": (_io.BytesIO(b"y"), "b.pdf")},
                       content_type="multipart/form-data")
    assert late.status_code == 409
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=auth("manager")).json]
    assert {"query.scan_add", "query.scan_view"} <= set(actions)
