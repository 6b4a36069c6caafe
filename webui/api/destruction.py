"""Retention and destruction (R4.5): rules, holds, forms due, batches, execution and the 销毁清册."""
from __future__ import annotations

from flask_smorest import Blueprint

from processes.destruction import execution, holds, policy, register, retention
from processes.destruction import service as destruction
from processes.destruction.schemas import (
    DestructionCreateSchema,
    DestructionExecuteSchema,
    DestructionReadSchema,
    DestructionSubmitSchema,
    DueReadSchema,
    HoldCreateSchema,
    HoldReadSchema,
    HoldReleaseSchema,
    RetentionRuleCreateSchema,
    RetentionRuleReadSchema,
)

from ..auth import actor, require_bearer
from ..context import db, guichet, now
from ..downloads import attachment_response

blp = Blueprint("api_destruction", __name__, url_prefix="/api/v1", description="保管期限与销毁 · Retention and destruction")
blp.before_request(require_bearer)


@blp.route("/retention-rules", methods=["GET"])
@blp.response(200, RetentionRuleReadSchema(many=True))
def rules():
    """Every business type's retention rule."""
    policy.ensure_reader(actor())
    return retention.rules(db(), guichet().config, now())


@blp.route("/retention-rules/<business_type>", methods=["PUT"])
@blp.arguments(RetentionRuleCreateSchema())
@blp.response(200, RetentionRuleReadSchema)
def set_rule(body, business_type):
    """Set a business type's retention (management); under five years is refused."""
    return retention.set_rule(db(), guichet().config, actor=actor(), business_type=business_type, body=body, now=now())


@blp.route("/holds", methods=["GET"])
@blp.response(200, HoldReadSchema(many=True))
def list_holds():
    """Holds, newest first."""
    policy.ensure_reader(actor())
    return holds.list_holds(db())


@blp.route("/holds", methods=["POST"])
@blp.arguments(HoldCreateSchema())
@blp.response(201, HoldReadSchema)
def place_hold(body):
    """暂缓销毁 a form or a volume (management or compliance), with the reason."""
    return holds.place(db(), actor=actor(), body=body, now=now())


@blp.route("/holds/<int:hold_id>/release", methods=["POST"])
@blp.arguments(HoldReleaseSchema())
@blp.response(200, HoldReadSchema)
def release_hold(body, hold_id):
    """Release a hold, with the reason."""
    return holds.release(db(), actor=actor(), hold_id=hold_id, body=body, now=now())


@blp.route("/retention/due", methods=["GET"])
@blp.response(200, DueReadSchema(many=True))
def due():
    """Filed forms past retention and not held, oldest first."""
    policy.ensure_reader(actor())
    return retention.due(db(), guichet().config, now=now())


def _read(batch):
    batch.form_ids = destruction.item_form_ids(db(), batch.id)
    batch.steps = destruction.steps_of(db(), batch.id)
    return batch


@blp.route("/destructions", methods=["GET"])
@blp.response(200, DestructionReadSchema(many=True))
def list_batches():
    """Destruction batches, newest first."""
    policy.ensure_reader(actor())
    return [_read(b) for b in destruction.list_batches(db())]


@blp.route("/destructions", methods=["POST"])
@blp.arguments(DestructionCreateSchema())
@blp.response(201, DestructionReadSchema)
def create(body):
    """Propose a retention list (archivist) or apply for an error / duplicate (the forms' department)."""
    services = guichet()
    return _read(destruction.create(db(), services.runtime, services.config, actor=actor(), body=body, now=now()))


@blp.route("/destructions/<int:destruction_id>", methods=["GET"])
@blp.response(200, DestructionReadSchema)
def read(destruction_id):
    """One batch with its forms and approval steps."""
    policy.ensure_reader(actor())
    return _read(destruction.get(db(), destruction_id))


@blp.route("/destructions/<int:destruction_id>/submit", methods=["POST"])
@blp.arguments(DestructionSubmitSchema())
@blp.response(201, DestructionReadSchema)
def submit(body, destruction_id):
    """Submit the nightly scan's proposal into approval (archivist)."""
    services = guichet()
    return _read(destruction.submit_proposal(db(), services.runtime, services.config, actor=actor(),
                                             destruction_id=destruction_id, body=body, now=now()))


@blp.route("/destructions/<int:destruction_id>/execute", methods=["POST"])
@blp.arguments(DestructionExecuteSchema())
@blp.response(200, DestructionReadSchema)
def execute(body, destruction_id):
    """Check, confirm the two supervisors by password, and destroy (crypto-shredding, tombstones)."""
    return _read(execution.execute(db(), guichet().config, actor=actor(), destruction_id=destruction_id, body=body,
                                   now=now()))


@blp.route("/destructions/<int:destruction_id>/register.pdf", methods=["GET"])
def register_pdf(destruction_id):
    """销毁清册 as a PDF."""
    policy.ensure_reader(actor())
    batch = destruction.get(db(), destruction_id)
    pdf = register.register_pdf(db(), guichet().config, batch, now=now())
    return attachment_response(f"destruction-register-{batch.id}.pdf", "application/pdf", pdf)
