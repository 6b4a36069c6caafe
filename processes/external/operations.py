"""What the external-transfer diagram calls: freeze the snapshot and send, mark a return, escalate a late receipt."""
from __future__ import annotations

from engine import Runtime, ServiceCall

from ..audit import service as audit
from ..forms.models import Form
from ..inbox import actions, escalations
from ..org import service as org
from ..transfer import operations as transfer_operations
from . import service, snapshot
from .models import ExternalTransfer


def _transfer(call: ServiceCall) -> ExternalTransfer:
    return call.session.get(ExternalTransfer, call.instance.ref_id)


def make_snapshot(config: dict):
    """The `external_snapshot` operation: the check (and approval) passed, so freeze what is sent and send it."""

    def external_snapshot(call: ServiceCall) -> dict:
        transfer = _transfer(call)
        form = call.session.get(Form, transfer.form_id)
        snap = snapshot.take(call.session, config, transfer, form, call.now)
        transfer.status, transfer.sent_at = "sent", call.now
        transfer.due_at = call.now + service.receipt_wait(config, transfer.receipt_days)
        audit.record(call.session, actor=transfer.approved_by or transfer.checked_by or "system",
                     action=snapshot.SNAPSHOT_ACTION, object_type="external_transfer", object_id=transfer.id,
                     now=call.now, details={"form": transfer.form_number, "snapshot_sha256": snap.sha256,
                                            "sealed_sha256": snap.sealed_sha256, "size": snap.size})
        return {"snapshot_sha256": snap.sha256}

    return external_snapshot


def external_returned(call: ServiceCall) -> dict:
    """Returned at the check or the approval: nothing leaves the company."""
    transfer = _transfer(call)
    transfer.status = "returned"
    return {"status": transfer.status}


def external_escalate(call: ServiceCall):
    """No receipt by the deadline: the same escalation items as a late internal hop (urge, reassign, take over),
    to the sender's superior, then the next level."""
    result = transfer_operations.escalate(call)
    transfer = _transfer(call)
    if result and transfer.status in ("sent", "overdue"):
        transfer.status, transfer.escalation_level = "overdue", result["level"]
        audit.record(call.session, actor="system", action="external_transfer.escalate", object_type="external_transfer",
                     object_id=transfer.id, now=call.now, details={"level": result["level"]})
    return result


def register(runtime: Runtime, config: dict) -> None:
    """Register this stage's operations, its inbox completer and its role lanes."""
    runtime.register_operation("external_snapshot", make_snapshot(config))
    runtime.register_operation("external_returned", external_returned)
    runtime.register_operation("external_escalate", external_escalate)
    actions.register(service.PROCESS_KEY, service.complete_item)
    # The late receipt has a handover record, so its 督办 is recorded as a late hop's.
    escalations.register(service.PROCESS_KEY, transfer_operations.ESCALATION_HOOKS)
    runtime.declare_start_variables(  # with and without management's approval of a full-field transfer
        service.PROCESS_KEY, {"transfer_id": 1, "receipt_sla": "PT259200S", "approval": "needed"},
        {"transfer_id": 1, "receipt_sla": "PT259200S", "approval": "none"})
    org.register_role_lane("移交部门核对人", "a second person of the sending department (its head by default)")
    org.register_role_lane("移交经办人", "the person who asked for the external transfer")
