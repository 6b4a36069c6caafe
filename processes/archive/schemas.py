"""API schemas of the archive: values are checked by the services, which name each field at fault in Chinese."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..inputs import Id, IdList, Whole


class FilingCreateSchema(Schema):
    """POST /archive/filings and /archive/volumes/{id}/items: the forms to file or to bind."""

    form_ids = IdList("业务单编号", required=True, metadata={"description": "业务单编号列表"})


class QueueItemReadSchema(Schema):
    """A closed form waiting to be filed."""

    id = fields.Integer()
    number = fields.String()
    business_type = fields.String()
    created_by = fields.String()
    closed_at = fields.DateTime()


class FilingReadSchema(Schema):
    """A filed item (归档件) with its 档号."""

    id = fields.Integer()
    form_id = fields.Integer()
    archival_code = fields.String()
    year = fields.Integer()
    retention = fields.String()
    business_type = fields.String()
    title = fields.String()
    responsible = fields.String()
    closed_at = fields.DateTime()
    pages = fields.Integer()
    filed_by = fields.String()
    filed_at = fields.DateTime()
    volume_id = fields.Integer(allow_none=True)
    volume_seq = fields.Integer(allow_none=True)
    seal = fields.String()


class FilingPageSchema(Schema):
    """A page of the archive list and where the next page starts."""

    items = fields.List(fields.Nested(FilingReadSchema))
    next_before = fields.Integer(allow_none=True)


class VolumeCreateSchema(Schema):
    """POST /archive/volumes."""

    # Typed here (not only in the service) so that a bad title or type is named beside a bad year, all at once.
    title = fields.String(required=True, validate=validate.Length(min=1, error="请填写案卷题名"),
                          error_messages={"invalid": "须为文本"})
    business_type = fields.String(required=True, validate=validate.Length(min=1, error="请填写业务类型"),
                                  error_messages={"invalid": "须为文本"})
    year = Whole(1900, 2100, "年度须为四位数年份", required=True)


class VolumeReadSchema(Schema):
    """A volume (案卷)."""

    id = fields.Integer()
    title = fields.String()
    business_type = fields.String()
    year = fields.Integer()
    status = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    closed_by = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    room = fields.String(allow_none=True)
    cabinet = fields.String(allow_none=True)
    shelf = fields.String(allow_none=True)
    box = fields.String(allow_none=True)
    location = fields.String()


class LocationSchema(Schema):
    """PUT /archive/volumes/{id}/location."""

    room = fields.Raw(required=True)
    cabinet = fields.Raw(required=True)
    shelf = fields.Raw(required=True)
    box = fields.Raw(required=True)


class MoveReadSchema(Schema):
    """A volume's move."""

    id = fields.Integer()
    from_location = fields.String(data_key="from")
    to_location = fields.String(data_key="to")
    moved_by = fields.String()
    moved_at = fields.DateTime()


class RoomVisitCreateSchema(Schema):
    """POST /archive/room-visits."""

    room = fields.Raw(required=True)
    visitor = fields.Raw(required=True)
    purpose = fields.Raw(required=True)
    accompanied_by = fields.Raw(required=True)


class RoomVisitReadSchema(Schema):
    """An archive-room visit."""

    id = fields.Integer()
    room_id = fields.Integer()
    visitor = fields.String()
    purpose = fields.String()
    accompanied_by = fields.String()
    entered_at = fields.DateTime()
    left_at = fields.DateTime(allow_none=True)
    recorded_by = fields.String()


class LoanCreateSchema(Schema):
    """POST /archive/loans."""

    volume_id = Id("案卷编号", required=True)
    borrower = fields.Raw(required=True)
    due_date = fields.Raw(required=True)


class LoanReadSchema(Schema):
    """A loan (借阅)."""

    id = fields.Integer()
    volume_id = fields.Integer()
    status = fields.String()
    borrower = fields.String()
    due_date = fields.Date()
    lent_by = fields.String()
    lent_at = fields.DateTime()
    approved_by = fields.String(allow_none=True)
    returned_at = fields.DateTime(allow_none=True)
    received_by = fields.String(allow_none=True)
    overdue = fields.Boolean()


class BackupReadSchema(Schema):
    """A backup and whether restoring it checked out."""

    id = fields.Integer()
    created_at = fields.DateTime()
    filename = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    verified = fields.Boolean(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    verify_detail = fields.String()
    deleted_at = fields.DateTime(allow_none=True)


class IntegrityRunReadSchema(Schema):
    """One integrity run."""

    id = fields.Integer()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    checked = fields.Integer()
    mismatches = fields.Integer()
    total = fields.Integer()


class IncidentReadSchema(Schema):
    """An open storage incident."""

    id = fields.Integer()
    kind = fields.String()
    filing_id = fields.Integer(allow_none=True)
    backup_id = fields.Integer(allow_none=True)
    detail = fields.String()
    opened_at = fields.DateTime()


class IntegrityReadSchema(Schema):
    """GET /archive/integrity: the runs, the open incidents and since when every filed form was checked."""

    runs = fields.List(fields.Nested(IntegrityRunReadSchema))
    incidents = fields.List(fields.Nested(IncidentReadSchema))
    all_checked_since = fields.DateTime(allow_none=True)
