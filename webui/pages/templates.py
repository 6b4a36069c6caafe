"""Template pages: the list, the designer (new template or a change as a new version), a template's versions."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from marshmallow import ValidationError

from processes.errors import ValidationFailed
from processes.forms.models import TemplateVersion
from processes.forms.schemas import (
    FIELD_TYPES,
    GENERAL_TEMPLATE_FIELDS,
    TemplateCreateSchema,
)
from processes.templates import codes
from processes.templates import service as templates

from ..auth import actor
from ..context import db, guichet, now
from .task_panels import Panel, task_panel

bp = Blueprint("templates", __name__)
STATUS = {"draft": "草稿", "in_review": "审批中", "active": "已启用", "superseded": "已被替代", "rejected": "已退回"}
BLANK_ROWS = 4


@bp.route("/templates")
@login_required
def index():
    """Every template with its newest version's status."""
    session = db()
    rows = [(t, templates.versions_of(session, t.id)) for t in templates.all_templates(session)]
    return render_template("templates.html", rows=rows, status=STATUS, may_design=actor().role in templates.DESIGNER_ROLES,
                           department=lambda t: templates.department_name(session, t))


def _rows_from_request() -> list[dict]:
    """The designer's field rows, in order; blank rows are skipped, blank codes made from the labels."""
    f = request.form
    rows = []
    for i, code in enumerate(f.getlist("code")):
        label = (f.getlist("label")[i:i + 1] or [""])[0].strip()
        if not code.strip() and not label:
            continue
        choices = (f.getlist("choices")[i:i + 1] or [""])[0]
        rows.append({"code": code.strip(), "label": label, "type": (f.getlist("type")[i:i + 1] or ["text"])[0],
                     "required": (f.getlist("required")[i:i + 1] or ["0"])[0] == "1",
                     "sensitive": (f.getlist("sensitive")[i:i + 1] or ["0"])[0] == "1",
                     "help": (f.getlist("help")[i:i + 1] or [""])[0].strip(),
                     "multiline": (f.getlist("multiline")[i:i + 1] or ["0"])[0] == "1",
                     "choices": [c.strip() for c in choices.replace("，", ",").split(",") if c.strip()]})
    return codes.fill_missing(rows)  # a code left blank is made from the label (pinyin), and can be edited


def _flatten(messages: dict, rows: list[dict]) -> dict:
    flat = {}
    for key, value in messages.items():
        if key == "fields" and isinstance(value, dict):
            for index, problems in value.items():
                code = rows[int(index)]["code"] if str(index).isdigit() and int(index) < len(rows) else index
                text = problems if isinstance(problems, list) else [f"{k}: {' '.join(v) if isinstance(v, list) else v}"
                                                                    for k, v in problems.items()]
                flat[f"fields.{code}"] = " ".join(text)
        else:
            flat[key] = " ".join(value) if isinstance(value, list) else str(value)
    return flat


def _designer(template=None, *, rows, name="", business_type="", note="", errors=None, message=None, status=200):
    padded = rows + [{} for _i in range(BLANK_ROWS)]
    return render_template("template_design.html", template=template, rows=padded, name=name,
                           business_type=business_type, note=note, errors=errors or {}, message=message,
                           field_types=FIELD_TYPES), status


def _save(template=None):
    rows = _rows_from_request()
    name, business_type = request.form.get("name", ""), request.form.get("business_type", "")
    note, submit = request.form.get("note", ""), request.form.get("action") != "draft"
    try:
        body = TemplateCreateSchema().load({"name": name if template is None else template.name,
                                            "business_type": business_type if template is None else template.business_type,
                                            "fields": rows, "submit": submit, "note": note})
        if template is None:
            version = templates.design(db(), guichet().runtime, actor=actor(), name=body["name"],
                                       business_type=body["business_type"], fields=body["fields"], submit=submit,
                                       note=note, now=now())
        else:
            version = templates.change(db(), guichet().runtime, template_id=template.id, actor=actor(),
                                       fields=body["fields"], submit=submit, note=note, now=now())
    except ValidationError as exc:
        return _designer(template, rows=rows, name=name, business_type=business_type, note=note,
                         errors=_flatten(exc.messages, rows), message=_("模板设计有误, 请按提示修改"), status=422)
    except ValidationFailed as exc:
        db().rollback()
        return _designer(template, rows=rows, name=name, business_type=business_type, note=note,
                         errors=exc.details["fields"], message=exc.message, status=422)
    flash(_("模板已提交审批: 部门负责人审核后由公司管理层批准") if submit else _("模板已保存为草稿"))
    return redirect(url_for("templates.detail", template_id=version.template_id))


@bp.route("/templates/new", methods=["GET", "POST"])
@login_required
def new():
    """模板设计: the R4.1.1 fields come filled in; add the business's own fields below them."""
    if request.method == "POST":
        return _save()
    return _designer(rows=[dict(f) for f in GENERAL_TEMPLATE_FIELDS])


@bp.route("/templates/<int:template_id>/versions/new", methods=["GET", "POST"])
@login_required
def new_version(template_id: int):
    """A change to a template: edit the newest version's fields and send them through approval again."""
    template = templates.get_template(db(), template_id)
    if request.method == "POST":
        return _save(template)
    latest = templates.versions_of(db(), template.id)[0]
    return _designer(template, rows=[dict(f) for f in latest.fields])


@bp.route("/templates/<int:template_id>")
@login_required
def detail(template_id: int):
    """A template's versions (every status stays readable) with their approval records."""
    session = db()
    template = templates.get_template(session, template_id)
    versions = templates.versions_of(session, template.id)
    return render_template("template_detail.html", template=template, versions=versions, status=STATUS,
                           reviews=templates.reviews_of(session, [v.id for v in versions]),
                           department=templates.department_name(session, template), field_types=FIELD_TYPES,
                           may_change=actor().role in templates.DESIGNER_ROLES)


@bp.route("/templates/versions/<int:version_id>")
@login_required
def version(version_id: int):
    """A version by its id (what approval items refer to): its template's page."""
    found = db().get(TemplateVersion, version_id)
    if found is None:
        abort(404)
    return redirect(url_for("templates.detail", template_id=found.template_id) + f"#v{found.version}")


@bp.route("/templates/<int:template_id>/versions/<int:number>/submit", methods=["POST"])
@login_required
def submit(template_id: int, number: int):
    """Send a draft version into approval."""
    version = templates.get_version(db(), template_id, number)
    templates.submit_version(db(), guichet().runtime, version=version, actor=actor(), now=now())
    flash(_("模板已提交审批: 部门负责人审核后由公司管理层批准"))
    return redirect(url_for("templates.detail", template_id=template_id))


@task_panel("template_version")
def _task_panel(session, item, user) -> Panel:
    """A template review: the version's fields and its reviews so far."""
    version = session.get(TemplateVersion, item.ref_id)
    if version is None:
        return Panel(None)
    return Panel("_task_template.html", {"version": version,
                                         "reviews": templates.reviews_of(session, [version.id])[version.id]})
