"""The supervision pages through the Flask test client: dashboard, drill-down, exports, inspections, notices, training."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.conftest import DEMO_PASSWORD


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def login(app):
    def _login(username: str):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf(page)})
        assert r.status_code == 302
        client.token = csrf(client.get("/inbox").get_data(as_text=True))
        return client

    return _login


@pytest.fixture
def one_late_hop(client, auth, submit_form, clock):
    form = submit_form()
    (hop,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    clock.advance(hours=5)
    client.post(f"/api/v1/tasks/{hop['id']}/complete", headers=auth("handler"),
                json={"data": {"decision": "complete", "late_reason": "系统故障"}})
    return form


def test_dashboard_records_and_exports(login, one_late_hop):
    hr = login("hr")
    page = hr.get("/supervision/?period=2026-03").get_data(as_text=True)
    assert "流转及时率" in page and "0 / 1" in page and "无数据" in page and "chart-trend" in page
    assert "期间内完成的办结及退回的环节数" in page  # the definitions are shown
    assert "信贷部" in page  # the department ranking
    records = hr.get("/supervision/records?period=2026-03&metric=on_time_circulation&department=信贷部")
    assert records.status_code == 200 and "系统故障" in records.get_data(as_text=True)
    assert hr.get("/supervision/records?period=2026-03&metric=x").status_code == 422
    assert hr.get("/supervision/?period=2026-13").status_code == 422
    xlsx = hr.get("/supervision/export.xlsx?period=2026-03")
    assert xlsx.status_code == 200 and load_workbook(io.BytesIO(xlsx.data))["考核指标"].max_row >= 2
    assert hr.get("/supervision/export.csv?period=2026-03").data.decode("utf-8-sig").startswith("期间,部门,人员")
    assert hr.get("/supervision/export.pdf?period=2026-03").status_code == 404
    head = login("head")
    assert head.get("/supervision/?period=2026-03").status_code == 200  # their department
    assert head.get("/supervision/?period=2026-03&department=营业部").status_code == 403
    clerk = login("clerk")
    assert clerk.get("/supervision/").status_code == 200  # their own figures
    assert clerk.get("/supervision/?department=信贷部").status_code == 403
    assert clerk.get("/supervision/training").status_code == 403
    assert clerk.get("/supervision/inspections").status_code == 403


def test_inspection_and_notice_pages(login, one_late_hop):
    inspector = login("inspector")
    assert "开展检查" in inspector.get("/supervision/inspections").get_data(as_text=True)
    r = inspector.post("/supervision/inspections", data={"department": "信贷部", "stage": "circulation",
                                                         "csrf_token": inspector.token})
    assert r.status_code == 302
    page = inspector.get(r.headers["Location"]).get_data(as_text=True)
    assert "逾期办理的交接" in page and "系统故障" in page
    url = r.headers["Location"]
    assert inspector.post(url + "/findings", data={"title": "登记簿缺页", "csrf_token": inspector.token}).status_code == 302
    assert inspector.post(url + "/evaluation", data={"evaluation": "基本合规", "checklist": ["交接记录完整"],
                                                     "csrf_token": inspector.token}).status_code == 302
    assert "基本合规" in inspector.get(url).get_data(as_text=True)
    assert inspector.post("/supervision/plans", data={"department": "营业部", "stage": "generation",
                                                      "csrf_token": inspector.token}).status_code == 302
    bad = inspector.post("/supervision/notices", data={"department": "信贷部", "problem": "逾期", "requirement": "说明",
                                                       "deadline": "2026-03-01T09:00", "csrf_token": inspector.token})
    assert bad.status_code == 422 and "整改期限不能早于当前时间" in bad.get_data(as_text=True)
    r = inspector.post("/supervision/notices", data={"department": "信贷部", "problem": "交接逾期未说明", "requirement": "补充说明",
                                                     "deadline": "2026-03-20T18:00", "csrf_token": inspector.token})
    assert r.status_code == 302
    notice_url = r.headers["Location"]
    head = login("head")
    page = head.get(notice_url).get_data(as_text=True)
    assert "反馈整改情况" in page and "2026-03-20 18:00" in page
    inbox_item = head.get("/api/v1/tasks")  # the page session is not an API token: 401, the inbox is the page
    assert inbox_item.status_code == 401
    assert head.post(notice_url + "/evidence", data={"file": (io.BytesIO(b"minutes"), "整改会议纪要.txt"),
                                                     "csrf_token": head.token},
                     content_type="multipart/form-data").status_code == 302
    assert head.post(notice_url + "/decide", data={"decision": "respond", "measures": "已补充说明",
                                                   "csrf_token": head.token}).status_code == 302
    page = inspector.get(notice_url).get_data(as_text=True)
    assert "复查通过" in page and "整改会议纪要.txt" in page
    evidence = re.search(r'href="([^"]+/evidence/\d+)"', page).group(1)
    assert inspector.get(evidence).data == b"minutes"
    assert head.post(notice_url + "/decide", data={"decision": "pass", "comment": "自查通过",
                                                   "csrf_token": head.token}).status_code == 403
    assert inspector.post(notice_url + "/decide", data={"decision": "pass", "comment": "整改到位",
                                                        "csrf_token": inspector.token}).status_code == 302
    assert "已通过复查" in inspector.get(notice_url).get_data(as_text=True)
    printed = inspector.get(notice_url + "/print").get_data(as_text=True)
    assert "整改通知书" in printed and "交接逾期未说明" in printed
    pdf = inspector.get(notice_url + "/notice.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "整改通知书" in text and "信贷部" in text
    assert login("clerk").get(notice_url).status_code == 403
    assert "整改通知书" in login("handler").get("/supervision/notices").get_data(as_text=True)


def test_training_and_appraisal_pages(login):
    hr = login("hr")
    page = hr.get("/supervision/training").get_data(as_text=True)
    assert "从未参加" in page and "记录培训" in page
    r = hr.post("/supervision/training", data={"topic": "archives_law", "title": "档案法培训", "held_on": "2026-02-28",
                                               "trainer": "档案局讲师", "attendees": "clerk, handler", "csrf_token": hr.token})
    assert r.status_code == 302
    assert "档案法培训" in hr.get("/supervision/training").get_data(as_text=True)
    r = hr.post("/supervision/appraisals", data={"quarter": "2026Q1", "subject_type": "department", "subject": "信贷部",
                                                 "rating": "commend", "note": "及时", "csrf_token": hr.token})
    assert r.status_code == 302 and "表彰" in hr.get("/supervision/training").get_data(as_text=True)
    dashboard = hr.get("/supervision/?period=2026-03").get_data(as_text=True)
    assert "考核评价 2026Q1" in dashboard
    bad = hr.post("/supervision/appraisals", data={"quarter": "Q1", "subject_type": "department", "subject": "信贷部",
                                                   "rating": "commend", "csrf_token": hr.token})
    assert bad.status_code == 422 and "2026Q4" in bad.get_data(as_text=True)
    inspector = login("inspector")
    assert "记录培训" not in inspector.get("/supervision/training").get_data(as_text=True)
    assert inspector.post("/supervision/appraisals", data={"quarter": "2026Q1", "subject_type": "department",
                                                           "subject": "信贷部", "rating": "commend",
                                                           "csrf_token": inspector.token}).status_code == 403


def test_storage_inspection_finds_archive_problems(services, client, auth, clock, login):
    """Backups not verified or failed, integrity mismatches, bound volumes nowhere, loans past due: each a finding."""
    from datetime import date, timedelta

    from engine.db import unit_of_work
    from processes.archive.models import Backup, IntegrityRun, Loan, Volume

    now = clock()
    with unit_of_work(services.sessions) as s:
        s.add_all([Backup(created_at=now - timedelta(days=2), filename="guichet-a.db", sha256="0" * 64, size=1,
                          manifest={}, created_by="system", verified=False, verify_detail="行数不符"),
                   Backup(created_at=now - timedelta(days=1), filename="guichet-b.db", sha256="1" * 64, size=1,
                          manifest={}, created_by="system", verified=True, verified_at=now),
                   IntegrityRun(started_at=now - timedelta(days=1), finished_at=now, checked=5, mismatches=1, total=5)])
        bound = Volume(title="2025年个人贷款申请 第1卷", business_type="个人贷款申请", year=2025, status="closed",
                       created_by="archivist", created_at=now)
        shelved = Volume(title="2025年个人开户 第1卷", business_type="个人开户", year=2025, status="closed",
                         created_by="archivist", created_at=now, room="一号档案室", cabinet="1", shelf="1", box="1")
        s.add_all([bound, shelved])
        s.flush()
        s.add(Loan(volume_id=shelved.id, status="lent", borrower="handler", due_date=date(2026, 2, 20),
                   lent_by="archivist", lent_at=now - timedelta(days=20)))
    r = client.post("/api/v1/inspections", headers=auth("inspector"), json={"department": "档案室", "stage": "storage"})
    assert r.status_code == 201, r.json
    found = {f["kind"]: f for f in r.json["findings"]}
    assert [x["label"] for x in found["unverified_backups"]["records"]] == ["guichet-a.db (验证未通过: 行数不符)"]
    assert found["integrity_failures"]["count"] == 1
    assert [x["label"] for x in found["volumes_without_location"]["records"]] == ["2025年个人贷款申请 第1卷"]
    assert "借阅人 handler" in found["overdue_loans"]["records"][0]["label"]
    page = login("inspector").get(f"/supervision/inspections/{r.json['id']}").get_data(as_text=True)
    assert f'/archive/volumes/{bound.id}"' in page and "完整性校验发现不一致" in page
