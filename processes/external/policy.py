"""Who may start, check, approve, send and see an external transfer: pages and API ask only this module."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Forbidden
from ..forms.models import Form
from ..org import service as org
from ..org.models import User
from ..transfer.models import Handover
from .models import ExternalTransfer

STARTER_ROLES = {"clerk", "handler", "head"}
OVERSEEING_ROLES = {"manager", "inspector"}


def department_holds(session: Session, actor: User, form: Form) -> bool:
    """Whether the actor's department holds the form: it filled a closed form, or a hop of it waits there now."""
    if form.status == "closed":
        return form.department_id == actor.department_id
    if form.status != "in_transfer":
        return False
    return bool(session.scalar(select(Handover.id).where(
        Handover.form_id == form.id, Handover.status.in_(("pending", "received")),
        Handover.to_department.in_(actor.groups)).limit(1)))


def may_start(session: Session, actor: User, form: Form) -> bool:
    """A clerk, handler or head of the department that holds the form (R4.2.3)."""
    return actor.role in STARTER_ROLES and department_holds(session, actor, form)


def ensure_may_start(session: Session, actor: User, form: Form) -> None:
    """Raise Forbidden unless the actor may send this form out."""
    if actor.role not in STARTER_ROLES:
        raise Forbidden("只有业务部门的经办或负责人可以申请对外移交")
    if not department_holds(session, actor, form):
        raise Forbidden("该业务单不在本部门办理或保管, 不能由本部门对外移交")


def _heads(session: Session, actor: User, transfer: ExternalTransfer) -> bool:
    department = org.department_by_name(session, transfer.department)
    return department is not None and department.head_id == actor.id


def may_check(session: Session, actor: User, transfer: ExternalTransfer) -> bool:
    """核对: a second person of the sending department (or its head), never the one who asked for the transfer."""
    return actor.username != transfer.started_by and (transfer.department in actor.groups
                                                      or _heads(session, actor, transfer))


def ensure_may_check(session: Session, actor: User, transfer: ExternalTransfer) -> None:
    """Raise Forbidden unless the actor may check the package."""
    if actor.username == transfer.started_by:
        raise Forbidden("核对须由申请人以外的人进行 (双人核对)")
    if not may_check(session, actor, transfer):
        raise Forbidden("只有移交部门的人员可以核对")


def ensure_may_approve(actor: User, transfer: ExternalTransfer) -> None:
    """Sending sensitive values in full needs management, and not the person who asked."""
    if actor.role != "manager":
        raise Forbidden("发送敏感信息全文须由公司管理层批准")
    if actor.username == transfer.started_by:
        raise Forbidden("申请人不能批准自己的申请")


def may_send(session: Session, actor: User, transfer: ExternalTransfer, holder: str | None = None) -> bool:
    """Package download, receipt links, paper receipts: the starter, whoever now holds the wait for the receipt
    (after a reassignment or take-over), the sending department's head, and management."""
    return (actor.username in (transfer.started_by, holder) or actor.role == "manager"
            or _heads(session, actor, transfer))


def ensure_may_send(session: Session, actor: User, transfer: ExternalTransfer, holder: str | None = None) -> None:
    """Raise Forbidden unless the actor acts for the sender."""
    if not may_send(session, actor, transfer, holder):
        raise Forbidden("只有移交申请人、部门负责人或管理层可以处理移交包和签收")


def may_view(session: Session, actor: User, transfer: ExternalTransfer) -> bool:
    """The sending department, management and inspectors."""
    return actor.role in OVERSEEING_ROLES or transfer.department in actor.groups


def ensure_may_view(session: Session, actor: User, transfer: ExternalTransfer) -> None:
    """Raise Forbidden unless the actor may see the transfer."""
    if not may_view(session, actor, transfer):
        raise Forbidden("您无权查看该对外移交")
