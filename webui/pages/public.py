"""The only pages open without login: the recipient's receipt page and the verification of a snapshot.

Both show the package, never the people: no names, contacts or form values (those travel in the package).
"""
from __future__ import annotations

import time
from datetime import datetime
from threading import Lock

from flask import Blueprint, current_app, jsonify, render_template, request

from processes.errors import ValidationFailed
from processes.external import receipts

from ..context import db, guichet, now
from ..errors import error_response

bp = Blueprint("public", __name__)
_seen_lock = Lock()


@bp.before_request
def _rate_limit():
    """At most [external] public_requests_per_minute requests per client address and minute on these open pages
    (per process): a brake on scripted guessing, beside the lock after wrong codes."""
    limit = int(guichet().config.get("external", {}).get("public_requests_per_minute", 60))
    minute = int(time.time() // 60)
    with _seen_lock:
        window = current_app.extensions.get("guichet_public_requests")
        if window is None or window[0] != minute:  # a new minute starts every count afresh
            window = current_app.extensions["guichet_public_requests"] = (minute, {})
        counts = window[1]
        address = request.remote_addr or ""
        count = counts[address] = counts.get(address, 0) + 1
    if count > limit:
        return error_response(429, "too_many_requests", "请求过于频繁, 请一分钟后再试")
    return None


def _receipt_page(token: str, *, errors=None, message=None, values=None, status=200):
    _link, transfer = receipts.open_link(db(), token, now())
    return render_template("receipt.html", summary=receipts.summary(transfer), errors=errors or {}, message=message,
                           values=values or {}, token=token), status


@bp.route("/receipt/<token>", methods=["GET"])
def receipt(token: str):
    """签收页: the package summary and its hash; a used, revoked, expired or locked link is 410."""
    return _receipt_page(token)


@bp.route("/receipt/<token>", methods=["POST"])
def sign(token: str):
    """签收: name, position, unit and the confirmation code; a wrong code is 422 and counts towards the lock."""
    services = guichet()
    values = {k: request.form.get(k, "") for k in ("name", "position", "unit")}
    try:
        receipts.sign(db(), services.runtime, services.config, token=token, code=request.form.get("code", ""),
                      client_address=request.remote_addr, now=now(), **values)
    except receipts.WrongCode as exc:
        db().commit()  # the failed attempt counts even though the answer is an error
        if exc.locked:
            return render_template("receipt_done.html", locked=True), 422
        return _receipt_page(token, errors=exc.details["fields"], message=exc.message, values=values, status=422)
    except ValidationFailed as exc:
        db().rollback()
        return _receipt_page(token, errors=exc.details["fields"], message=exc.message, values=values, status=422)
    return render_template("receipt_done.html", locked=False)


@bp.route("/verify/<sha256>")
def verify(sha256: str):
    """核验: whether Guichet issued this snapshot, when, to which unit, and whether it was signed for."""
    found = receipts.verification(db(), sha256.strip().lower()[:64])
    if request.args.get("format") == "json":
        return jsonify({k: v.isoformat() if isinstance(v, datetime) else v for k, v in found.items()})
    return render_template("verify.html", found=found)

