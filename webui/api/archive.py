"""Archive (R4.3): filing with 档号, volumes and their catalogue, paper custody, backups and integrity checks."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from processes.archive import backups, custody, integrity, policy, volumes
from processes.archive import service as archive
from processes.archive.schemas import (
    BackupReadSchema,
    FilingCreateSchema,
    FilingPageSchema,
    FilingReadSchema,
    IntegrityReadSchema,
    LoanCreateSchema,
    LoanReadSchema,
    LocationSchema,
    MoveReadSchema,
    QueueItemReadSchema,
    RoomVisitCreateSchema,
    RoomVisitReadSchema,
    VolumeCreateSchema,
    VolumeReadSchema,
)
from processes.errors import ValidationFailed

from ..auth import actor, require_bearer
from ..context import db, guichet, now
from ..downloads import attachment_response

blp = Blueprint("api_archive", __name__, url_prefix="/api/v1/archive", description="档案 · Archive")
blp.before_request(require_bearer)


def int_arg(name: str) -> int | None:
    """A whole-number query parameter; absent is None, anything else is refused with a field message."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        raise ValidationFailed({name: "须为正整数"})
    return int(value)


def archive_filter() -> archive.ArchiveFilter:
    """The archive list's filters from the query string (shared with the page)."""
    args = request.args
    return archive.ArchiveFilter(year=int_arg("year"), business_type=args.get("business_type") or None,
                                 department_id=int_arg("department_id"), retention=args.get("retention") or None,
                                 volume_id=int_arg("volume_id"), code_prefix=args.get("code") or None)


@blp.route("/queue", methods=["GET"])
@blp.response(200, QueueItemReadSchema(many=True))
def queue():
    """待归档: closed forms not filed yet, oldest first."""
    policy.ensure_reader(actor())
    return archive.queue(db())


@blp.route("/filings", methods=["POST"])
@blp.arguments(FilingCreateSchema())
@blp.response(201, FilingReadSchema(many=True))
def file_forms(body):
    """归档: give closed forms their 档号 and seal them (all or none); 409 for a form not closed."""
    return archive.file_forms(db(), guichet().config, actor=actor(), form_ids=body["form_ids"], now=now())


@blp.route("/filings", methods=["GET"])
@blp.response(200, FilingPageSchema)
def list_filings():
    """The archive list, newest first, filtered (year, business_type, department_id, retention, volume_id, code
    prefix); `before` continues from the previous page's `next_before`."""
    policy.ensure_reader(actor())
    limit = min(int_arg("limit") or guichet().config["archive"]["page_size"], 200)
    items, more = archive.list_filings(db(), archive_filter(), before_id=int_arg("before"), limit=limit)
    return {"items": items, "next_before": more}


@blp.route("/volumes", methods=["POST"])
@blp.arguments(VolumeCreateSchema())
@blp.response(201, VolumeReadSchema)
def create_volume(body):
    """立卷: an open volume for one business type and year."""
    return volumes.create_volume(db(), actor=actor(), title=body["title"], business_type=body["business_type"],
                                 year=body["year"], now=now())


@blp.route("/volumes", methods=["GET"])
@blp.response(200, VolumeReadSchema(many=True))
def list_volumes():
    """Volumes, newest first."""
    policy.ensure_reader(actor())
    return volumes.list_volumes(db())


@blp.route("/volumes/<int:volume_id>", methods=["GET"])
@blp.response(200, VolumeReadSchema)
def read_volume(volume_id):
    """One volume."""
    policy.ensure_reader(actor())
    return volumes.get_volume(db(), volume_id)


@blp.route("/volumes/<int:volume_id>/items", methods=["POST"])
@blp.arguments(FilingCreateSchema())
@blp.response(200, FilingReadSchema(many=True))
def add_items(body, volume_id):
    """组卷: filed forms of the volume's year and business type into it; 409 when it is closed."""
    volume = volumes.get_volume(db(), volume_id)
    return volumes.add_items(db(), actor=actor(), volume=volume, form_ids=body["form_ids"], now=now())


@blp.route("/volumes/<int:volume_id>/items", methods=["GET"])
@blp.response(200, FilingReadSchema(many=True))
def volume_items(volume_id):
    """The volume's items in order."""
    policy.ensure_reader(actor())
    return volumes.items_of(db(), volumes.get_volume(db(), volume_id))


