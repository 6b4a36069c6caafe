"""Template design and approval (R4.1.1-R4.1.2): head reviews, management approves, changes are new versions."""
from __future__ import annotations

import pytest

import processes
from engine.runtime import Runtime
from tests.conftest import GOOD_FORM, KYC_FIELDS

FIELDS = [f for f in KYC_FIELDS if f["code"] not in ("birth", "count", "proof")]


def design(client, auth, user="handler", **changes):
    body = {"name": "个人贷款申请单", "business_type": "个人贷款", "fields": FIELDS, "submit": True, **changes}
    return client.post("/api/v1/templates", headers=auth(user), json=body)


def items(client, auth, user, **query):
    return client.get("/api/v1/tasks", headers=auth(user), query_string={"process": "template_approval", **query}).json


@pytest.fixture(params=["straight", "restore"])
def cold(request, services):
    """cold() before a step: in 'restore' mode the next step starts from a fresh runtime (state loaded from the DB)."""

    def _cold():
        if request.param == "restore":
            fresh = Runtime()
            processes.register_all(fresh, services.config)
            services.runtime = fresh

    return _cold


def decide(client, auth, user, item_id, decision, comment=""):
    return client.post(f"/api/v1/tasks/{item_id}/complete", headers=auth(user),
                       json={"data": {"decision": decision, "comment": comment}})


def approve_all(client, auth):
    (review,) = items(client, auth, "head")
    assert decide(client, auth, "head", review["id"], "approve", "格式清楚").status_code == 200
    (approval,) = items(client, auth, "manager")
    assert decide(client, auth, "manager", approval["id"], "approve").status_code == 200


def test_approve_path_makes_the_version_active(client, auth, cold):
    r = design(client, auth)
    assert r.status_code == 201, r.json
    template = r.json
    assert template["versions"][0]["status"] == "in_review" and template["department"] == "信贷部"
    assert all(t["name"] != "个人贷款申请单" for t in client.get("/api/v1/templates", headers=auth("clerk")).json)
    (review,) = items(client, auth, "head")
    assert review["subject"] == "个人贷款申请单" and review["name"] == "部门负责人审核" and review["assignee"] == "head"
    detail = client.get(f"/api/v1/tasks/{review['id']}", headers=auth("head")).json
    assert detail["decisions"] == ["approve", "return"]
    assert items(client, auth, "handler") == []  # the head's item, not the department's queue
    assert decide(client, auth, "handler", review["id"], "approve").status_code == 403
    assert decide(client, auth, "head", review["id"], "complete").status_code == 422
    cold()
    assert decide(client, auth, "head", review["id"], "approve", "格式清楚").status_code == 200
    cold()
    (approval,) = items(client, auth, "manager")
    assert approval["queue"] == "公司管理层" and approval["name"] == "公司管理层批准"
    assert decide(client, auth, "manager", approval["id"], "approve", "同意启用").status_code == 200
    active = {t["name"]: t for t in client.get("/api/v1/templates", headers=auth("clerk")).json}
    assert active["个人贷款申请单"]["version"] == 1
    version = client.get(f"/api/v1/templates/{template['id']}", headers=auth("clerk")).json["versions"][0]
    assert version["status"] == "active"
    assert [(r["step"], r["decision"], r["decided_by"]) for r in version["reviews"]] == \
        [("review", "approve", "head"), ("approve", "approve", "manager")]
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=auth("manager")).json]
    assert {"template.design", "template.review", "template.approve"} <= set(actions)


