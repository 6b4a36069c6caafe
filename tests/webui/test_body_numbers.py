"""Whole numbers inside request bodies and query strings: an id or a count the database cannot hold is a 422
with a Chinese field message, never a 500, and the OpenAPI document declares every range."""
from __future__ import annotations

import re

import pytest
from marshmallow import Schema, fields

from processes.inputs import MAX_ID, Whole

OUT_OF_RANGE = [2**31, 2**63, -1, 10**30]
CJK = re.compile(r"[\u4e00-\u9fff]")


def request_schemas(app):
    """(endpoint, location, schema) of every schema a registered view parses its request with."""
    for endpoint, view in app.view_functions.items():
        for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            schema = parameter["schema"]
            yield endpoint, parameter["in"], schema if isinstance(schema, Schema) else schema()


def walk(schema: Schema, prefix: str = ""):
    """(dotted name, field) of every field of a schema, nested schemas and list items included."""
    for name, field in schema.fields.items():
        yield from _walk_field(f"{prefix}{field.data_key or name}", field)


def _walk_field(name, field):
    yield name, field
    if isinstance(field, fields.List):
        yield from _walk_field(f"{name}[]", field.inner)
    elif isinstance(field, fields.Nested):
        yield from walk(field.schema, f"{name}.")
    elif isinstance(field, fields.Dict) and field.value_field is not None:
        yield from _walk_field(f"{name}{{}}", field.value_field)


def looks_numeric(name: str) -> bool:
    """Names that hold a number in this API: ids, lists of ids, days, years, limits, sequence numbers."""
    last = name.rsplit(".", 1)[-1].rstrip("[]")
    return bool(re.search(r"(^|_)(ids?|days|years?|limit|seq|from|to|evidence|exclude)$", last))


def test_every_integer_of_every_request_schema_is_bounded(app):
    """Walks every schema of every registered route: a whole number is a `Whole` (or `Id`) with both bounds inside
    the 32-bit id columns, and no number hides in an untyped field the schema cannot bound."""
    found, problems = 0, []
    for endpoint, _where, schema in request_schemas(app):
        for name, field in walk(schema):
            if isinstance(field, fields.Integer):
                found += 1
                ranges = [v for v in field.validators if hasattr(v, "min") and hasattr(v, "max")]
                if not isinstance(field, Whole) and not ranges:
                    problems.append(f"{endpoint}: {name} is an unbounded Integer")
                for r in ranges:
                    if r.min is None or r.max is None or not -MAX_ID <= r.min <= r.max <= MAX_ID:
                        problems.append(f"{endpoint}: {name} bounds {r.min}…{r.max}")
            elif looks_numeric(name) and type(field) is fields.Raw:
                problems.append(f"{endpoint}: {name} holds a number in an untyped {type(field).__name__}")
    assert found >= 15
    assert problems == []


def operations(spec):
    """(method, path, body properties, query parameters) of every operation in the OpenAPI document."""
    schemas = spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            body = schemas[body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
            query = [p for p in op.get("parameters", []) if p.get("in") == "query"]
            yield method, path, body.get("properties", {}), query


def is_whole(prop: dict) -> bool:
    return prop.get("type") == "integer"


def test_the_document_declares_every_range(client):
    spec = client.get("/api/v1/openapi.json").json
    declared = 0
    for method, path, body, query in operations(spec):
        numbers = [(n, p) for n, p in body.items() if is_whole(p)]
        numbers += [(f"{n}[]", p["items"]) for n, p in body.items() if p.get("type") == "array" and is_whole(p["items"])]
        numbers += [(p["name"], p["schema"]) for p in query if is_whole(p["schema"])]
        for name, prop in numbers:
            declared += 1
            assert "minimum" in prop and "maximum" in prop and prop["maximum"] <= MAX_ID, (method, path, name, prop)
    assert declared >= 20
    form_ids = spec["components"]["schemas"]["DestructionCreate"]["properties"]["form_ids"]
    assert form_ids["items"] == {"type": "integer", "format": "int32", "minimum": 1, "maximum": MAX_ID}


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "general" if m.group(1) in ("key", "business_type") else "1", path)


