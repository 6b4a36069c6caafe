"""The office calendar's listed days (工作日历) over HTTP: extra holidays and working days."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from processes.calendar import service as calendar

from ..auth import actor, require_bearer
from ..context import db, guichet, now

blp = Blueprint("api_calendar", __name__, url_prefix="/api/v1/calendar", description="工作日历 · Office calendar")
blp.before_request(require_bearer)


class CalendarDaySchema(Schema):
    """A listed day: holiday (放假) or workday (上班, 调休), with why and who listed it."""

    day = fields.Date(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"enum": sorted(calendar.KINDS)})
    note = fields.String(dump_only=True)
    changed_by = fields.String(dump_only=True)
    changed_at = fields.DateTime(dump_only=True)


class CalendarDayInput(Schema):
    """What to list for a day."""

    kind = fields.String(required=True, metadata={"enum": sorted(calendar.KINDS)})
    note = fields.String(load_default="")


@blp.route("/days", methods=["GET"])
@blp.response(200, CalendarDaySchema(many=True))
def days():
    """The listed days, in date order (management)."""
    calendar.ensure_can_edit(actor())
    return calendar.listed(db())


@blp.route("/days/<day>", methods=["PUT"])
@blp.arguments(CalendarDayInput)
@blp.response(200, CalendarDaySchema)
def put_day(body, day):
    """List a day (YYYY-MM-DD) as a holiday or a working day; working-day SLAs count with it from now on."""
    return calendar.put_day(db(), guichet().runtime, day=day, kind=body["kind"], note=body["note"], actor=actor(),
                            now=now())


@blp.route("/days/<day>", methods=["DELETE"])
@blp.response(204)
def remove_day(day):
    """Take a day off the list."""
    calendar.remove_day(db(), guichet().runtime, day=day, actor=actor(), now=now())