@pytest.mark.parametrize("returner", ["head", "manager"])
def test_return_path_rejects_the_version_which_stays_readable(client, auth, returner, cold):
    template = design(client, auth).json
    if returner == "manager":
        (review,) = items(client, auth, "head")
        cold()
        decide(client, auth, "head", review["id"], "approve")
    (item,) = items(client, auth, returner)
    cold()
    r = decide(client, auth, returner, item["id"], "return")
    assert r.status_code == 422 and "comment" in r.json["fields"]
    r = decide(client, auth, returner, item["id"], "return", "缺" * 2001)  # refused, not cut
    assert r.status_code == 422 and r.json["fields"] == {"comment": "不能超过 2000 个字 (现有 2001 个字)"}
    assert decide(client, auth, returner, item["id"], "return", "缺少客户联系地址").status_code == 200
    detail = client.get(f"/api/v1/templates/{template['id']}", headers=auth("handler")).json
    assert detail["versions"][0]["status"] == "rejected"
    assert detail["versions"][0]["reviews"][-1]["comment"] == "缺少客户联系地址"
    assert items(client, auth, "manager") == []
    # the designer changes it: version 2, through the same path
    r = client.post(f"/api/v1/templates/{template['id']}/versions", headers=auth("handler"),
                    json={"fields": FIELDS + [{"code": "address", "label": "联系地址", "type": "text"}]})
    assert r.status_code == 201 and [v["status"] for v in r.json["versions"]] == ["in_review", "rejected"]


def test_a_change_makes_a_new_version_and_forms_keep_theirs(client, auth):
    template = design(client, auth).json
    approve_all(client, auth)
    data = {**GOOD_FORM, "customer_id": "11010519491231002X", "amount": "500000", "term": "12个月"}
    form = client.post("/api/v1/forms", headers=auth("clerk"),
                       json={"template_id": template["id"], "data": data, "submit": True}).json
    assert form["template_version"] == 1
    r = client.post(f"/api/v1/templates/{template['id']}/versions", headers=auth("handler"),
                    json={"fields": FIELDS + [{"code": "address", "label": "联系地址", "type": "text"}], "submit": True})
    assert r.status_code == 201
    again = client.post(f"/api/v1/templates/{template['id']}/versions", headers=auth("handler"), json={"fields": FIELDS})
    assert again.status_code == 409  # one change at a time
    active = {t["name"]: t for t in client.get("/api/v1/templates", headers=auth("clerk")).json}
    assert active["个人贷款申请单"]["version"] == 1  # still v1 until v2 is approved
    approve_all(client, auth)
    detail = client.get(f"/api/v1/templates/{template['id']}", headers=auth("clerk")).json
    assert [(v["version"], v["status"]) for v in detail["versions"]] == [(2, "active"), (1, "superseded")]
    assert client.get(f"/api/v1/forms/{form['id']}", headers=auth("clerk")).json["template_version"] == 1


def test_designer_refuses_a_template_without_the_required_fields(client, auth):
    r = design(client, auth, fields=[f for f in FIELDS if f["code"] not in ("handled_by", "customer_name", "customer_id")])
    assert r.status_code == 422 and "经办人员" in r.json["fields"]["fields"] and "客户信息" in r.json["fields"]["fields"]
    r = design(client, auth, fields=[{**f, "choices": []} if f["type"] == "choice" else f for f in FIELDS])
    assert r.status_code == 422 and "fields.term" in r.json["fields"]
    r = design(client, auth, fields=FIELDS + [{"code": "x", "label": "X", "type": "photo"}])
    assert r.status_code == 422
    assert design(client, auth, user="clerk").status_code == 403


def test_draft_version_then_submit(client, auth):
    template = design(client, auth, submit=False).json
    assert template["versions"][0]["status"] == "draft" and items(client, auth, "head") == []
    r = client.post(f"/api/v1/templates/{template['id']}/versions/1/submit", headers=auth("handler"))
    assert r.status_code == 200 and r.json["versions"][0]["status"] == "in_review"
    assert client.post(f"/api/v1/templates/{template['id']}/versions/1/submit", headers=auth("handler")).status_code == 409
    assert len(items(client, auth, "head")) == 1


def test_general_template_is_an_approved_template(client, auth):
    (general,) = client.get("/api/v1/templates", headers=auth("clerk")).json
    detail = client.get(f"/api/v1/templates/{general['id']}", headers=auth("clerk")).json
    assert detail["versions"][0]["status"] == "active"
    assert [r["step"] for r in detail["versions"][0]["reviews"]] == ["review", "approve"]
    assert client.get("/api/v1/templates/999", headers=auth("clerk")).status_code == 404
