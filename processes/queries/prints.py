"""A form seen under a grant, as a page and as a print: the document renderer's frame with its watermark
(viewer, time, grant number) on every page; a print only where the grant allows copying (R4.4.1)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .. import documents
from ..errors import Forbidden
from ..forms import service as forms
from ..forms.models import Form
from ..org.models import User
from . import policy, service
from .models import AccessGrant, QueryRequest


def _context(session: Session, config: dict, *, form: Form, given: AccessGrant, actor: User, channel: str,
             now: datetime) -> dict:
    values = service.view_under_grant(session, config, form=form, given=given, actor=actor, channel=channel, now=now)
    request = session.get(QueryRequest, given.request_id)
    rows = [(f["label"], values.get(f["code"]), f["code"] in given.fields) for f in form.template_version.fields]
    return dict(title="业务单 (查询授权阅览)", number=form.number, issuer=f"查询授权 #{given.id} · {request.number}",
                generated_at=now, zone=config["app"]["timezone"], form=form, rows=rows, grant=given, request=request,
                watermark=service.watermark(session, config, viewer=actor, given=given, now=now))


def form_page(session: Session, config: dict, *, form: Form, given: AccessGrant, actor: User, now: datetime,
              links: dict) -> str:
    """The HTML page of a form under a grant (granted fields in full, the rest masked), logged as one view."""
    context = _context(session, config, form=form, given=given, actor=actor, channel="page", now=now)
    seconds_left = max(int((given.expires_at - now).total_seconds()) + 1, 1)
    return documents.render_html("queries_form.html", links=links, seconds_left=seconds_left, **context)


def form_pdf(session: Session, config: dict, *, request: QueryRequest, form_id: int, actor: User,
             now: datetime) -> tuple[bytes, str]:
    """A watermarked print of one form under the actor's live grant from `request`; 403 without the copy right."""
    form = forms.get_form(session, form_id)
    given = policy.live_grant(session, actor.username, form.id, now)
    if given is None or given.request_id != request.id:
        raise Forbidden("您没有该业务单的有效查询授权")
    policy.ensure_may_copy(given)
    context = _context(session, config, form=form, given=given, actor=actor, channel="pdf", now=now)
    return documents.render_pdf("queries_form.html", links={}, seconds_left=0, **context), f"{form.number}.pdf"
