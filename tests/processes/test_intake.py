"""Filling (R4.1.3): Chinese formats checked on the server, per-field Chinese errors, drafts, corrections."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import KYC_FORM
from tests.processes.test_forms import json_values


def post(client, auth, template_id, data, submit=True, user="clerk"):
    return client.post("/api/v1/forms", headers=auth(user), json={"template_id": template_id, "data": data,
                                                                  "submit": submit})


@pytest.mark.parametrize("field,value,message", [
    ("customer_id", "110105194912310021", "校验位不正确"),          # bad check digit
    ("customer_id", "110105194902300020", "出生日期不存在"),         # 30 February
    ("customer_id", "110105230001010015", "出生日期不合理"),         # born in 2300
    ("customer_id", "11010519491231002", "应为 18 位"),             # 17 digits
    ("customer_id", "", "必填项"),
    ("card_no", "6222020200112345678", "Luhn"),
    ("card_no", "62220202", "12 至 19 位"),
    ("mobile", "12345678901", "手机号码"),
    ("amount", "12.345", "两位小数"),
    ("amount", "-5", "不能为负数"),
    ("term", "36个月", "请从选项中选择"),
    ("birth", "2026-02-30", "日期格式不正确"),
    ("count", "many", "请填写数字"),
    ("handled_at", "昨天", "日期时间格式不正确"),
])
def test_each_bad_value_is_a_422_naming_the_field(client, auth, kyc_template, field, value, message):
    r = post(client, auth, kyc_template, {**KYC_FORM, field: value})
    assert r.status_code == 422, r.json
    assert list(r.json["fields"]) == [field] and message in r.json["fields"][field]
    assert value[:6] not in r.json["message"] or not value  # the message never echoes the value


def test_missing_required_fields_are_each_named(client, auth, kyc_template):
    data = {k: v for k, v in KYC_FORM.items() if k not in ("customer_id", "amount", "handled_by")}
    r = post(client, auth, kyc_template, data)
    assert r.status_code == 422
    assert r.json["fields"] == {"customer_id": "必填项, 请填写", "amount": "必填项, 请填写", "handled_by": "必填项, 请填写"}


def test_valid_values_are_normalised(client, auth, kyc_template):
    r = post(client, auth, kyc_template, {**KYC_FORM, "customer_id": "11010519491231002x", "card_no": "6222 0202 0011 2345 679",
                                          "mobile": "+86 138-1234-5678", "amount": "1,200.5", "count": 3})
    assert r.status_code == 201, r.json
    data = r.json["data"]
    assert data["customer_id"] == "110105********002X"
    assert data["card_no"] == "6222***********5679"
    assert data["mobile"] == "138****5678"
    assert data["amount"] == "1200.50" and data["count"] == "3"
    assert r.json["sensitive_fields"] == ["customer_id", "card_no", "mobile"]


def test_draft_saved_resumed_and_submitted(client, auth, kyc_template):
    draft = post(client, auth, kyc_template, {"customer_id": "110105", "business_type": "贷款"}, submit=False).json
    assert draft["status"] == "draft" and draft["data"]["customer_id"] == "******"
    r = client.put(f"/api/v1/forms/{draft['id']}", headers=auth("clerk"), json={"data": {**KYC_FORM, "customer_id": "1"},
                                                                                 "submit": True})
    assert r.status_code == 422 and list(r.json["fields"]) == ["customer_id"]
    assert client.put(f"/api/v1/forms/{draft['id']}", headers=auth("handler"), json={"data": KYC_FORM}).status_code == 403
    r = client.put(f"/api/v1/forms/{draft['id']}", headers=auth("clerk"), json={"data": KYC_FORM})
    assert r.status_code == 200 and r.json["status"] == "draft"
    r = client.post(f"/api/v1/forms/{draft['id']}/submit", headers=auth("clerk"))
    assert r.status_code == 200 and r.json["status"] == "in_transfer"
    assert r.json["data"]["customer_id"] == "110105********002X"
    assert client.put(f"/api/v1/forms/{draft['id']}", headers=auth("clerk"), json={"data": KYC_FORM}).status_code == 409


def correct(client, auth, form_id, user="clerk", **body):
    payload = {"field": "customer_name", "new_value": "张三丰", "reason": "客户姓名笔误", "password": "guichet-demo", **body}
    return client.post(f"/api/v1/forms/{form_id}/corrections", headers=auth(user), json=payload)


def test_correction_needs_the_password_and_is_appended(client, auth, kyc_template):
    form = post(client, auth, kyc_template, KYC_FORM).json
    r = correct(client, auth, form["id"], password="wrong")
    assert r.status_code == 422 and r.json["fields"] == {"password": "密码不正确, 签名未通过"}
    assert client.get(f"/api/v1/forms/{form['id']}/corrections", headers=auth("clerk")).json == []
    r = correct(client, auth, form["id"])
    assert r.status_code == 201, r.json
    assert (r.json["seq"], r.json["old_value"], r.json["new_value"], r.json["corrected_by"]) == (1, "张三", "张三丰", "clerk")
    assert r.json["stamp"].startswith("更正 第1号 · clerk") and r.json["signature_valid"] is True
    assert len(r.json["signature"]) == 64
    after = client.get(f"/api/v1/forms/{form['id']}", headers=auth("clerk")).json
    assert after["data"]["customer_name"] == "张三丰" and after["corrections"] == 1
    assert correct(client, auth, form["id"]).json["fields"] == {"new_value": "新值与现值相同, 无需更正"}
    assert correct(client, auth, form["id"], new_value="").status_code == 422
    assert correct(client, auth, form["id"], field="nope").json["fields"] == {"field": "不是本模板的字段"}
    assert correct(client, auth, form["id"], user="archivist").status_code == 403


def test_correcting_a_sensitive_field_keeps_the_original_recoverable(client, auth, kyc_template, services):
    form = post(client, auth, kyc_template, KYC_FORM).json
    r = correct(client, auth, form["id"], field="customer_id", new_value="320102198805061230", reason="证件号抄错")
    assert r.status_code == 201
    assert (r.json["old_value"], r.json["new_value"]) == ("110105********002X", "320102********1230")
    current = client.post(f"/api/v1/forms/{form['id']}/reveal", headers=auth("clerk"),
                          json={"field": "customer_id", "reason": "核对更正"}).json
    original = client.post(f"/api/v1/forms/{form['id']}/reveal", headers=auth("manager"),
                           json={"field": "customer_id", "reason": "核对原值", "seq": 0}).json
    assert current["value"] == "320102198805061230" and original["value"] == "11010519491231002X"
    events = client.get("/api/v1/audit", headers=auth("manager"), query_string={"object_id": form["id"]}).json
    assert [e["action"] for e in events][:3] == ["form.reveal", "form.reveal", "form.correct"]
    assert events[2]["details"] == {"number": form["number"], "field": "customer_id", "seq": 1}


def test_the_current_handler_may_correct_and_a_closed_form_may_not(client, auth, submit_form):
    form = submit_form()
    (item,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    assert correct(client, auth, form["id"], user="handler").status_code == 403  # not claimed yet
    client.post(f"/api/v1/tasks/{item['id']}/claim", headers=auth("handler"))
    assert correct(client, auth, form["id"], user="handler").status_code == 201
    client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"), json={"data": {}})
    assert correct(client, auth, form["id"], user="handler", new_value="张三").status_code == 403
    (close,) = client.get("/api/v1/tasks", headers=auth("clerk")).json
    client.post(f"/api/v1/tasks/{close['id']}/complete", headers=auth("clerk"), json={"data": {}})
    assert correct(client, auth, form["id"], new_value="张三").status_code == 409


@pytest.fixture
def kyc_form(client, auth, kyc_template):
    """A submitted form on the KYC template (one per test; hypothesis examples share it)."""
    return post(client, auth, kyc_template, KYC_FORM).json["id"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values, st.fixed_dictionaries(
    {"field": st.sampled_from(["customer_id", "card_no", "amount", "customer_name", "x"]) | json_values,
     "new_value": json_values, "reason": json_values, "password": st.sampled_from(["guichet-demo", "x"]) | json_values,
     "seq": json_values})))
def test_no_input_to_correction_or_reveal_yields_a_500(client, auth, kyc_form, body):
    for path in ("corrections", "reveal"):
        r = client.post(f"/api/v1/forms/{kyc_form}/{path}", headers=auth("clerk"), json=body)
        assert r.status_code in (200, 201, 400, 404, 409, 422), (path, r.status_code, r.json)
