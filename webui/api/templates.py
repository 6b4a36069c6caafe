"""Templates: the active ones for filling, design (POST), changes as new versions, every version readable."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from processes.forms import service as forms
from processes.forms.schemas import (
    TemplateCreateSchema,
    TemplateReadSchema,
    TemplateVersionCreateSchema,
)
from processes.templates import service as templates

from ..auth import actor, require_bearer
from ..context import db, guichet, now

blp = Blueprint("api_templates", __name__, url_prefix="/api/v1/templates", description="业务单模板 · Templates")
blp.before_request(require_bearer)


class ReviewReadSchema(Schema):
    """模板审批记录."""

    step = fields.String()
    step_label = fields.String()
    decision = fields.String()
    comment = fields.String(allow_none=True)
    decided_by = fields.String()
    decided_at = fields.DateTime()


class VersionReadSchema(Schema):
    """One version of a template, whatever its status, with its approval records."""

    version = fields.Integer()
    status = fields.String()
    note = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    activated_at = fields.DateTime(allow_none=True)
    process_instance_id = fields.Integer(allow_none=True)
    reviews = fields.List(fields.Nested(ReviewReadSchema))
    fields = fields.List(fields.Dict())


class TemplateDetailSchema(Schema):
    """A template with every version, newest first."""

    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    business_type = fields.String()
    department = fields.String()
    versions = fields.List(fields.Nested(VersionReadSchema))


class TemplateQuerySchema(Schema):
    """GET /templates: `all=true` lists every template (any status), else the active ones."""

    all = fields.Boolean(load_default=False)


def _detail(template) -> dict:
    session = db()
    versions = templates.versions_of(session, template.id)
    reviews = templates.reviews_of(session, [v.id for v in versions])
    return {"id": template.id, "code": template.code, "name": template.name, "business_type": template.business_type,
            "department": templates.department_name(session, template),
            "versions": [{**{k: getattr(v, k) for k in ("version", "status", "fields", "note", "created_by", "created_at",
                                                        "submitted_at", "activated_at", "process_instance_id")},
                          "reviews": reviews[v.id]} for v in versions]}


@blp.route("", methods=["GET"])
@blp.arguments(TemplateQuerySchema(), location="query")
@blp.response(200, TemplateReadSchema(many=True))
def list_templates(query):
    """Active templates, each with its ordered fields; with all=true every template's newest version."""
    session = db()
    if query["all"]:
        rows = [templates.versions_of(session, t.id)[0] for t in templates.all_templates(session)]
    else:
        rows = forms.active_templates(session)
    return [
        {"id": v.template_id, "code": v.template.code, "name": v.template.name, "business_type": v.template.business_type,
         "version": v.version, "status": v.status, "department": templates.department_name(session, v.template),
         "fields": v.fields}
        for v in rows
    ]


@blp.route("", methods=["POST"])
@blp.arguments(TemplateCreateSchema())
@blp.response(201, TemplateDetailSchema)
def create(body):
    """Design a template (模板设计); "submit": true sends version 1 to the department head and management."""
    version = templates.design(db(), guichet().runtime, actor=actor(), name=body["name"],
                               business_type=body["business_type"], fields=body["fields"], submit=body["submit"],
                               note=body["note"], now=now())
    return _detail(version.template)


@blp.route("/<int:template_id>", methods=["GET"])
@blp.response(200, TemplateDetailSchema)
def read(template_id):
    """A template with every version (rejected and superseded ones too) and their approval records."""
    return _detail(templates.get_template(db(), template_id))


@blp.route("/<int:template_id>/versions", methods=["POST"])
@blp.arguments(TemplateVersionCreateSchema())
@blp.response(201, TemplateDetailSchema)
def new_version(body, template_id):
    """A change to a template: a new version through the same approval."""
    version = templates.change(db(), guichet().runtime, template_id=template_id, actor=actor(), fields=body["fields"],
                               submit=body["submit"], note=body["note"], now=now())
    return _detail(version.template)


@blp.route("/<int:template_id>/versions/<int:number>/submit", methods=["POST"])
@blp.response(200, TemplateDetailSchema)
def submit(template_id, number):
    """Send a draft version into approval."""
    version = templates.get_version(db(), template_id, number)
    templates.submit_version(db(), guichet().runtime, version=version, actor=actor(), now=now())
    return _detail(version.template)
