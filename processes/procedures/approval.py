"""Four-eyes deployment (部署审批): with the switch on, a manager's deployment waits for a second manager.

The approval is a small BPMN of its own (bpmn/deployment_approval.bpmn): the second manager approves or
returns in the ordinary inbox; approving runs the `deploy_request` operation, which deploys the diagram.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.orm import Session

from engine import Item, Runtime, ServiceCall, StepResult

from ..audit import service as audit
from ..errors import Forbidden, NotFound, ValidationFailed, written
from ..inbox import actions
from ..org.models import User
from .models import DeploymentRequest

PROCESS_KEY = "deployment_approval"
APPROVERS = {"manager"}


def needs_approval(config: dict) -> bool:
    """Whether deployments wait for a second manager (config [procedures] deploy_needs_approval)."""
    return bool(config.get("procedures", {}).get("deploy_needs_approval", False))


def request(session: Session, runtime: Runtime, *, key: str, xml: str, name: str, note: str, actor: User,
            now: datetime) -> DeploymentRequest:
    """File a checked diagram for a second manager's approval, with its change note and the trial run's paths."""
    trial = runtime.trial_run(xml, expected_key=key)
    pending = DeploymentRequest(process_key=key, xml=xml, sha256=hashlib.sha256(xml.encode("utf-8")).hexdigest(),
                                requested_by=actor.username, requested_at=now, status="pending", note=note,
                                trial=trial_record(trial))
    session.add(pending)
    session.flush()
    result = runtime.start(session, PROCESS_KEY, data={"request_id": pending.id}, actor=actor.username, now=now,
                           business_key=f"deploy-{pending.id}", subject=f"部署审批: {name}",
                           ref_type="deployment", ref_id=pending.id)
    pending.instance_id = result.instance.id
    return pending


def trial_record(trial) -> dict | None:
    """The trial run's result as stored with the request: each path's steps and how it ended."""
    if trial is None:
        return None
    return {"complete": trial.complete,
            "paths": [{"outcome": p.outcome, "message": p.message,
                       "steps": [{"element_id": s.element_id, "name": s.name, "lane": s.lane, "action": s.action}
                                 for s in p.steps]} for p in trial.paths]}


def may_approve(session: Session, actor: User, item: Item) -> bool:
    """Whether the actor may decide a deployment request: management, and not the one who asked."""
    pending = session.get(DeploymentRequest, item.ref_id)
    return pending is not None and actor.role in APPROVERS and actor.username != pending.requested_by


def complete_item(session: Session, runtime: Runtime, *, item: Item, actor: User, data: dict,
                  now: datetime) -> StepResult:
    """The second manager approves (the diagram is deployed) or returns it with a comment."""
    pending = session.get(DeploymentRequest, item.ref_id)
    if pending is None:
        raise NotFound("部署申请不存在")
    if actor.role not in APPROVERS:
        raise Forbidden("只有公司管理层可以审批部署")
    if actor.username == pending.requested_by:
        raise Forbidden("部署须由另一位管理层成员审批 (不能审批自己的申请)")
    decision = str(data.get("decision") or "")
    if decision not in ("approve", "return"):
        raise ValidationFailed({"decision": "请选择“批准”或“退回”"})
    comment = written(data, "comment") or None
    if decision == "return" and not comment:
        raise ValidationFailed({"comment": "退回时请说明原因"})
    pending.decided_by, pending.decided_at, pending.comment = actor.username, now, comment
    return runtime.complete(session, item, actor=actor.username, now=now, data={"decision": decision})


def deploy_request(call: ServiceCall) -> dict:
    """Approved: deploy the requested diagram as the newest version, recorded as the requester's."""
    pending = call.session.get(DeploymentRequest, call.instance.ref_id)
    definition, _created = call.runtime.deploy(call.session, pending.xml, actor=pending.requested_by, now=call.now,
                                               expected_key=pending.process_key)
    pending.status, pending.definition_id = "deployed", definition.id
    audit.record(call.session, actor=pending.decided_by or "system", action="bpmn.deploy",
                 object_type="process_definition", object_id=definition.id, now=call.now,
                 details={"key": definition.key, "version": definition.version, "sha256": definition.sha256,
                          "requested_by": pending.requested_by, "request": pending.id, "note": pending.note})
    return {"version": definition.version}


def reject_request(call: ServiceCall) -> dict:
    """Returned: the request is closed; nothing is deployed."""
    pending = call.session.get(DeploymentRequest, call.instance.ref_id)
    pending.status = "rejected"
    return {"status": "rejected"}


def register(runtime: Runtime, config: dict) -> None:
    """Register the approval's operations and its inbox completer."""
    runtime.register_operation("deploy_request", deploy_request)
    runtime.register_operation("reject_request", reject_request)
    actions.register(PROCESS_KEY, complete_item, may_complete=may_approve)
    runtime.declare_start_variables(PROCESS_KEY, {"request_id": 1})
