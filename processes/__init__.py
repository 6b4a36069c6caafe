"""Business stages: one package per stage, each with models, schemas, services and what its BPMN calls."""
from __future__ import annotations

from engine import Runtime, WorkCalendar, WorkingDays


def register_all(runtime: Runtime, config: dict) -> None:
    """Register every stage's service-task operations and script functions with the runtime."""
    from .archive import operations as archive_operations
    from .destruction import operations as destruction_operations
    from .external import operations as external_operations
    from .procedures import approval as deployment_approval
    from .queries import operations as query_operations
    from .supervision import operations as supervision_operations
    from .templates import operations as template_operations
    from .transfer import operations as transfer_operations

    runtime.working_days = WorkingDays(WorkCalendar.from_config(config))  # with the days listed on the calendar page
    transfer_operations.register(runtime, config)
    template_operations.register(runtime, config)
    deployment_approval.register(runtime, config)
    query_operations.register(runtime, config)
    supervision_operations.register(runtime, config)
    archive_operations.register(runtime, config)
    destruction_operations.register(runtime, config)
    external_operations.register(runtime, config)


def record_checks(session, config: dict) -> list[str]:
    """Problems in sealed records each stage keeps beside the audit chain (empty when all are intact)."""
    from .external import snapshot as external_snapshots

    return external_snapshots.check_all(session, config)
