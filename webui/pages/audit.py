"""The audit page (审计日志) for management and oversight: browse and filter the chain, check it."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from processes.audit import service as audit
from processes.audit.models import ACTIONS, DECISIONS, DETAIL_LABELS
from processes.org import service as org

from ..api.audit import ensure_auditor
from ..auth import actor
from ..context import db, guichet

bp = Blueprint("audit", __name__)


@bp.app_template_filter("audit_details")
def audit_details(details: dict) -> list[tuple[str, str]]:
    """An event's details as (label, text) rows an inspector reads: 决定 办理完成, not decision=complete."""
    rows = []
    for key, value in details.items():
        if value is None:
            continue
        if key == "decision":
            text = _(DECISIONS[value]) if value in DECISIONS else value
        elif key == "requested_by":
            text = org.display_name(db(), value)
        elif key == "sha256":
            text = str(value)[:12]
        elif isinstance(value, bool):
            text = _("是") if value else _("否")
        elif isinstance(value, list):
            text = "、".join(str(v) for v in value) or "—"
        else:
            text = str(value)
        rows.append((_(DETAIL_LABELS[key]) if key in DETAIL_LABELS else key, text))
    return rows


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
    return render_template("audit.html", events=audit.list_events(db(), f), actions=ACTIONS, args=args, verdict=verdict)
