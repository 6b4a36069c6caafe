"""Form pages: fill a new form, see a form with its handover history and its diagram."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required

from engine.models import ProcessDefinition, ProcessInstance, WorkItem
from processes.errors import ValidationFailed
from processes.forms import service as forms
from processes.transfer import service as transfer

from ..auth import actor
from ..context import db, guichet, now
from ..permissions import ensure_can_view_form

bp = Blueprint("forms", __name__)


@bp.route("/forms")
@login_required
def index():
    """Recent forms of my department."""
    return render_template("forms.html", forms=forms.list_forms(db(), actor=actor()))


@bp.route("/forms/new", methods=["GET", "POST"])
@login_required
def new():
    """Fill a form on an active template; errors are shown next to their fields."""
    templates = forms.active_templates(db())
    if not templates:
        abort(404)
    chosen_id = request.values.get("template_id", type=int) or templates[0].template_id
    version = next((v for v in templates if v.template_id == chosen_id), templates[0])
    values, errors = {}, {}
    if request.method == "POST":
        values = {f["code"]: request.form.get(f["code"], "") for f in version.fields}
        submit = request.form.get("action") != "draft"
        services = guichet()
        try:
            form = forms.create_form(db(), services.runtime, services.config, actor=actor(),
                                     template_id=version.template_id, data=values, submit=submit, now=now())
        except ValidationFailed as exc:
            errors = exc.details["fields"]
            return render_template("form_new.html", templates=templates, version=version, values=values,
                                   errors=errors, message=exc.message), 422
        flash(_("业务单 %(number)s 已提交, 已移交下一环节", number=form.number) if submit
              else _("业务单 %(number)s 已保存为草稿", number=form.number))
        return redirect(url_for("forms.detail", form_id=form.id))
    return render_template("form_new.html", templates=templates, version=version, values=values, errors=errors)


@bp.route("/forms/<int:form_id>")
@login_required
def detail(form_id: int):
    """A form: its data, handover history, escalations and process diagram."""
    session = db()
    form = forms.get_form(session, form_id)
    ensure_can_view_form(session, actor(), form)
    open_items = []
    if form.process_instance_id:
        open_items = session.query(WorkItem).filter_by(instance_id=form.process_instance_id, status="open").all()
    return render_template("form_detail.html", form=form, handovers=transfer.handovers_of(session, form.id),
                           escalations=transfer.escalations_of(session, form.id), open_items=open_items, now=now())


@bp.route("/forms/<int:form_id>/submit", methods=["POST"])
@login_required
def submit(form_id: int):
    """Submit a draft."""
    services = guichet()
    form = forms.get_form(db(), form_id)
    forms.submit_form(db(), services.runtime, services.config, form=form, actor=actor(), now=now())
    flash(_("业务单 %(number)s 已提交, 已移交下一环节", number=form.number))
    return redirect(url_for("forms.detail", form_id=form.id))


@bp.route("/forms/<int:form_id>/diagram")
@login_required
def diagram(form_id: int):
    """The form's process diagram (XML) with its current and finished steps, for the bpmn-js viewer."""
    session = db()
    form = forms.get_form(session, form_id)
    ensure_can_view_form(session, actor(), form)
    if not form.process_instance_id:
        abort(404)
    instance = session.get(ProcessInstance, form.process_instance_id)
    definition = session.get(ProcessDefinition, instance.definition_id)
    current = sorted({i.task_name for i in session.query(WorkItem).filter_by(instance_id=instance.id, status="open",
                                                                             kind="task")})
    done = sorted({h.step for h in transfer.handovers_of(session, form.id) if h.status in ("completed", "returned")})
    return jsonify({"xml": definition.xml, "current": current, "done": done, "process": definition.key,
                    "version": definition.version, "status": instance.status})
