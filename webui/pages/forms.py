"""Form pages: fill a new form (or resume a draft), see a form with its history and diagram, reveal, correct."""
from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

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

from engine.errors import EngineError
from engine.models import ProcessDefinition, ProcessInstance, WorkItem
from processes.archive import service as archive
from processes.destruction import execution, retention
from processes.errors import Forbidden, ProcedureFailed, ValidationFailed
from processes.external import policy as external_policy
from processes.external import service as external
from processes.forms import amendments, attachments
from processes.forms import service as forms
from processes.forms.schemas import FIELD_TYPES
from processes.org import service as org
from processes.transfer import service as transfer

from ..auth import actor
from ..context import db, guichet, now
from ..downloads import attachment_response
from ..permissions import ensure_can_view_form, form_access
from . import queries as query_pages
from .task_panels import Panel, task_panel

bp = Blueprint("forms", __name__)


@bp.route("/forms")
@login_required
def index():
    """本部门业务单: forms my department filled or handled, newest first, a page at a time."""
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10000))
    found, more = transfer.department_forms(db(), actor=actor(), page=page)
    return render_template("forms.html", forms=found, page=page, more=more)


def _fill_page(templates, version, *, values=None, errors=None, message=None, draft=None, status=200,
               submission_key=None):
    # One token per filling: a double click or a resent POST carries the same one and finds the form it made.
    return render_template("form_new.html", templates=templates, version=version, values=values or {},
                           errors=errors or {}, message=message, draft=draft, field_types=FIELD_TYPES,
                           submission_key=submission_key or uuid.uuid4().hex), status


FILLING_ROLES = {"clerk", "handler", "head", "manager"}  # archive and inspection staff fill no forms


def _prefilled(version) -> dict:
    """A new form starts with what the page knows: 办理时间 is now, 经办人员 is the one filling it."""
    user, zone = actor(), ZoneInfo(guichet().config["app"]["timezone"])
    known = {"handled_at": now().astimezone(zone).strftime("%Y-%m-%d %H:%M"),
             "handled_by": user.display_name.split("(", 1)[0]}
    return {f["code"]: known[f["code"]] for f in version.fields if f["code"] in known}


def _already_done(form):
    """Where a repeated submission goes: the form the first one made."""
    flash(_("业务单 %(number)s 已提交, 重复的提交未再生成业务单", number=form.number) if form.status != "draft"
          else _("业务单 %(number)s 已保存为草稿", number=form.number))
    return redirect(url_for("forms.detail", form_id=form.id))


@bp.route("/forms/new", methods=["GET", "POST"])
@login_required
def new():
    """Fill a form on an active template; errors are shown next to their fields."""
    if actor().role not in FILLING_ROLES:
        raise Forbidden("业务单由业务部门填写; 您的岗位无需填写业务单")
    templates = forms.active_templates(db())
    if not templates:
        abort(404)
    # The general form is what a window fills most: it is the default, not whichever template sorts first.
    general = next((v for v in templates if v.template.code == "general"), templates[0])
    chosen_id = request.values.get("template_id", type=int) or general.template_id
    version = next((v for v in templates if v.template_id == chosen_id), general)
    if request.method == "GET":
        return _fill_page(templates, version, values=_prefilled(version))
    values = {f["code"]: request.form.get(f["code"], "") for f in version.fields}
    submit = request.form.get("action") != "draft"
    key = request.form.get("submission_key") or None
    files = _uploaded(version)
    services = guichet()
    try:
        earlier = forms.submitted_with(db(), actor=actor(), key=key) if key else None
        if earlier is not None:
            return _already_done(earlier)
        form = forms.create_form(db(), services.runtime, services.config, actor=actor(), template_id=version.template_id,
                                 data=values, submit=submit and not files, now=now(), submission_key=key)
        if files:  # files need the form (its data key) first: save as a draft, attach, then submit
            _attach(form, files)
            if submit:
                forms.submit_form(db(), services.runtime, services.config, form=form, actor=actor(), now=now())
    except ValidationFailed as exc:
        return _fill_page(templates, version, values=values, errors=exc.details["fields"], message=exc.message,
                          status=422, submission_key=key)
    except ProcedureFailed as exc:
        return _kept_as_draft(exc)
    flash(_("业务单 %(number)s 已提交, 已移交下一环节", number=form.number) if submit
          else _("业务单 %(number)s 已保存为草稿", number=form.number))
    return redirect(url_for("forms.detail", form_id=form.id))


