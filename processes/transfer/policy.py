"""Who may see and work on what the internal transfer moves: forms and their hop items (pages and API alike)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Item, WorkItem

from ..errors import Forbidden
from ..forms.models import Form
from ..org import service as org
from ..org.models import User
from .models import Handover

OVERSEEING_ROLES = {"manager", "inspector"}


def can_view_form(session: Session, user: User, form: Form) -> bool:
    """The filling department, any department it was handed to, superiors it was escalated to, oversight, and
    the archive once the form is closed."""
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
    return bool(session.scalar(select(WorkItem.id).where(
        WorkItem.ref_type == "form", WorkItem.ref_id == form.id, WorkItem.assignee == user.username).limit(1)))


def ensure_can_view_form(session: Session, user: User, form: Form) -> None:
    """Raise Forbidden unless the user may see the form."""
    if not can_view_form(session, user, form):
        raise Forbidden("您无权查看该业务单")


def may_work_on(actor: User, item: Item) -> bool:
    """Whether the actor holds the item, or it waits unclaimed in one of the actor's queues."""
    if item.assignee is not None:
        return item.assignee == actor.username
    return item.candidate_group in actor.groups


def may_see(actor: User, item: Item) -> bool:
    """Whether the actor holds the item or it belongs to one of the actor's queues (held by a colleague or not):
    asked before anything about the item is told."""
    return item.assignee == actor.username or (item.candidate_group is not None and item.candidate_group in actor.groups)


def ensure_may_view_item(actor: User, item: Item) -> None:
    """Raise Forbidden unless the actor may work on the item, holds it, or finished it."""
    if not (may_work_on(actor, item) or item.assignee == actor.username or item.completed_by == actor.username):
        raise Forbidden("您无权查看该事项")


def may_assign(session: Session, actor: User, item: Item) -> bool:
    """Whether the actor heads the item's department (or is management), so may hand it to someone."""
    if item.kind != "task" or item.status != "open":
        return False
    department = org.department_by_name(session, item.candidate_group or "")
    return actor.role == "manager" or (department is not None and department.head_id == actor.id)
