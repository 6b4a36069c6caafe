"""The audit page (审计日志) for management and oversight: browse and filter the chain, check it."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_login import login_required

from processes.audit import service as audit
from processes.audit.models import ACTIONS, OBJECT_TYPES
from processes.audit.words import Words

from ..api.audit import ensure_auditor
from ..auth import actor
from ..context import db, guichet

bp = Blueprint("audit", __name__)


def _day(text: str | None, zone: ZoneInfo) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=zone) if text else None
    except ValueError:
        return None


@bp.route("/audit")
@login_required
def index():
    """Events newest first, filtered by person, action, object and local dates; ?verify=1 checks the chain."""
    ensure_auditor(actor())
    zone = ZoneInfo(guichet().config["app"]["timezone"])
    args = request.args
    until = _day(args.get("until"), zone)
    f = audit.AuditFilter(actor=args.get("actor") or None, action=args.get("action") or None,
                          object_type=args.get("object_type") or None, object_id=args.get("object_id") or None,
                          since=_day(args.get("since"), zone), until=until + timedelta(days=1) if until else None,
                          limit=200)
    verdict = audit.verify(db()) if args.get("verify") else None
    return render_template("audit.html", events=audit.list_events(db(), f), actions=ACTIONS, object_types=OBJECT_TYPES,
                           words=Words(db()), args=args, verdict=verdict, show_codes=actor().role == "manager")