@pytest.mark.parametrize("number", OUT_OF_RANGE)
def test_an_out_of_range_number_in_any_body_or_query_is_a_422_naming_the_field(app, auth, number):
    """Every integer (and list of integers) the document declares, sent out of range: 422, the field named with a
    Chinese message. Bodies are checked before the view looks anything up, so path ids need not exist."""
    client = app.test_client()
    headers = auth("manager")
    spec = client.get("/api/v1/openapi.json").json
    tried = []
    for method, path, body, query in operations(spec):
        url = _fill(path)
        for name, prop in body.items():
            if is_whole(prop) or (prop.get("type") == "array" and is_whole(prop.get("items", {}))):
                value = number if is_whole(prop) else [1, number]
                r = client.open(url, method=method.upper(), headers=headers, json={name: value})
                tried.append((method, path, name))
                assert r.status_code == 422, (method, path, name, r.status_code, r.get_data(as_text=True)[:300])
                assert CJK.search(r.json["fields"][name]), (method, path, name, r.json)
        for param in query:
            if is_whole(param["schema"]):
                r = client.open(url, method=method.upper(), headers=headers, query_string={param["name"]: number})
                tried.append((method, path, param["name"]))
                assert r.status_code in (404, 422), (method, path, param["name"], r.status_code, r.get_data(as_text=True)[:300])
                if r.status_code == 422:
                    assert CJK.search(r.json.get("fields", {}).get(param["name"], "")), (method, path, param["name"], r.json)
    assert len(tried) >= 20


@pytest.mark.parametrize("value", [True, "12", 1.5, None, "全部"])
def test_an_id_must_be_a_whole_number(client, auth, value):
    r = client.post("/api/v1/holds", headers=auth("manager"), json={"form_id": value, "reason": "诉讼"})
    if value is None:  # no form named: the service asks for one of form and volume
        assert r.status_code == 422 and "二者选一" in r.json["fields"]["form_id"]
    else:
        assert r.status_code == 422 and "须为业务单编号" in r.json["fields"]["form_id"], r.json


def test_a_list_of_ids_names_the_entry_at_fault(client, auth):
    r = client.post("/api/v1/archive/filings", headers=auth("archivist"), json={"form_ids": [1, 2, 2**40]})
    assert r.status_code == 422
    assert r.json["fields"]["form_ids"].startswith("第 3 项: 须为业务单编号")
    r = client.post("/api/v1/archive/filings", headers=auth("archivist"), json={"form_ids": "1,2"})
    assert r.status_code == 422 and r.json["fields"]["form_ids"] == "须为业务单编号 (正整数) 的列表"


def test_numbers_in_range_still_reach_the_service(client, auth, submit_form):
    form = submit_form()
    r = client.post("/api/v1/holds", headers=auth("manager"), json={"form_id": MAX_ID, "reason": "诉讼"})
    assert r.status_code == 404 or r.status_code == 422 and "form_id" in r.json.get("fields", {}), r.json
    r = client.post("/api/v1/archive/filings", headers=auth("archivist"), json={"form_ids": [form["id"], MAX_ID]})
    assert r.status_code in (404, 409, 422) and r.status_code != 500


@pytest.mark.parametrize("number", [str(2**31), str(2**63), "9" * 30])
def test_out_of_range_ids_typed_into_pages_are_refused_not_500(app, number):
    """The same on pages, whose forms and query strings are text: an id beyond the columns is a message, or is
    ignored where it only picks what to show, never an overflow in the database."""
    from tests.webui.test_pages import csrf
    from tests.conftest import DEMO_PASSWORD

    def login(username):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf(page)})
        client.token = csrf(client.get("/inbox").get_data(as_text=True))
        return client

    archivist, inspector, manager = login("archivist"), login("inspector"), login("manager")
    posts = [(archivist, "/archive/custody/loans", {"volume_id": number, "borrower": "张三", "due_date": "2026-04-01"}),
             (archivist, "/archive/queue", {"form_id": number}),
             (archivist, "/archive/volumes/1/items", {"form_id": number}),
             (inspector, "/supervision/notices", {"department": "信贷部", "problem": "问题", "requirement": "要求",
                                                  "deadline": "2026-04-01T10:00", "finding_id": number})]
    for client, path, data in posts:
        r = client.post(path, data={**data, "csrf_token": client.token})
        assert r.status_code in (404, 422), (path, r.status_code, r.get_data(as_text=True)[:300])
    for path in (f"/procedures/internal_transfer?from={number}&to={number}",
                 f"/procedures/internal_transfer/heat?version={number}"):
        r = manager.get(path)
        assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:300])
