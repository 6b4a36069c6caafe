"""Who may do what in the archive: the archivist files, binds, moves and lends; management and inspectors read."""
from __future__ import annotations

from ..errors import Forbidden
from ..org.models import User

ARCHIVISTS = {"archivist"}
READERS = ARCHIVISTS | {"manager", "inspector"}
LOAN_APPROVERS = {"manager"}


def may_read(actor: User) -> bool:
    """The archive list, volumes, custody records, backups and integrity runs."""
    return actor.role in READERS


def may_work(actor: User) -> bool:
    """Filing, binding, moving, lending, room visits and backups."""
    return actor.role in ARCHIVISTS


def ensure_reader(actor: User) -> None:
    """Forbidden unless the actor may read the archive."""
    if not may_read(actor):
        raise Forbidden("只有档案管理员、管理层和监督检查人员可以查看档案")


def ensure_archivist(actor: User) -> None:
    """Forbidden unless the actor is an archivist."""
    if not may_work(actor):
        raise Forbidden("只有档案管理员可以办理归档、装订、移库和借阅")


def may_approve_sensitive_loan(approver: User | None) -> bool:
    """A volume holding personal information is lent only with management's approval."""
    return approver is not None and approver.role in LOAN_APPROVERS and approver.active
