"""What the query-approval diagram calls: grant, return, approve a disclosure; late steps reuse `escalate`."""
from __future__ import annotations

from engine import Runtime, ServiceCall

from ..inbox import actions, escalations
from ..org import service as org
from . import escalation, external, service
from .models import QueryRequest


def issue_grant(call: ServiceCall) -> dict:
    """Approved: the applicant gets a read-only grant from now for the days asked."""
    request = call.session.get(QueryRequest, call.instance.ref_id)
    given = service.grant(call.session, request, call.now)
    return {"grant_id": given.id}


def return_query(call: ServiceCall) -> dict:
    """Returned at some step: the application is closed and grants nothing."""
    service.returned(call.session.get(QueryRequest, call.instance.ref_id), call.now)
    return {"status": "returned"}


def approve_disclosure(call: ServiceCall) -> dict:
    """Management approved an external request: its disclosure package may be made and handed over."""
    external.approved(call.session.get(QueryRequest, call.instance.ref_id), call.now)
    return {"status": "approved"}


def register(runtime: Runtime, config: dict) -> None:
    """Register the stage's operations, its role lanes and its inbox completer."""
    runtime.register_operation("issue_grant", issue_grant)
    runtime.register_operation("return_query", return_query)
    runtime.register_operation("approve_disclosure", approve_disclosure)
    org.register_role_lane("申请人部门负责人", "the head of the applicant's department (else the applicant's superior)")
    org.register_role_lane("登记人上级", "the superior of whoever registered the external request")
    actions.register(service.PROCESS_KEY, service.complete_item)
    escalations.register(service.PROCESS_KEY, escalation.HOOKS)
    sla = config.get("queries", {}).get("approval_sla", "PT8H")
    runtime.declare_start_variables(  # what an internal (plain or special) and an external request start with
        service.PROCESS_KEY, {"request_id": 1, "kind": "internal", "special": False, "approval_sla": sla},
        {"request_id": 1, "kind": "internal", "special": True, "approval_sla": sla},
        {"request_id": 1, "kind": "external", "special": True, "deadline": "2026-01-31T23:59:00+08:00"})
