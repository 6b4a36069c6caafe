"""Procedures over HTTP: processes, versions, validation, deployment, comparison, instances."""
from __future__ import annotations

from flask import Response, jsonify, request
from flask_smorest import Blueprint

from processes.errors import Invalid
from processes.procedures import service as procedures

from ..auth import actor, require_bearer
from ..context import db, guichet, now
from .schemas import LIST_OF_OBJECTS, OBJECT, CompareQuerySchema, ProcessSchema, VersionSchema, documented

VERSION = {"type": "object", "properties": {k: {"type": t} for k, t in (
    ("key", "string"), ("version", "integer"), ("name", "string"), ("sha256", "string"), ("deployed_by", "string"),
    ("deployed_at", "string"))}}
PENDING = {"type": "object", "properties": {"status": {"type": "string"}, "request_id": {"type": "integer"},
                                            "message": {"type": "string"}}}


def _deploy_responses() -> dict:
    responses = {}
    for status, schema, text in ((200, VERSION, "与最新版本相同, 未新建版本 · unchanged"),
                                 (201, VERSION, "已部署为新版本 · deployed"),
                                 (202, PENDING, "待另一位管理层成员批准 · waiting for approval")):
        responses.update(documented(status, schema, text)["responses"])
    return {"responses": responses}

blp = Blueprint("api_processes", __name__, url_prefix="/api/v1", description="流程管理 · Procedures")
blp.before_request(require_bearer)
XML_BODY = {"requestBody": {"required": True, "content": {"application/xml": {"schema": {"type": "string"}}}}}
NOTE = {"parameters": [{"in": "query", "name": "note", "required": True, "schema": {"type": "string", "maxLength": 2000},
                        "description": "变更说明: 改了什么、为什么改 · change note (what changes and why)"}]}


def _xml_body() -> str:
    raw = request.get_data(cache=False)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("流程图须为 UTF-8 编码的 BPMN XML", code="invalid_bpmn") from None


@blp.route("/processes", methods=["GET"])
@blp.response(200, ProcessSchema(many=True))
def list_processes():
    """Every process with its newest version and running instances."""
    procedures.ensure_can_view(actor())
    return procedures.list_processes(db())


@blp.route("/processes/<key>/versions", methods=["GET"])
@blp.response(200, VersionSchema(many=True))
def versions(key):
    """A process's versions, newest first."""
    procedures.ensure_can_view(actor())
    return procedures.versions_of(db(), key)


@blp.route("/processes/<key>/versions/<int:version>", methods=["GET"])
@blp.doc(responses={"200": {"content": {"application/xml": {"schema": {"type": "string"}}}}})
def version_xml(key, version):
    """One version's BPMN XML."""
    procedures.ensure_can_view(actor())
    return Response(procedures.get_version(db(), key, version).xml, mimetype="application/xml")


@blp.route("/processes/<key>/validate", methods=["POST"])
@blp.doc(**XML_BODY)
@blp.doc(**documented(200, {"type": "object", "properties": {"valid": {"type": "boolean"}, "problems": LIST_OF_OBJECTS}},
                      "可以部署 · can be deployed"))
def validate(key):
    """Check a diagram without deploying it: 200 when it can be deployed, 422 with each problem on its element."""
    procedures.ensure_can_view(actor())
    problems = procedures.validate(db(), guichet().runtime, key, _xml_body())
    if problems:
        return _problems(problems)
    return {"valid": True, "problems": []}


@blp.route("/processes/<key>/versions", methods=["POST"])
@blp.doc(**XML_BODY)
@blp.doc(**NOTE)
@blp.doc(**_deploy_responses())
def deploy(key):
    """Deploy a diagram as the newest version (201); the same as the newest makes no version (200); with four-eyes
    deployment on, it waits for a second manager (202)."""
    services = guichet()
    outcome = procedures.deploy(db(), services.runtime, services.config, key=key, xml=_xml_body(),
                                note=request.args.get("note"), actor=actor(), now=now())
    return _outcome(outcome)


@blp.route("/processes/<key>/versions/<int:version>/rollback", methods=["POST"])
@blp.doc(**NOTE)
@blp.doc(**_deploy_responses())
def rollback(key, version):
    """Deploy an earlier version again as the newest."""
    services = guichet()
    outcome = procedures.rollback(db(), services.runtime, services.config, key=key, version=version,
                                  note=request.args.get("note"), actor=actor(), now=now())
    return _outcome(outcome)


@blp.route("/processes/<key>/compare", methods=["GET"])
@blp.arguments(CompareQuerySchema(), location="query")
@blp.doc(**documented(200, OBJECT, "新增、删除和修改的元素 · elements added, removed, changed"))
def compare(query, key):
    """Elements added, removed and changed between ?from=N and ?to=M."""
    procedures.ensure_can_view(actor())
    return procedures.compare(db(), key, query["older"], query["newer"])


@blp.route("/processes/<key>/stats", methods=["GET"])
@blp.doc(**documented(200, {"anyOf": [OBJECT, LIST_OF_OBJECTS]}, "各环节的待办数与平均用时 · per step"))
def stats(key):
    """Per step: items waiting now and average time spent (the heat map)."""
    procedures.ensure_can_view(actor())
    return procedures.step_stats(db(), key, now())


@blp.route("/instances/<int:instance_id>", methods=["GET"])
@blp.doc(**documented(200, OBJECT, "流程实例 · the instance"))
def instance(instance_id):
    """An instance: process key and version, state, current steps, path with times."""
    procedures.ensure_can_view(actor())
    view = procedures.instance_view(db(), instance_id)
    view.pop("xml")
    for step in view["path"]:
        for k in ("started_at", "ended_at"):
            step[k] = step[k].isoformat() if step[k] else None
    for k in ("started_at", "ended_at"):
        view[k] = view[k].isoformat() if view[k] else None
    return view


def _outcome(outcome):
    """201 with a new version, 200 when nothing changed, 202 when a second manager must approve it first."""
    if outcome.request is not None:
        return {"status": "pending_approval", "request_id": outcome.request.id,
                "message": "已提交部署审批, 待另一位管理层成员批准"}, 202
    return _version(outcome.definition), 201 if outcome.created else 200


def _version(definition) -> dict:
    return {"key": definition.key, "version": definition.version, "name": definition.name,
            "sha256": definition.sha256, "deployed_by": definition.deployed_by,
            "deployed_at": definition.deployed_at.isoformat()}


def _problems(problems):
    return jsonify({"code": "invalid_bpmn", "message": "流程图未通过校验", "problems": problems}), 422
