"""GET /api/v1/templates: the active templates with their fields."""
from __future__ import annotations

from flask_smorest import Blueprint

from processes.forms import service as forms
from processes.forms.schemas import TemplateReadSchema

from ..auth import require_bearer
from ..context import db

blp = Blueprint("api_templates", __name__, url_prefix="/api/v1/templates", description="业务单模板 · Templates")
blp.before_request(require_bearer)


@blp.route("", methods=["GET"])
@blp.response(200, TemplateReadSchema(many=True))
def list_templates():
    """Active templates, each with its ordered fields."""
    return [
        {"id": v.template_id, "code": v.template.code, "name": v.template.name,
         "business_type": v.template.business_type, "version": v.version, "fields": v.fields}
        for v in forms.active_templates(db())
    ]
