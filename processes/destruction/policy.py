"""Who may do what with retention and destruction (R4.5): one place for pages and API alike."""
from __future__ import annotations

from ..errors import Forbidden
from ..org.models import User

RULE_EDITORS = {"manager"}
HOLD_PLACERS = {"manager", "inspector"}  # management, or compliance
PROPOSERS = {"archivist"}  # a retention batch
APPLICANTS = {"head", "handler", "clerk"}  # an error / duplicate batch, for their own department's forms
READERS = {"manager", "archivist", "inspector"} | APPLICANTS  # batches name forms by 档号 and title only
EXECUTORS = {"archivist"}
APPROVERS = {"manager"}


def ensure_reader(actor: User) -> None:
    """Forbidden unless the actor may read rules, holds and destruction batches."""
    if actor.role not in READERS:
        raise Forbidden("您无权查看保管期限与销毁记录")


def ensure_rule_editor(actor: User) -> None:
    """Forbidden unless the actor may change a retention rule."""
    if actor.role not in RULE_EDITORS:
        raise Forbidden("只有公司管理层可以修改保管期限规则")


def ensure_hold_placer(actor: User) -> None:
    """Forbidden unless the actor may place or release a hold (management or compliance)."""
    if actor.role not in HOLD_PLACERS:
        raise Forbidden("只有公司管理层或风险合规部可以暂缓销毁或解除暂缓")


def ensure_proposer(actor: User, kind: str, department_ids: set[int]) -> None:
    """Forbidden unless the actor may start a batch of this kind over forms of these departments."""
    if kind == "retention":
        if actor.role not in PROPOSERS:
            raise Forbidden("只有档案管理员可以提出保管期满的销毁清单")
        return
    if actor.role not in APPLICANTS or department_ids != {actor.department_id}:
        raise Forbidden("只有业务单所属部门的人员可以申请销毁本部门的错误或重复业务单")


def ensure_approver(actor: User) -> None:
    """Forbidden unless the actor is management."""
    if actor.role not in APPROVERS:
        raise Forbidden("只有公司管理层可以批准销毁")


def ensure_executor(actor: User) -> None:
    """Forbidden unless the actor may carry out an approved destruction."""
    if actor.role not in EXECUTORS:
        raise Forbidden("只有档案管理员可以执行销毁")