@blp.route("/volumes/<int:volume_id>/close", methods=["POST"])
@blp.response(200, VolumeReadSchema)
def close_volume(volume_id):
    """装订: the volume takes no more items."""
    return volumes.close_volume(db(), actor=actor(), volume=volumes.get_volume(db(), volume_id), now=now())


@blp.route("/volumes/<int:volume_id>/catalogue.pdf", methods=["GET"])
def catalogue(volume_id):
    """卷内目录 as a PDF (件号, 档号, 责任者, 题名, 日期, 页数)."""
    policy.ensure_reader(actor())
    volume = volumes.get_volume(db(), volume_id)
    pdf = volumes.catalogue_pdf(db(), volume, now=now())
    return attachment_response(f"catalogue-{volume.id}.pdf", "application/pdf", pdf)


@blp.route("/volumes/<int:volume_id>/location", methods=["PUT"])
@blp.arguments(LocationSchema())
@blp.response(200, VolumeReadSchema)
def move(body, volume_id):
    """存放/移库: room / cabinet / shelf / box; the move is recorded."""
    volume = volumes.get_volume(db(), volume_id)
    custody.move_volume(db(), actor=actor(), volume=volume, place=body, now=now())
    return volume


@blp.route("/volumes/<int:volume_id>/movements", methods=["GET"])
@blp.response(200, MoveReadSchema(many=True))
def movements(volume_id):
    """The volume's moves, oldest first."""
    policy.ensure_reader(actor())
    return custody.movements(db(), volumes.get_volume(db(), volume_id))


@blp.route("/room-visits", methods=["POST"])
@blp.arguments(RoomVisitCreateSchema())
@blp.response(201, RoomVisitReadSchema)
def enter(body):
    """进入登记, by the room's keeper."""
    return custody.record_visit(db(), actor=actor(), now=now(), **body)


@blp.route("/room-visits", methods=["GET"])
@blp.response(200, RoomVisitReadSchema(many=True))
def list_visits():
    """Archive-room visits, latest first."""
    policy.ensure_reader(actor())
    return custody.visits(db())


@blp.route("/room-visits/<int:visit_id>/leave", methods=["POST"])
@blp.response(200, RoomVisitReadSchema)
def leave(visit_id):
    """离开登记."""
    return custody.leave(db(), actor=actor(), visit_id=visit_id, now=now())


@blp.route("/loans", methods=["POST"])
@blp.arguments(LoanCreateSchema())
@blp.response(201, LoanReadSchema)
def lend(body):
    """借出: a volume to a person until a date; one holding personal information waits for management's approval."""
    services = guichet()
    policy.ensure_archivist(actor())
    volume = volumes.get_volume(db(), body["volume_id"])
    return custody.lend(db(), services.runtime, services.config, actor=actor(), volume=volume,
                        borrower=body["borrower"], due_date=body["due_date"], now=now())


@blp.route("/loans", methods=["GET"])
@blp.response(200, LoanReadSchema(many=True))
def list_loans():
    """Loans, newest first."""
    policy.ensure_reader(actor())
    return custody.loans(db())


@blp.route("/loans/<int:loan_id>/approve", methods=["POST"])
@blp.response(200, LoanReadSchema)
def approve(loan_id):
    """管理层批准 a loan of a volume holding personal information."""
    services = guichet()
    return custody.approve_loan(db(), services.runtime, services.config, actor=actor(),
                                loan=custody.get_loan(db(), loan_id), now=now())


@blp.route("/loans/<int:loan_id>/return", methods=["POST"])
@blp.response(200, LoanReadSchema)
def return_loan(loan_id):
    """归还: received by the archivist calling."""
    policy.ensure_archivist(actor())
    return custody.return_loan(db(), guichet().runtime, actor=actor(), loan=custody.get_loan(db(), loan_id), now=now())


@blp.route("/backups", methods=["GET"])
@blp.response(200, BackupReadSchema(many=True))
def list_backups():
    """Backups, newest first, with whether restoring each checked out."""
    policy.ensure_reader(actor())
    return backups.list_backups(db())


@blp.route("/integrity", methods=["GET"])
@blp.response(200, IntegrityReadSchema)
def integrity_state():
    """Integrity runs, open storage incidents, and since when every filed form was checked."""
    policy.ensure_reader(actor())
    return {"runs": integrity.recent_runs(db()), "incidents": integrity.open_incidents(db()),
            "all_checked_since": integrity.last_checked(db())}
