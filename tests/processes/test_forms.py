"""Filling forms: validation by the template's schema, no personal data in workflow state, no 500 on any input."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from engine.db import unit_of_work
from engine.models import ProcessInstance, WorkItem


def test_workflow_state_holds_references_only(submit_form, services, client, auth):
    form = submit_form(customer_name="欧阳小明", content="客户 欧阳小明 的住房贷款")
    (item,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"), json={"data": {"comment": "ok"}})
    with unit_of_work(services.sessions) as s:
        state = s.get(ProcessInstance, form["process_instance_id"]).state
        items = s.scalars(select(WorkItem)).all()
    assert "欧阳小明" not in state and "住房贷款" not in state
    assert json.loads(state)["tasks"]  # it is the real serialized workflow
    assert all("欧阳小明" not in (i.subject + i.title) for i in items)


def test_form_number_uses_the_local_business_date(submit_form):
    # 2026-03-02 01:00 UTC is 09:00 in Shanghai
    assert submit_form()["number"].startswith("YW20260302")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    json_values,
    st.fixed_dictionaries({"template_id": json_values, "data": json_values, "submit": json_values}),
    st.fixed_dictionaries({"template_id": st.just(1), "submit": st.booleans(),
                           "data": st.dictionaries(st.sampled_from(["business_type", "customer_name", "content",
                                                                    "handled_at", "handled_by", "x"]),
                                                   json_values, max_size=6)}),
))
def test_no_input_to_the_form_endpoint_yields_a_500(client, auth, body):
    r = client.post("/api/v1/forms", headers=auth("clerk"), json=body)
    assert r.status_code in (201, 400, 404, 409, 422), (r.status_code, r.json)
    assert set(r.json) >= ({"id"} if r.status_code == 201 else {"code", "message"})


KYC_CODES = ["business_type", "customer_name", "customer_id", "card_no", "mobile", "amount", "birth", "count", "term",
             "proof", "content", "handled_at", "handled_by", "x"]
format_like = st.one_of(
    json_values,
    st.from_regex(r"\d{17}[\dXx]", fullmatch=True),
    st.from_regex(r"\d{12,20}", fullmatch=True),
    st.from_regex(r"1\d{10}", fullmatch=True),
    st.from_regex(r"-?[\d,]{1,16}(\.\d{0,4})?", fullmatch=True),
    st.from_regex(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?", fullmatch=True),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-10**30, max_value=10**30),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(st.sampled_from(KYC_CODES), format_like, max_size=14), submit=st.booleans())
def test_no_input_with_chinese_formats_yields_a_500(client, auth, kyc_template, data, submit):
    r = client.post("/api/v1/forms", headers=auth("clerk"), json={"template_id": kyc_template, "data": data,
                                                                  "submit": submit})
    assert r.status_code in (201, 400, 422), (r.status_code, r.json)  # 400: NUL characters
    if r.status_code == 422:
        assert all(isinstance(m, str) and m for m in r.json["fields"].values())


def test_a_draft_refuses_what_it_cannot_keep_instead_of_dropping_it(client, auth, services):
    from sqlalchemy import func, select

    from processes.forms.models import Form

    def draft(data):
        return client.post("/api/v1/forms", headers=auth("clerk"), json={"template_id": 1, "data": data, "submit": False})

    for value, message in ((["a"], "草稿只能保存文本或数字"), ({"a": 1}, "草稿只能保存文本或数字"),
                           (True, "草稿只能保存文本或数字"), ("长" * 5001, "不能超过 5000 个字")):
        r = draft({"business_type": "挂失", "content": value})
        assert r.status_code == 422 and r.json["fields"] == {"content": message}, r.json
    with services.sessions() as session:  # nothing half-written
        assert session.scalar(select(func.count()).select_from(Form)) == 0
    kept = draft({"business_type": "挂失", "content": "长" * 5000, "customer_name": None, "handled_by": 7})
    assert kept.status_code == 201
    data = client.get(f"/api/v1/forms/{kept.json['id']}", headers=auth("clerk")).json["data"]
    assert data["content"] == "长" * 5000 and data["handled_by"] == 7 and "customer_name" not in data


def test_non_finite_numbers_are_refused_not_stored(client, auth, services, clock):
    for value in (float("inf"), float("nan")):
        r = client.post("/api/v1/forms", headers=auth("clerk"),
                        json={"template_id": 1, "data": {"business_type": value}, "submit": False})
        assert r.status_code == 422 and r.json["fields"] == {"business_type": "不是有效的数值"}
    from engine.db import unit_of_work
    from processes.errors import ValidationFailed
    from processes.forms.service import create_form
    from processes.org.service import get_by_username

    with unit_of_work(services.sessions) as s:  # and a caller that is not HTTP is refused too
        try:
            create_form(s, services.runtime, services.config, actor=get_by_username(s, "clerk"), template_id=1,
                        data={"business_type": float("inf")}, submit=False, now=clock())
        except ValidationFailed as exc:
            assert exc.details["fields"] == {"business_type": "不是有效的数值"}
        else:
            raise AssertionError("a non-finite number was accepted")


def test_a_cached_template_version_is_not_taken_for_another_database_s_version_with_the_same_id(services):
    """One process may serve several databases (tests do): the same version id there is another version."""
    from processes.forms import service as forms
    from processes.forms.models import FormTemplate

    with unit_of_work(services.sessions) as s:
        template_id = s.scalars(select(FormTemplate.id).where(FormTemplate.code == "general")).one()
        version = forms.active_version(s, template_id)
        version_id, codes = version.id, [f["code"] for f in version.fields]
    with unit_of_work(services.sessions) as s:  # what a second database with the same ids would hold
        s.execute(text("UPDATE template_version SET fields = :f WHERE id = :id"),
                  {"f": '[{"code": "other", "label": "其他", "type": "text"}]', "id": version_id})
    with unit_of_work(services.sessions) as s:
        assert [f["code"] for f in forms.active_version(s, template_id).fields] == ["other"]
    assert codes != ["other"]
