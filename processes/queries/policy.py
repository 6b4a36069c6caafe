"""Who may see and do what in query approval (R4.4); pages and API both ask here, nothing else decides.

`live_grant` is on the read path of every form: one indexed query (granted_form by grantee, form, expiry).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Forbidden
from ..org import service as org
from ..org.models import User
from .models import AccessGrant, GrantedForm, QueryDecision, QueryRequest

OVERSIGHT = {"manager", "inspector"}
EXTERNAL_REGISTRARS = {"clerk", "handler", "head"}  # window and business staff register an authority's request
COMPLIANCE = "风险合规部"


def live_grant(session: Session, username: str, form_id: int, now: datetime) -> AccessGrant | None:
    """The grant that lets `username` read the form at `now` (expiry and revocation take effect at once), or None."""
    return session.scalars(
        select(AccessGrant).join(GrantedForm, GrantedForm.grant_id == AccessGrant.id)
        .where(GrantedForm.grantee == username, GrantedForm.form_id == form_id, GrantedForm.expires_at > now,
               AccessGrant.starts_at <= now)
        .order_by(GrantedForm.expires_at.desc()).limit(1)
    ).first()


def ensure_may_copy(grant: AccessGrant) -> None:
    """A print, PDF or export only where the grant allows copying (R4.4.1)."""
    if not grant.copy:
        raise Forbidden("该查询授权不含复制/打印权限, 不能导出")


def approver_for(session: Session, applicant: User) -> User | None:
    """Who approves an application first: the head of the applicant's department, else the applicant's superior."""
    dept = applicant.department
    if dept is not None and dept.head_id and dept.head_id != applicant.id:
        head = org.get_user(session, dept.head_id)
        if head is not None and head.active:
            return head
    chain = org.superior_chain(session, applicant, depth=1)
    return chain[0] if chain else None


def ensure_may_decide(session: Session, actor: User, request: QueryRequest, step: str, item) -> None:
    """Approvers of each step; never the applicant (no approving one's own application)."""
    if actor.username == request.applicant:
        raise Forbidden("不能审批自己的查询申请")
    if item.assignee == actor.username:  # routed to them, or taken over by the superior of a late step
        allowed = True
    elif step in ("head_review", "superior_report"):
        allowed = False
    elif step == "compliance_review":
        allowed = COMPLIANCE in actor.groups
    else:
        allowed = actor.role == "manager"
    if not allowed:
        raise Forbidden("您不是该环节的审批人")


def may_decide_unassigned(user: User, request: QueryRequest, step: str) -> bool:
    """Whether the user could decide this step were it given to them (改派 of a late step): compliance staff the
    compliance review, managers management's steps; never the applicant, nobody a step meant for one person."""
    if user.username == request.applicant or step in ("head_review", "superior_report"):
        return False
    if step == "compliance_review":
        return COMPLIANCE in user.groups
    return user.role == "manager"


def _deciders(session: Session, request: QueryRequest) -> set[str]:
    return set(session.scalars(select(QueryDecision.decided_by).where(QueryDecision.request_id == request.id)))


def _heads_applicant(session: Session, actor: User, request: QueryRequest) -> bool:
    applicant = org.get_by_username(session, request.applicant)
    approver = approver_for(session, applicant) if applicant is not None else None
    return approver is not None and approver.id == actor.id


def may_see(session: Session, actor: User, request: QueryRequest) -> bool:
    """The applicant, the applicant's head, those who decided on it, the steps' approvers, management and inspectors."""
    if actor.username == request.applicant or actor.role in OVERSIGHT:
        return True
    if request.kind == "external" and COMPLIANCE in actor.groups:
        return True
    return actor.username in _deciders(session, request) or _heads_applicant(session, actor, request)


def ensure_may_see(session: Session, actor: User, request: QueryRequest) -> None:
    """Raise Forbidden unless the actor may see the application."""
    if not may_see(session, actor, request):
        raise Forbidden("您无权查看该查询申请")


def may_revoke(session: Session, actor: User, request: QueryRequest) -> bool:
    """Approvers may end a grant early: management, and the applicant's head or whoever approved it."""
    if actor.username == request.applicant:
        return False
    return actor.role == "manager" or actor.username in _deciders(session, request) or \
        _heads_applicant(session, actor, request)


def may_read_access_log(session: Session, actor: User, request: QueryRequest) -> bool:
    """The applicant's head (and whoever approved), management and inspectors."""
    if actor.role in OVERSIGHT:
        return True
    return actor.username != request.applicant and (
        actor.username in _deciders(session, request) or _heads_applicant(session, actor, request))


def may_register_external(actor: User) -> bool:
    """Window and business staff register an authority's request (R4.4.3)."""
    return actor.role in EXTERNAL_REGISTRARS


def may_handle_disclosure(session: Session, actor: User, request: QueryRequest) -> bool:
    """The registrant, compliance and management download and hand over an approved disclosure package."""
    return actor.username == request.applicant or actor.role == "manager" or COMPLIANCE in actor.groups
