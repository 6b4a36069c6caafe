"""Archive pages through the Flask test client: every route, the archivist's flow, and who is turned away."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.db import unit_of_work
from processes.demo_history import seed_history
from processes.forms.models import Form
from tests.webui.test_pages import csrf


@pytest.fixture
def login(app):
    """login(username) -> a test client signed in, with its CSRF token as .token."""
    def _login(username: str):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        r = client.post("/login", data={"username": username, "password": "guichet-demo", "csrf_token": csrf(page)})
        assert r.status_code == 302
        client.token = csrf(client.get("/inbox").get_data(as_text=True))
        return client

    return _login


@pytest.fixture
def closed_ids(services):
    with unit_of_work(services.sessions) as session:
        seed_history(session, services.runtime, services.config, count=6)
    with services.sessions() as session:
        return list(session.scalars(select(Form.id).order_by(Form.closed_at)))


def text(r) -> str:
    return r.get_data(as_text=True)


def test_archivist_files_binds_moves_prints_and_lends_through_the_pages(login, closed_ids, services):
    a = login("archivist")
    assert "档案管理" in text(a.get("/inbox")) and "存储安全" in text(a.get("/inbox"))
    queue = text(a.get("/archive/queue"))
    assert all(f'value="{i}"' in queue for i in closed_ids)
    r = a.post("/archive/queue", data={"csrf_token": a.token, "form_id": [str(i) for i in closed_ids]})
    assert r.status_code == 302
    listing = text(a.get("/archive", follow_redirects=True))
    codes = re.findall(r"G001-YW·\d{4}-D\d+-YY-\d{4}", listing)
    assert len(set(codes)) == len(closed_ids)
    year = codes[0].split("·")[1][:4]
    assert all(f"·{year}-" in c for c in re.findall(r"G001-YW·\d{4}-D\d+-YY-\d{4}", text(a.get(f"/archive?year={year}"))))
    assert "下一页" not in listing
    with services.sessions() as session:
        first = session.get(Form, closed_ids[0])
        kind = first.business_type
    from processes.archive.models import Filing

    with services.sessions() as session:
        filing = session.scalars(select(Filing).where(Filing.form_id == closed_ids[0])).one()
    r = a.post("/archive/volumes", data={"csrf_token": a.token, "title": "测试卷", "business_type": kind,
                                         "year": str(filing.year)})
    assert r.status_code == 302
    volume_url = r.headers["Location"]
    page = text(a.get(volume_url))
    assert filing.archival_code in page and "加入本卷" in page
    r = a.post(volume_url + "/items", data={"csrf_token": a.token, "form_id": str(closed_ids[0])}, follow_redirects=True)
    assert r.status_code == 200 and "本卷现有 1 件" in text(r)
    r = a.post(volume_url + "/location", data={"csrf_token": a.token, "room": "一号档案室", "cabinet": "A01", "shelf": "2",
                                               "box": "5"}, follow_redirects=True)
    assert "一号档案室 · A01柜 · 2层 · 5盒" in text(r)
    catalogue = a.get(volume_url + "/catalogue")
    assert catalogue.status_code == 200 and filing.archival_code in text(catalogue)
    pdf = a.get(volume_url + "/catalogue?pdf=1")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    r = a.post(volume_url + "/close", data={"csrf_token": a.token}, follow_redirects=True)
    assert "已装订" in text(r)
    r = a.post(volume_url + "/items", data={"csrf_token": a.token, "form_id": str(closed_ids[0])})
    assert r.status_code == 409 and "已装订" in text(r)
    form_page = text(a.get(f"/forms/{closed_ids[0]}"))
    assert filing.archival_code in form_page and "第 1 件" in form_page
    volume_id = volume_url.rsplit("/", 1)[1]
    r = a.post("/archive/custody/loans", data={"csrf_token": a.token, "volume_id": volume_id, "borrower": "handler",
                                               "due_date": "2026-03-09"}, follow_redirects=True)
    assert "已借出" in text(r)
    r = a.post("/archive/custody/visits", data={"csrf_token": a.token, "room": "一号档案室", "visitor": "inspector",
                                                "purpose": "检查", "accompanied_by": "archivist"}, follow_redirects=True)
    assert "已登记进入" in text(r)
    visit = re.search(r"/archive/custody/visits/(\d+)/leave", text(r)).group(1)
    assert "已登记离开" in text(a.post(f"/archive/custody/visits/{visit}/leave", data={"csrf_token": a.token},
                                       follow_redirects=True))
    loan = re.search(r"/archive/custody/loans/(\d+)/return", text(a.get("/archive/custody"))).group(1)
    assert "已归还" in text(a.post(f"/archive/custody/loans/{loan}/return", data={"csrf_token": a.token},
                                  follow_redirects=True))
    r = a.post("/archive/storage/backup", data={"csrf_token": a.token}, follow_redirects=True)
    assert "备份完成" in text(r) and "通过" in text(r)


def test_bad_input_on_pages_is_a_4xx_with_a_message(login, closed_ids):
    a = login("archivist")
    r = a.post("/archive/volumes", data={"csrf_token": a.token, "title": "", "business_type": "", "year": "19"})
    assert r.status_code == 422 and "请填写案卷题名" in text(r)
    r = a.post("/archive/queue", data={"csrf_token": a.token, "form_id": "abc"})
    assert r.status_code == 422
    r = a.post("/archive/custody/loans", data={"csrf_token": a.token, "volume_id": "", "borrower": "x", "due_date": "x"})
    assert r.status_code == 422 and "请选择案卷" in text(r)


def test_pages_turn_away_those_outside_the_archive(login, closed_ids):
    for user in ("clerk", "handler", "head"):
        c = login(user)
        assert "档案管理" not in text(c.get("/inbox"))
        for path in ("/archive", "/archive/queue", "/archive/volumes", "/archive/custody", "/archive/storage"):
            assert c.get(path).status_code == 403, (user, path)
        assert c.post("/archive/queue", data={"csrf_token": c.token, "form_id": str(closed_ids[0])}).status_code == 403
    for user in ("manager", "inspector"):
        c = login(user)
        for path in ("/archive", "/archive/queue", "/archive/volumes", "/archive/custody", "/archive/storage"):
            assert c.get(path).status_code == 200, (user, path)
        assert c.post("/archive/queue", data={"csrf_token": c.token, "form_id": str(closed_ids[0])}).status_code == 403
        assert c.post("/archive/storage/backup", data={"csrf_token": c.token}).status_code == 403
