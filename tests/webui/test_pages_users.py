"""账号管理: a manager deactivates a user or signs them out everywhere; nobody else may."""
from __future__ import annotations

from processes.audit import service as audit
from tests.webui.test_pages import csrf
from tests.webui.test_sessions import page_login


def test_manager_deactivates_and_revokes_from_the_page(app, services):
    victim = page_login(app, "handler")
    clerk = page_login(app, "clerk")
    manager = page_login(app, "manager")
    page = manager.get("/admin/users")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "账号管理" in html and "张经办" in html
    token = csrf(html)
    r = manager.post("/admin/users/clerk/revoke", data={"csrf_token": token})
    assert r.status_code == 302 and clerk.get("/inbox").status_code == 302
    r = manager.post("/admin/users/handler/deactivate", data={"csrf_token": token}, follow_redirects=True)
    assert r.status_code == 200 and "已停用" in r.get_data(as_text=True)
    assert victim.get("/inbox").status_code == 302
    assert manager.post("/admin/users/manager/deactivate", data={"csrf_token": token}).status_code == 403
    assert manager.post("/admin/users/nobody/revoke", data={"csrf_token": token}).status_code == 422
    with services.sessions() as session:
        actions = {e.action for e in audit.list_events(session, audit.AuditFilter())}
    assert {"user.deactivate", "user.revoke"} <= actions


def test_only_management_manages_accounts(app):
    head = page_login(app, "head")
    assert head.get("/admin/users").status_code == 403
    token = csrf(head.get("/inbox").get_data(as_text=True))
    assert head.post("/admin/users/handler/deactivate", data={"csrf_token": token}).status_code == 403
