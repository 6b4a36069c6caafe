"""Who may do what in supervision: every check of the stage, used by pages and API alike."""
from __future__ import annotations

from ..errors import Forbidden
from ..org.models import User
from .models import RectificationNotice

INSPECTORS = {"inspector"}
OVERSIGHT = {"inspector", "manager", "hr"}  # read every department's figures, inspections and notices
HR = {"hr"}


def department_of(user: User) -> str:
    """The name of the user's department."""
    return user.department.name


def ensure_inspector(user: User) -> None:
    """Inspections and notices are run and issued by supervision staff (风险合规部)."""
    if user.role not in INSPECTORS:
        raise Forbidden("只有监督检查人员可以开展检查、下发整改通知书")


def ensure_oversight(user: User) -> None:
    """Inspections, plans and the staff training list are read by oversight, management and HR."""
    if user.role not in OVERSIGHT:
        raise Forbidden("只有监督检查人员、公司管理层和人力资源可以查看")


def may_see_kpis(user: User, department: str | None, person: str | None) -> bool:
    """Oversight sees every figure; a department head their department and its people; anyone their own."""
    if user.role in OVERSIGHT:
        return True
    if person is not None and person == user.username and department in (None, department_of(user)):
        return True
    return user.role == "head" and department == department_of(user)


def ensure_kpis(user: User, department: str | None, person: str | None) -> None:
    """Raise Forbidden unless the user may see these figures."""
    if not may_see_kpis(user, department, person):
        raise Forbidden("您无权查看该范围的考核指标")


def ensure_hr(user: User) -> None:
    """Appraisal ratings and training records are kept by HR."""
    if user.role not in HR:
        raise Forbidden("只有人力资源可以记录考核评价和培训")


def may_see_notice(user: User, notice: RectificationNotice, escalated_to: set[str] = frozenset()) -> bool:
    """Oversight, the notified department, and superiors a late notice was escalated to."""
    return user.role in OVERSIGHT or department_of(user) == notice.department or user.username in escalated_to


def ensure_see_notice(user: User, notice: RectificationNotice, escalated_to: set[str] = frozenset()) -> None:
    """Raise Forbidden unless the user may read the notice."""
    if not may_see_notice(user, notice, escalated_to):
        raise Forbidden("您无权查看该整改通知书")


def ensure_respond(user: User, notice: RectificationNotice) -> None:
    """Only the notified department answers for itself: never an inspector on its behalf."""
    if department_of(user) != notice.department or user.username == notice.issued_by:
        raise Forbidden("只有被通知部门可以反馈整改情况")


def ensure_reinspect(user: User, notice: RectificationNotice) -> None:
    """Re-inspection is by supervision staff outside the notified department: no one passes their own."""
    if user.role not in INSPECTORS or department_of(user) == notice.department:
        raise Forbidden("复查须由被通知部门以外的监督检查人员进行")
