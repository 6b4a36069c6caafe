"""External-transfer pages: ask to send a form out, follow a transfer, issue the receipt link, upload a paper receipt."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from processes.errors import NotFound, ValidationFailed
from processes.external import package, policy, receipts, snapshot
from processes.external import service as external
from processes.forms import service as forms

from ..auth import actor
from ..context import db, guichet, now
from ..downloads import attachment_response, pdf_response
from .task_panels import Panel, task_panel

bp = Blueprint("external", __name__)


def _new_page(form, *, values=None, errors=None, message=None, status=200):
    config = guichet().config
    return render_template("external_new.html", form=form, values=values or {}, errors=errors or {}, message=message,
                           sensitive=external.sensitive_codes(form),
                           default_days=external.settings(config)["receipt_days"]), status


@bp.route("/forms/<int:form_id>/external-transfers/new", methods=["GET", "POST"])
@login_required
def new(form_id: int):
    """对外移交 申请 from a form page: recipient, purpose, what is sent, receipt deadline."""
    form = forms.get_form(db(), form_id)
    policy.ensure_may_start(db(), actor(), form)
    if request.method == "GET":
        return _new_page(form)
    whole = request.form.get("scope", "whole") == "whole"
    days = request.form.get("receipt_days", "").strip()
    data = {k: request.form.get(k, "") for k in ("recipient_unit", "recipient_name", "recipient_contact", "purpose",
                                                  "full_reason")}
    data.update(fields=None if whole else request.form.getlist("fields"), full_fields=request.form.getlist("full_fields"),
                receipt_days=int(days) if days.isdigit() else (None if not days else days))
    services = guichet()
    try:
        transfer = external.start(db(), services.runtime, services.config, form=form, actor=actor(), data=data, now=now())
    except ValidationFailed as exc:
        db().rollback()
        form = forms.get_form(db(), form_id)
        return _new_page(form, values={**data, "scope": "whole" if whole else "fields"},
                         errors=exc.details["fields"], message=exc.message, status=422)
    flash(_("对外移交申请已提交, 等待核对"))
    return redirect(url_for("external.detail", transfer_id=transfer.id))


def _transfer(transfer_id: int):
    transfer = external.get(db(), transfer_id)
    policy.ensure_may_view(db(), actor(), transfer)
    return transfer


def _detail_page(transfer, *, issued=None, errors=None, message=None, status=200):
    session, services, user = db(), guichet(), actor()
    item = external.receipt_item(session, services.runtime, transfer) if transfer.status in ("sent", "overdue") else None
    sent = transfer.snapshot_sha256 is not None
    form = forms.get_form(session, transfer.form_id)
    if form.status == "destroyed":  # what was sent went with the form (its key); the record and hashes stay
        preview = {"fields": [], "corrections": [], "attachments": [], "destroyed": True}
    elif sent:
        preview = snapshot.read(session, services.config, transfer)
    else:  # before the check passes: what would be sent now
        preview = snapshot.content_of(session, services.config, transfer, form, now()) \
            if not transfer.full_fields else _masked_preview(transfer, form)
    return render_template(
        "external_detail.html", transfer=transfer, status=transfer.status_at(now()), preview=preview, item=item,
        receipt=receipts.receipt_of(session, transfer), issued=issued, errors=errors or {}, message=message,
        may_send=policy.may_send(session, user, transfer, holder=item.assignee if item else None),
        verify_url=url_for("public.verify", sha256=transfer.snapshot_sha256, _external=True) if sent else None,
    ), status


def _masked_preview(transfer, form) -> dict:
    """Before approval, the page never shows sensitive values in full: they are listed as to be sent in full."""
    current = form.current_data
    return {"fields": [{"code": f["code"], "label": f.get("label", f["code"]), "value": current.get(f["code"]),
                        "masked": f["code"] not in transfer.full_fields and f["code"] in external.sensitive_codes(form),
                        "full": f["code"] in transfer.full_fields}
                       for f in form.template_version.fields if transfer.fields is None or f["code"] in transfer.fields],
            "corrections": [], "attachments": []}


@bp.route("/external-transfers/<int:transfer_id>")
@login_required
def detail(transfer_id: int):
    """A transfer: what is (or was) sent, its status, the snapshot hash, the receipt."""
    return _detail_page(_transfer(transfer_id))


@bp.route("/external-transfers/<int:transfer_id>/receipt-link", methods=["POST"])
@login_required
def issue_link(transfer_id: int):
    """Issue the receipt link and code: shown on this page once."""
    services = guichet()
    transfer = _transfer(transfer_id)
    issued = receipts.issue_link(db(), services.runtime, services.config, transfer=transfer, actor=actor(), now=now())
    url = url_for("public.receipt", token=issued.token, _external=True)
    response = Response(_detail_page(transfer, issued={"url": url, "code": issued.code,
                                                       "expires_at": issued.link.expires_at})[0])
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/external-transfers/<int:transfer_id>/revoke", methods=["POST"])
@login_required
def revoke(transfer_id: int):
    """Revoke the open receipt link."""
    count = receipts.revoke_link(db(), guichet().runtime, transfer=_transfer(transfer_id), actor=actor(), now=now())
    flash(_("签收链接已作废") if count else _("没有可作废的签收链接"))
    return redirect(url_for("external.detail", transfer_id=transfer_id))


@bp.route("/external-transfers/<int:transfer_id>/paper-receipt", methods=["POST"])
@login_required
def paper_receipt(transfer_id: int):
    """Upload the scan of the signed paper receipt."""
    services = guichet()
    transfer = _transfer(transfer_id)
    upload = request.files.get("file")
    try:
        receipts.paper_receipt(db(), services.runtime, services.config, transfer=transfer, actor=actor(),
                               filename=upload.filename if upload else "", content_type=upload.mimetype if upload else "",
                               content=upload.read(receipts.MAX_SCAN_BYTES + 1) if upload else b"", now=now())
    except ValidationFailed as exc:
        db().rollback()
        return _detail_page(_transfer(transfer_id), errors=exc.details["fields"], message=exc.message, status=422)
    flash(_("纸质签收凭证已上传, 移交已签收"))
    return redirect(url_for("external.detail", transfer_id=transfer_id))


@bp.route("/external-transfers/<int:transfer_id>/paper-receipt")
@login_required
def paper_receipt_scan(transfer_id: int):
    """The paper receipt's scan (audited)."""
    found, content = receipts.scan_of(db(), guichet().config, transfer=_transfer(transfer_id), actor=actor(), now=now())
    return attachment_response(found.scan_filename, found.scan_content_type, content)


@bp.route("/external-transfers/<int:transfer_id>/package.<fmt>")
@login_required
def package_download(transfer_id: int, fmt: str):
    """The package as PDF or JSON (audited)."""
    transfer = _transfer(transfer_id)
    url = url_for("public.verify", sha256=transfer.snapshot_sha256, _external=True) if transfer.snapshot_sha256 else ""
    if fmt == "pdf":
        return pdf_response(transfer, lambda _t: url)
    if fmt == "json":
        data = package.as_json(db(), guichet().config, transfer=transfer, actor=actor(), verify_url=url, now=now())
        return attachment_response(f"对外移交-WY{transfer.id:06d}.json", "application/json", data)
    raise NotFound("不支持的格式: 请选择 PDF 或 JSON")


@task_panel("external_transfer")
def _task_panel(session, item, user) -> Panel:
    """A step of an external transfer: what is sent to whom; the wait for the receipt offers no decision (only
    the receiving unit's receipt ends it)."""
    from processes.external.models import ExternalTransfer

    sending = session.get(ExternalTransfer, item.ref_id)
    if sending is None:
        return Panel(None)
    context = {"sending": sending}
    if item.task_name == external.RECEIPT_STEP:
        context["decisions"] = []
    return Panel("_task_external.html", context)
