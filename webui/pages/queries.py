"""Query approval pages: apply for a query, register an external request, follow it, revoke, read the log (R4.4)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import EngineError
from processes.errors import Forbidden, ValidationFailed
from processes.forms import service as forms
from processes.queries import escalation, external, policy, prints, scans
from processes.queries import service as queries
from processes.queries.models import AUTHORITIES, STATUSES

from ..auth import actor
from ..context import db, guichet, now, writing
from ..downloads import attachment_response
from .task_panels import Panel, task_panel

bp = Blueprint("queries", __name__)


@bp.route("/queries")
@login_required
def index():
    """My applications, and those I approve or oversee."""
    session, user = db(), actor()
    rows = [(r, queries.status(r, queries.grant_of(session, r), now())) for r in queries.visible(session, user)]
    return render_template("queries.html", rows=rows, statuses=STATUSES,
                           may_register=policy.may_register_external(user))


def _numbers(text: str) -> tuple[list[int], list[str]]:
    """Form ids for the form numbers typed (separated by spaces, commas or new lines), and the unknown numbers."""
    wanted = [n for n in text.replace(",", " ").replace("，", " ").replace("、", " ").split() if n]
    found = queries.ids_by_number(db(), wanted)
    return [found[n] for n in wanted if n in found], [n for n in wanted if n not in found]


def _unknown(numbers: list[str]) -> dict:
    return {"form_ids": f"业务单 {'、'.join(numbers)} 不存在或已销毁"} if numbers else {}


def _field_choices() -> list[tuple[str, str, bool]]:
    """(code, label, sensitive) of every field of the active templates, each code once."""
    from processes.forms.schemas import is_sensitive

    seen = {}
    for version in forms.active_templates(db()):
        for f in version.fields:
            seen.setdefault(f["code"], (f["code"], f["label"], is_sensitive(f)))
    return list(seen.values())


@bp.route("/queries/new", methods=["GET", "POST"])
@login_required
def new():
    """业务单查询申请表: forms by number or by a search, purpose, fields, days, copy."""
    search = {k: request.args.get(k, "").strip() for k in ("business_type", "customer_name", "date_from", "date_to")}
    found = queries.search(db(), **search) if any(search.values()) else []
    if request.method == "GET":
        return _new_page(values={"numbers": " ".join(f.number for f in found)}, search=search, found=found)
    values = {k: request.form.get(k, "") for k in ("numbers", "purpose", "days")}
    values["fields"], values["copy"] = request.form.getlist("fields"), request.form.get("copy") == "1"
    ids, unknown = _numbers(values["numbers"])
    try:
        days = int(values["days"]) if values["days"].strip().isdigit() else values["days"]
        services = guichet()
        # An unknown number refuses the whole application (form_ids None), with every other field's message too.
        created = queries.file_internal(db(), services.runtime, services.config, actor=actor(),
                                        form_ids=None if unknown else ids or None, fields=values["fields"],
                                        purpose=values["purpose"], days=days, copy=values["copy"], now=now())
    except ValidationFailed as exc:
        db().rollback()
        return _new_page(values=values, errors={**exc.details["fields"], **_unknown(unknown)}, message=exc.message,
                         status=422)
    flash(_("查询申请 %(number)s 已提交审批", number=created.number))
    return redirect(url_for("queries.detail", request_id=created.id))


def _new_page(*, values, errors=None, message=None, search=None, found=(), status=200):
    return render_template("query_new.html", values=values, errors=errors or {}, message=message, search=search or {},
                           found=found, field_choices=_field_choices(), max_days=queries.MAX_DAYS), status


@bp.route("/queries/external/new", methods=["GET", "POST"])
@login_required
def new_external():
    """登记外部查询: authority, officials, legal basis, document number, forms, fields, deadline."""
    if not policy.may_register_external(actor()):
        raise Forbidden("只有窗口及业务人员可以登记外部查询")
    if request.method == "GET":
        return _external_page(values={})
    values = {k: request.form.get(k, "") for k in ("authority", "legal_basis", "document_number", "purpose",
                                                    "due_date", "numbers")}
    values["fields"] = request.form.getlist("fields")
    names, numbers = request.form.getlist("official_name"), request.form.getlist("official_id")
    officials = [{"name": n, "id_number": i} for n, i in zip(names, numbers) if n.strip() or i.strip()]
    ids, unknown = _numbers(values["numbers"])
    try:
        services = guichet()
        created = external.file_external(db(), services.runtime, services.config, actor=actor(), now=now(),
                                         data={**values, "form_ids": None if unknown else ids or None,
                                               "officials": officials})
    except ValidationFailed as exc:
        db().rollback()
        return _external_page(values=values, errors={**exc.details["fields"], **_unknown(unknown)},
                              message=exc.message, status=422)
    try:
        for upload in request.files.getlist("scans"):
            if upload and upload.filename:
                scans.add(db(), services.config, request=created, actor=actor(), filename=upload.filename,
                          content_type=upload.mimetype or "", content=upload.read(scans.MAX_BYTES + 1), now=now())
    except ValidationFailed as exc:
        db().rollback()  # nothing is registered without the scans that came with it
        return _external_page(values=values, errors={"scans": exc.details["fields"].get("file", exc.message)},
                              message=exc.message, status=422)
    flash(_("外部查询 %(number)s 已登记, 已报上级审阅", number=created.number))
    return redirect(url_for("queries.detail", request_id=created.id))


def _external_page(*, values, errors=None, message=None, status=200):
    return render_template("query_external_new.html", values=values, errors=errors or {}, message=message,
                           field_choices=_field_choices(), authorities=AUTHORITIES), status


def _visible(request_id: int):
    found = queries.get(db(), request_id)
    policy.ensure_may_see(db(), actor(), found)
    return found


@bp.route("/queries/<int:request_id>")
@login_required
def detail(request_id: int):
    """An application: what was asked, each decision, the grant, the access log (for those who may read it)."""
    session, user = db(), actor()
    found = _visible(request_id)
    given = queries.grant_of(session, found)
    state = queries.status(found, given, now())
    log = queries.access_log(session, found) if policy.may_read_access_log(session, user, found) else None
    named = queries.forms_of(session, found)
    return render_template(
        "query_detail.html", query=found, grant=given, state=state, statuses=STATUSES,
        decisions=queries.decisions_of(session, found), forms=named, log=log,
        field_labels=queries.field_labels(named, found.fields), form_numbers={f.id: f.number for f in named},
        labels_of=lambda codes: queries.field_labels(named, codes),
        may_revoke=state == "approved" and given is not None and policy.may_revoke(session, user, found),
        live=state == "approved" and given is not None and given.grantee == user.username,
        officials=external.officials_of(session, found) if found.kind == "external" else [],
        handovers=external.handovers_of(session, found) if found.kind == "external" else [],
        scans=scans.scans_of(session, found) if found.kind == "external" else [],
        may_disclose=found.kind == "external" and state == "approved" and policy.may_handle_disclosure(session, user,
                                                                                                     found))


@bp.route("/queries/<int:request_id>/revoke", methods=["POST"])
@login_required
def revoke(request_id: int):
    """Revoke the grant now."""
    queries.revoke(db(), request=_visible(request_id), actor=actor(), now=now())
    flash(_("查询授权已撤销"))
    return redirect(url_for("queries.detail", request_id=request_id))


@bp.route("/queries/<int:request_id>/forms/<int:form_id>/pdf")
@login_required
def form_pdf(request_id: int, form_id: int):
    """A watermarked print of a form under the grant (only with the copy right)."""
    writing()  # each print is logged
    pdf, name = prints.form_pdf(db(), guichet().config, request=_visible(request_id), form_id=form_id, actor=actor(),
                                now=now())
    return attachment_response(name, "application/pdf", pdf)


@bp.route("/queries/<int:request_id>/disclosure.<fmt>")
@login_required
def disclosure(request_id: int, fmt: str):
    """The disclosure package of an approved external request (PDF or JSON)."""
    if fmt not in ("pdf", "json"):
        abort(404)
    writing()  # each download is audited
    content, kind, name = external.package_files(db(), guichet().config, _visible(request_id), actor=actor(),
                                                 now=now(), fmt=fmt)
    return attachment_response(name, kind, content)


@bp.route("/queries/<int:request_id>/scans/<int:scan_id>")
@login_required
def scan(request_id: int, scan_id: int):
    """Open a scan of the authority's documents (audited)."""
    writing()  # each opening is audited
    found, content = scans.open_scan(db(), guichet().config, request=_visible(request_id), scan_id=scan_id,
                                     actor=actor(), now=now())
    return attachment_response(found.filename, found.content_type, content)