@bp.route("/forms/<int:form_id>/edit", methods=["GET", "POST"])
@login_required
def edit(form_id: int):
    """Resume a draft: sensitive values are not sent back; left empty they keep what was saved."""
    form = forms.get_form(db(), form_id)
    if form.created_by != actor().username:
        abort(404)
    if form.status != "draft":  # submitted meanwhile (a double click): show it rather than a dead end
        return _already_done(form) if request.method == "POST" else redirect(url_for("forms.detail", form_id=form.id))
    version = form.template_version
    if request.method == "GET":
        values = {k: v for k, v in form.values.items() if k not in form.sensitive_fields}
        return _fill_page([version], version, values=values, draft=form)
    files = _uploaded(version)
    values = {f["code"]: request.form.get(f["code"], "") or (form.values.get(f["code"], "")
              if f.get("type") == "attachment" else "") for f in version.fields}
    submit = request.form.get("action") != "draft"
    services = guichet()
    try:
        forms.update_draft(db(), services.runtime, services.config, form=form, actor=actor(), data=values,
                           submit=submit and not files, now=now())
        if files:
            _attach(form, files)
            if submit:
                forms.submit_form(db(), services.runtime, services.config, form=form, actor=actor(), now=now())
    except ValidationFailed as exc:
        db().rollback()
        form = forms.get_form(db(), form_id)
        return _fill_page([form.template_version], form.template_version, values=values, errors=exc.details["fields"],
                          message=exc.message, draft=form, status=422)
    except ProcedureFailed as exc:
        return _kept_as_draft(exc)
    flash(_("业务单 %(number)s 已提交, 已移交下一环节", number=form.number) if submit
          else _("业务单 %(number)s 已保存为草稿", number=form.number))
    return redirect(url_for("forms.detail", form_id=form.id))


def _uploaded(version) -> dict:
    """The files chosen for the version's attachment fields."""
    codes = {f["code"] for f in version.fields if f.get("type") == "attachment"}
    return {code: f for code, f in request.files.items() if code in codes and f and f.filename}


def _attach(form, files: dict) -> None:
    for code, upload in files.items():
        attachments.add(db(), guichet().config, form=form, actor=actor(), field=code, filename=upload.filename,
                        content_type=upload.mimetype or "", content=upload.read(attachments.MAX_BYTES + 1), now=now())


@bp.route("/forms/<int:form_id>/attachments/<int:attachment_id>")
@login_required
def attachment(form_id: int, attachment_id: int):
    """Open an attachment (for those who may see the form's personal data; audited)."""
    form = forms.get_form(db(), form_id)
    found, content = attachments.open_file(db(), guichet().config, form=form, attachment_id=attachment_id,
                                           actor=actor(), now=now())
    return attachment_response(found.filename, found.content_type, content)


def _detail_page(form, *, revealed=None, errors=None, message=None, values=None, status=200):
    session, user = db(), actor()
    open_items = []
    if form.process_instance_id:
        open_items = session.query(WorkItem).filter_by(instance_id=form.process_instance_id, status="open").all()
    filing = archive.filing_of_form(session, form.id) if form.status == "closed" else None
    may_correct = form.status == "in_transfer" and (form.created_by == user.username or amendments.holds(session, user, form))
    return render_template(
        "form_detail.html", form=form, handovers=transfer.handovers_of(session, form.id),
        escalations=transfer.escalations_of(session, form.id), open_items=open_items, now=now(),
        corrections=amendments.corrections_of(session, guichet().config, form) if form.corrections else [],
        may_reveal=amendments.may_reveal(session, user, form), may_correct=may_correct, revealed=revealed or {},
        errors=errors or {}, message=message, values=values or {}, attachments=attachments.of_form(session, form),
        filing=filing, retention=retention.of_form(session, guichet().config, form.id, form.business_type, filing),
        external_transfers=external.of_form(session, form.id),
        may_send_out=external_policy.may_start(session, user, form),
    ), status


