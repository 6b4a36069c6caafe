"""Archive pages (档案管理): the archive list, 待归档, volumes, paper custody and 存储安全 (storage security)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from processes.archive import backups, custody, integrity, policy, volumes
from processes.archive import service as archive
from processes.archive.models import RETENTION_LABELS
from processes.errors import ValidationFailed
from processes.inputs import id_or_none
from processes.org import service as org

from ..api.archive import archive_filter, int_arg
from ..auth import actor
from ..context import db, guichet, now
from ..downloads import attachment_response
from .task_panels import Panel, task_panel

bp = Blueprint("archive", __name__, url_prefix="/archive")


@bp.app_template_filter("archive_date")
def archive_date(value) -> str:
    """A UTC time as the business date (a list of thousands of rows formats it cheaply, without Babel)."""
    return value.astimezone(ZoneInfo(guichet().config["app"]["timezone"])).strftime("%Y-%m-%d") if value else ""


def _form_ids() -> list:
    ids = request.form.getlist("form_id")
    if not all(i.isdigit() for i in ids):
        raise ValidationFailed({"form_ids": "须为业务单编号"})
    return [int(i) for i in ids]


@bp.route("")
@login_required
def index():
    """The archive list: filters and keyset paging (下一页 continues before the last id shown)."""
    policy.ensure_reader(actor())
    config = guichet().config
    items, next_before = archive.list_filings(db(), archive_filter(), before_id=int_arg("before"),
                                              limit=config["archive"]["page_size"])
    names = {username: org.display_name(db(), username) for username in {f.responsible for f in items}}
    return render_template("archive/index.html", items=items, next_before=next_before, args=request.args, names=names,
                           facets=archive.facets(db(), config),
                           labels={code: _(label) for code, label in RETENTION_LABELS.items()})


@bp.route("/queue")
@login_required
def queue():
    """待归档: closed forms waiting for their 档号."""
    policy.ensure_reader(actor())
    return render_template("archive/queue.html", forms=archive.queue(db()), may_work=policy.may_work(actor()))


@bp.route("/queue", methods=["POST"])
@login_required
def file_selected():
    """File the forms ticked on the queue."""
    filings = archive.file_forms(db(), guichet().config, actor=actor(), form_ids=_form_ids(), now=now())
    flash(_("已归档 %(n)s 份: %(codes)s", n=len(filings), codes="、".join(f.archival_code for f in filings[:5])
            + (" …" if len(filings) > 5 else "")))
    return redirect(url_for("archive.queue"))


@bp.route("/volumes")
@login_required
def volume_list():
    """Volumes, newest first, and the form to open one."""
    policy.ensure_reader(actor())
    return render_template("archive/volumes.html", volumes=volumes.list_volumes(db()), may_work=policy.may_work(actor()),
                           facets=archive.facets(db(), guichet().config))


@bp.route("/volumes", methods=["POST"])
@login_required
def volume_create():
    """立卷."""
    f = request.form
    year = f.get("year", "")
    volume = volumes.create_volume(db(), actor=actor(), title=f.get("title", ""), business_type=f.get("business_type", ""),
                                   year=int(year) if year.isdigit() else year, now=now())
    return redirect(url_for("archive.volume", volume_id=volume.id))


@bp.route("/volumes/<int:volume_id>")
@login_required
def volume(volume_id: int):
    """A volume: its items, what may still go in, its place and moves, its loans."""
    policy.ensure_reader(actor())
    found = volumes.get_volume(db(), volume_id)
    candidates = []
    if found.status == "open":
        candidates, _more = archive.list_filings(db(), archive.ArchiveFilter(year=found.year,
                                                                             business_type=found.business_type), limit=200)
        candidates = [c for c in candidates if c.volume_id is None]
    return render_template("archive/volume.html", volume=found, items=volumes.items_of(db(), found),
                           pages=volumes.page_count(db(), found), candidates=candidates,
                           moves=custody.movements(db(), found), rooms=custody.rooms(db()),
                           loans=custody.loans(db(), volume_id=found.id),
                           sensitive=custody.holds_personal_data(db(), found), may_work=policy.may_work(actor()))


@bp.route("/volumes/<int:volume_id>/items", methods=["POST"])
@login_required
def volume_add(volume_id: int):
    """组卷."""
    found = volumes.get_volume(db(), volume_id)
    added = volumes.add_items(db(), actor=actor(), volume=found, form_ids=_form_ids(), now=now())
    flash(_("本卷现有 %(n)s 件", n=len(added)))
    return redirect(url_for("archive.volume", volume_id=volume_id))


@bp.route("/volumes/<int:volume_id>/close", methods=["POST"])
@login_required
def volume_close(volume_id: int):
    """装订."""
    volumes.close_volume(db(), actor=actor(), volume=volumes.get_volume(db(), volume_id), now=now())
    flash(_("案卷已装订"))
    return redirect(url_for("archive.volume", volume_id=volume_id))


@bp.route("/volumes/<int:volume_id>/location", methods=["POST"])
@login_required
def volume_move(volume_id: int):
    """存放/移库."""
    place = {k: request.form.get(k, "") for k in ("room", "cabinet", "shelf", "box")}
    move = custody.move_volume(db(), actor=actor(), volume=volumes.get_volume(db(), volume_id), place=place, now=now())
    flash(_("已移至 %(place)s", place=move.to_location))
    return redirect(url_for("archive.volume", volume_id=volume_id))


@bp.route("/volumes/<int:volume_id>/catalogue")
@login_required
def catalogue(volume_id: int):
    """卷内目录 as a page; ?pdf=1 downloads it as a PDF."""
    policy.ensure_reader(actor())
    found = volumes.get_volume(db(), volume_id)
    if request.args.get("pdf"):
        return attachment_response(f"卷内目录-{found.id}.pdf", "application/pdf",
                                   volumes.catalogue_pdf(db(), found, now=now()))
    from processes import documents

    return documents.render_html("archive_catalogue.html", **volumes.catalogue_context(db(), found, now=now()))


@bp.route("/custody")
@login_required
def custody_page():
    """Rooms and keepers, the access log, and loans."""
    policy.ensure_reader(actor())
    return render_template("archive/custody.html", rooms=custody.rooms(db()), visits=custody.visits(db()),
                           loans=custody.loans(db()), volumes=volumes.list_volumes(db()),
                           may_work=policy.may_work(actor()), may_approve=policy.may_approve_sensitive_loan(actor()))


@bp.route("/custody/visits", methods=["POST"])
@login_required
def visit_enter():
    """进入登记."""
    f = request.form
    custody.record_visit(db(), actor=actor(), room=f.get("room", ""), visitor=f.get("visitor", ""),
                         purpose=f.get("purpose", ""), accompanied_by=f.get("accompanied_by", ""), now=now())
    flash(_("已登记进入"))
    return redirect(url_for("archive.custody_page"))


@bp.route("/custody/visits/<int:visit_id>/leave", methods=["POST"])
@login_required
def visit_leave(visit_id: int):
    """离开登记."""
    custody.leave(db(), actor=actor(), visit_id=visit_id, now=now())
    flash(_("已登记离开"))
    return redirect(url_for("archive.custody_page"))


@bp.route("/custody/loans", methods=["POST"])
@login_required
def loan_create():
    """借出."""
    services, f = guichet(), request.form
    policy.ensure_archivist(actor())
    volume_id = id_or_none(f.get("volume_id"))
    if volume_id is None:
        raise ValidationFailed({"volume_id": "请选择案卷"})
    loan = custody.lend(db(), services.runtime, services.config, actor=actor(),
                        volume=volumes.get_volume(db(), volume_id), borrower=f.get("borrower", ""),
                        due_date=f.get("due_date", ""), now=now())
    flash(_("已借出") if loan.status == "lent" else _("案卷含个人信息, 待管理层批准后借出"))
    return redirect(url_for("archive.custody_page"))


@bp.route("/custody/loans/<int:loan_id>/approve", methods=["POST"])
@login_required
def loan_approve(loan_id: int):
    """管理层批准借阅."""
    services = guichet()
    custody.approve_loan(db(), services.runtime, services.config, actor=actor(), loan=custody.get_loan(db(), loan_id),
                         now=now())
    flash(_("已批准借阅"))
    return redirect(url_for("archive.custody_page"))


@bp.route("/custody/loans/<int:loan_id>/return", methods=["POST"])
@login_required
def loan_return(loan_id: int):
    """归还."""
    policy.ensure_archivist(actor())
    custody.return_loan(db(), guichet().runtime, actor=actor(), loan=custody.get_loan(db(), loan_id), now=now())
    flash(_("已归还"))
    return redirect(url_for("archive.custody_page"))


@bp.route("/storage")
@login_required
def storage():
    """存储安全: backups (verified or not), integrity runs and open incidents."""
    policy.ensure_reader(actor())
    return render_template("archive/storage.html", backups=backups.list_backups(db()),
                           runs=integrity.recent_runs(db()), incidents=integrity.open_incidents(db()),
                           checked_since=integrity.last_checked(db()), config=guichet().config,
                           may_work=policy.may_work(actor()))


@bp.route("/storage/backup", methods=["POST"])
@login_required
def backup_now():
    """立即备份 (and verify it)."""
    policy.ensure_archivist(actor())
    made = backups.backup_now(db(), guichet().config, actor=actor().username, now=now())
    flash(_("备份完成: %(file)s", file=made.filename) + " · " + (_("已校验") if made.verified else _("校验失败")))
    return redirect(url_for("archive.storage"))


@task_panel("archive_loan")
def _task_panel(session, item, user) -> Panel:
    """A loan's return: which volume, to whom, until when."""
    from processes.archive.models import Loan, Volume

    loan = session.get(Loan, item.ref_id)
    if loan is None:
        return Panel(None)
    return Panel("_task_loan.html", {"loan": loan, "volume": session.get(Volume, loan.volume_id),
                                     "may_read_archive": policy.may_read(user)})
