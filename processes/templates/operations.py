"""What the template-approval diagram calls: publish an approved version, or mark a returned one."""
from __future__ import annotations

from engine import Runtime, ServiceCall

from ..forms.models import TemplateVersion
from ..inbox import actions
from ..org import service as org
from . import service


def publish_template(call: ServiceCall) -> dict:
    """Both approvals given: the version becomes active (启用)."""
    version = call.session.get(TemplateVersion, call.instance.ref_id)
    service.publish(call.session, version, call.now)
    return {"status": version.status}


def reject_template(call: ServiceCall) -> dict:
    """Returned at review or approval: the version is rejected and stays readable."""
    version = call.session.get(TemplateVersion, call.instance.ref_id)
    service.reject(version)
    return {"status": version.status}


def register(runtime: Runtime, config: dict) -> None:
    """Register this stage's operations and its inbox completer."""
    runtime.register_operation("publish_template", publish_template)
    runtime.register_operation("reject_template", reject_template)
    actions.register(service.PROCESS_KEY, service.complete_item, may_complete=service.may_approve)
    runtime.declare_start_variables(service.PROCESS_KEY, {"template_version_id": 1})
    org.register_role_lane("设计部门负责人", "the head of the department that designed the template")
