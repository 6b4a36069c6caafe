"""Per-object read checks of the web layer: who may see a form is the stages' policy
(processes/transfer/policy.py); what is left here is opening a form through a query grant, whose view
turns the request's read-only transaction into a writing one."""
from __future__ import annotations

from sqlalchemy.orm import Session

from processes.errors import Forbidden
from processes.forms.models import Form
from processes.org.models import User
from processes.transfer.policy import can_view_form, ensure_can_view_form  # noqa: F401 - re-exported for pages and API


# --- Query grants (R4.4.1, the query-approval stage) -------------------------------------------------------
# The one place the forms read paths (GET /api/v1/forms/{id}, the form page) consult a grant: when the form is
# not the reader's own to see, a live grant of processes/queries opens it read-only, with only its fields.
def form_access(session: Session, user: User, form: Form, now):
    """None when the user may see the form as its own; else their live query grant; Forbidden when neither."""
    if can_view_form(session, user, form):
        return None
    from processes.queries.policy import live_grant

    if live_grant(session, user.username, form.id, now) is None:
        raise Forbidden("您无权查看该业务单; 如需查看, 请申请查询授权")
    from .context import writing

    writing()  # the view is logged: a GET's read-only transaction becomes a writing one, and the grant is read again
    grant = live_grant(session, user.username, form.id, now)
    if grant is None:
        raise Forbidden("您无权查看该业务单; 如需查看, 请申请查询授权")
    return grant