@bp.route("/queries/<int:request_id>/handover", methods=["POST"])
@login_required
def handover(request_id: int):
    """Record the hand-over of the disclosure package."""
    try:
        external.record_handover(db(), guichet().config, request=_visible(request_id), actor=actor(),
                                 received_by=request.form.get("received_by", ""), note=request.form.get("note", ""),
                                 now=now())
    except EngineError as exc:
        if exc.status != 422:
            raise
        flash(exc.details.get("fields", {}).get("received_by") or exc.message)
        db().rollback()
        return redirect(url_for("queries.detail", request_id=request_id))
    flash(_("已登记交付"))
    return redirect(url_for("queries.detail", request_id=request_id))


@bp.route("/queries/escalations/<item_id>/urge", methods=["POST"])
@login_required
def urge(item_id: str):
    """催办 a late approval step."""
    escalation.urge(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())
    flash(_("已催办"))
    return redirect(url_for("tasks.detail", item_id=item_id))


@bp.route("/queries/escalations/<item_id>/take-over", methods=["POST"])
@login_required
def take_over(item_id: str):
    """接办 a late approval step: it moves to the superior's inbox."""
    step = escalation.take_over(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())
    flash(_("已接办, 该事项已转入您的待办"))
    return redirect(url_for("tasks.detail", item_id=step.id))


def granted_form_page(form, grant):
    """The form page under a query grant (called by the forms page when the form is not the reader's own)."""
    links = {_("返回查询申请"): url_for("queries.detail", request_id=grant.request_id)}
    if grant.copy:
        links[_("打印 / 下载 PDF")] = url_for("queries.form_pdf", request_id=grant.request_id, form_id=form.id)
    html = prints.form_page(db(), guichet().config, form=form, given=grant, actor=actor(), now=now(), links=links)
    return html, 200, {"Cache-Control": "no-store"}


@task_panel("query_request")
def _task_panel(session, item, user) -> Panel:
    """An approval step of a query: what is asked, of which forms and fields, with the authority's documents."""
    from processes.queries.models import QueryRequest

    query = session.get(QueryRequest, item.ref_id)
    if query is None:
        return Panel(None)
    query_forms = queries.forms_of(session, query)
    return Panel("_task_query.html", {"query": query, "query_forms": query_forms,
                                      "query_field_labels": queries.field_labels(query_forms, query.fields),
                                      "query_scans": scans.scans_of(session, query)})