@bp.route("/forms/<int:form_id>")
@login_required
def detail(form_id: int):
    """A form: its current (masked) data, corrections, handover history, escalations and process diagram."""
    form = forms.get_form(db(), form_id)
    grant = form_access(db(), actor(), form, now())
    tombstone = execution.tombstone_of(db(), form.id)
    if tombstone is not None:
        return render_template("form_destroyed.html", form=form, tombstone=tombstone), 410
    if grant is not None:  # read under a query grant (R4.4.1): the stage's watermarked, read-only page
        return query_pages.granted_form_page(form, grant)
    return _detail_page(form)


@bp.route("/forms/<int:form_id>/reveal", methods=["POST"])
@login_required
def reveal(form_id: int):
    """Show one sensitive value on this page only, after a reason; written to the audit chain."""
    form = forms.get_form(db(), form_id)
    ensure_can_view_form(db(), actor(), form)
    field = request.form.get("field", "")
    try:
        shown = amendments.reveal(db(), guichet().config, form=form, actor=actor(), field=field,
                                  reason=request.form.get("reason", ""), now=now())
    except ValidationFailed as exc:
        problems = exc.details["fields"]
        if "reason" not in problems:
            raise
        return _detail_page(form, errors={f"reason-{field}": problems["reason"]}, status=422)
    return _detail_page(form, revealed={field: shown["value"]})


@bp.route("/forms/<int:form_id>/correct", methods=["POST"])
@login_required
def correct(form_id: int):
    """更正: append an amendment signed with the password."""
    services = guichet()
    form = forms.get_form(db(), form_id)
    ensure_can_view_form(db(), actor(), form)
    values = {k: request.form.get(k, "") for k in ("field", "new_value", "reason")}
    try:
        correction = amendments.correct(db(), services.config, form=form, actor=actor(), field=values["field"],
                                        new_value=values["new_value"], reason=values["reason"],
                                        password=request.form.get("password", ""), ph=org.hasher(services.config),
                                        now=now())
    except EngineError as exc:
        if exc.status != 422:
            raise
        db().rollback()
        form = forms.get_form(db(), form_id)
        errors = (exc.details or {}).get("fields", {})
        return _detail_page(form, errors=errors, message=exc.message, values=values, status=422)
    flash(_("已更正 (第 %(seq)s 号更正章)", seq=correction.seq))
    return redirect(url_for("forms.detail", form_id=form.id))


@bp.route("/forms/<int:form_id>/submit", methods=["POST"])
@login_required
def submit(form_id: int):
    """Submit a draft."""
    services = guichet()
    form = forms.get_form(db(), form_id)
    if form.status != "draft" and form.created_by == actor().username:
        return _already_done(form)
    try:
        forms.submit_form(db(), services.runtime, services.config, form=form, actor=actor(), now=now())
    except ValidationFailed as exc:  # an incomplete draft: back to its form, each message beside its field
        db().rollback()
        form = forms.get_form(db(), form_id)
        values = {k: v for k, v in form.values.items() if k not in form.sensitive_fields}
        return _fill_page([form.template_version], form.template_version, values=values, errors=exc.details["fields"],
                          message=exc.message, draft=form, status=422)
    except ProcedureFailed as exc:
        return _kept_as_draft(exc)
    flash(_("业务单 %(number)s 已提交, 已移交下一环节", number=form.number))
    return redirect(url_for("forms.detail", form_id=form.id))


def _kept_as_draft(exc: ProcedureFailed):
    """The procedure failed, not the clerk: the draft was kept (the request commits it) and its page says why."""
    flash(exc.message)
    return redirect(url_for("forms.detail", form_id=exc.details["form_id"]))


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


@task_panel("form")
def _task_panel(session, item, user) -> Panel:
    """A hop of a form: the form, its diagram and handovers; a 补正 step carries the return reason and the
    correction form."""
    from processes.forms.models import Form

    form = session.get(Form, item.ref_id)
    if form is None:
        return Panel(None)
    returned = transfer.returned_by(session, item) if item.kind == "task" else None
    may_correct = (returned is not None and item.status == "open" and form.status == "in_transfer"
                   and item.assignee == user.username)
    return Panel("_task_form.html", {"form": form, "returned": returned, "may_correct": may_correct,
                                     "handovers": transfer.handovers_of(session, form.id)})
