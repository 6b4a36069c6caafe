"""What the destruction diagram calls (approved / returned), its inbox completer, and the nightly jobs."""
from __future__ import annotations

from engine import CronJob, Runtime, ServiceCall

from ..forms import keystore
from ..inbox import actions, escalations
from ..org import service as org
from . import service
from .models import Destruction


def destruction_approved(call: ServiceCall) -> dict:
    """Management approved: the batch waits for execution with its two supervisors."""
    batch = call.session.get(Destruction, call.instance.ref_id)
    service.mark(call.session, batch, "approved")
    return {"status": batch.status}


def destruction_returned(call: ServiceCall) -> dict:
    """Returned at a step: nothing will be destroyed; the forms may be proposed again."""
    batch = call.session.get(Destruction, call.instance.ref_id)
    service.mark(call.session, batch, "returned")
    return {"status": batch.status}


def escalation_candidates(session, step) -> list:
    """Who a late approval step may be given to: those who may decide it (a step of one head has nobody else)."""
    batch = service.get(session, step.ref_id)
    return [u for u in org.members_of(session, step.candidate_group or "")
            if service.may_decide(session, u, batch, step)]


def escalation_forbids(session, step, actor, action: str) -> str | None:
    """Never on a batch one proposed; a superior may take a late appraisal over and decide it (as a late hop's),
    but management's approval is decided only by management."""
    if action != "take_over":
        return None
    batch = service.get(session, step.ref_id)
    if actor.username == batch.created_by:
        return "不能审批自己提出的销毁申请"
    if step.task_name == "approve" and not service.may_decide(session, actor, batch, step):
        return f"“{step.title}”须由管理层审批, 不能接办; 可催办或改派"
    return None


ESCALATION_HOOKS = escalations.Hooks(candidates=escalation_candidates, forbids=escalation_forbids,
                                     audit_prefix="destruction")


def register(runtime: Runtime, config: dict) -> None:
    """Register the diagram's operations, the inbox completer, the role lanes and the nightly jobs."""
    runtime.register_operation("destruction_approved", destruction_approved)
    runtime.register_operation("destruction_returned", destruction_returned)
    actions.register(service.PROCESS_KEY, service.complete_item)
    escalations.register(service.PROCESS_KEY, ESCALATION_HOOKS)
    org.register_role_lane(service.ARCHIVE_HEAD_LANE, "the head of the archive")
    org.register_role_lane(service.DEPARTMENT_LANE, "the head of the department the forms belong to")
    sla = config["destruction"]["approval_sla"]
    runtime.declare_start_variables(  # the retention path and the error/duplicate path
        service.PROCESS_KEY, {"destruction_id": 1, "kind": "retention", "departments": [1, 2], "approval_sla": sla},
        {"destruction_id": 1, "kind": "error", "departments": [1], "approval_sla": sla})

    def retention_scan(session, now):
        batch = service.scan(session, runtime, config, now=now)
        return f"proposal #{batch.id}" if batch else "nothing past retention"

    def key_backup(session, now):
        return keystore.backup_keys(config, now=now).name

    runtime.cron.add(CronJob("destruction.retention_scan", config["destruction"]["scan_cron"], run=retention_scan,
                             title="保管期限扫描"))
    runtime.cron.add(CronJob("keys.backup", config["keys"]["backup_cron"], run=key_backup, title="密钥库备份"))
