"""Per-object checks the web layer applies before showing something."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.errors import Forbidden
from processes.forms.models import Form
from processes.org.models import User
from processes.transfer.models import Handover

OVERSEEING_ROLES = {"manager", "inspector"}


def can_view_form(session: Session, user: User, form: Form) -> bool:
    """The filling department, any department it was handed to, superiors it was escalated to, and oversight."""
    if user.role in OVERSEEING_ROLES or form.department_id == user.department_id:
        return True
    if user.role == "archivist" and form.status == "closed":  # closed forms are what the archive keeps
        return True
    groups = user.groups
    hit = session.scalar(select(Handover.id).where(
        Handover.form_id == form.id,
        (Handover.to_department.in_(groups)) | (Handover.to_user == user.username) | (Handover.from_user == user.username),
    ).limit(1))
    if hit:
        return True
    from engine.models import WorkItem

    return bool(session.scalar(select(WorkItem.id).where(
        WorkItem.ref_type == "form", WorkItem.ref_id == form.id, WorkItem.assignee == user.username).limit(1)))


def ensure_can_view_form(session: Session, user: User, form: Form) -> None:
    """Raise Forbidden unless the user may see the form."""
    if not can_view_form(session, user, form):
        raise Forbidden("您无权查看该业务单")


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
