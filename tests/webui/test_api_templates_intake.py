"""The template, intake and audit routes in the OpenAPI document, listing every template, deploy audit from the CLI."""
from __future__ import annotations

from click.testing import CliRunner

from engine.config import ROOT
from webui.cli import main


def test_new_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/templates", "/api/v1/templates/{template_id}", "/api/v1/templates/{template_id}/versions",
                 "/api/v1/templates/{template_id}/versions/{number}/submit", "/api/v1/forms/{form_id}/reveal",
                 "/api/v1/forms/{form_id}/corrections", "/api/v1/audit"):
        assert path in paths, path
    assert "post" in paths["/api/v1/templates"] and "put" in paths["/api/v1/forms/{form_id}"]


def test_list_every_template_with_its_newest_version(client, auth):
    fields = client.get("/api/v1/templates", headers=auth("clerk")).json[0]["fields"]
    draft = client.post("/api/v1/templates", headers=auth("head"),
                        json={"name": "挂失申请", "business_type": "挂失", "fields": fields, "submit": False})
    assert draft.status_code == 201 and draft.json["department"] == "信贷部"
    assert [t["name"] for t in client.get("/api/v1/templates", headers=auth("clerk")).json] == ["通用业务单"]
    listed = client.get("/api/v1/templates", headers=auth("clerk"), query_string={"all": "true"}).json
    assert {(t["name"], t["status"]) for t in listed} == {("通用业务单", "active"), ("挂失申请", "draft")}
    # a clerk cannot fill on a draft template, nor submit someone else's draft
    r = client.post("/api/v1/forms", headers=auth("clerk"), json={"template_id": draft.json["id"], "data": {}})
    assert r.status_code == 404
    assert client.post(f"/api/v1/templates/{draft.json['id']}/versions/1/submit",
                       headers=auth("clerk")).status_code == 403
    r = client.post("/api/v1/templates", headers=auth("head"), json={"name": "挂失申请", "business_type": "挂失",
                                                                     "fields": fields})
    assert r.status_code == 422 and "name" in r.json["fields"]


def test_cli_deploy_writes_an_audit_event(tmp_path):
    env = {"GUICHET_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "GUICHET_APP_INSTANCE_PATH": str(tmp_path)}
    invoke = lambda *args: CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)  # noqa: E731
    invoke("migrate")
    assert "template_approval v1 (新版本 / new version)" in invoke("deploy").output
    invoke("deploy")  # unchanged: no new version, no new event
    verified = invoke("audit", "verify")
    shipped = len(list((ROOT / "bpmn").glob("*.bpmn")))
    assert verified.exit_code == 0 and f"intact: {shipped} events" in verified.output
