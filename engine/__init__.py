"""BPMN runtime on SpiffWorkflow: deployment, instances, work items and timers.

Knows nothing about business forms; stages register the operations their diagrams call. This module is
the engine's whole interface to the stages (`processes/`): they import these names and nothing else from
the engine (tests/test_layers.py checks it), except that a stage's `rows.py` may use `engine.prepared`.
"""
from .config import load_config
from .context import TransactionContext, transaction
from .cron import CronJob, daily, monthly
from .db import Base, UTCDateTime, make_engine, make_session_factory, unit_of_work, utcnow
from .deploy import DeploymentError, Problem, latest_definition
from .errors import Conflict, EngineError, Invalid, NotFound
from .models import CalendarDay, ProcessDefinition, ProcessInstance, WorkItem
from .prepared import savepoint
from .rows import Instance, Item
from .budget import Limits, StepFailed
from .incidents import record_step_failure
from .runtime import Runtime, ServiceCall, StepResult
from .workcalendar import CalendarError, WorkCalendar, WorkingDays, is_working_time_sla

__all__ = [
    # running processes
    "Runtime", "StepResult", "ServiceCall", "Item", "Instance", "TransactionContext", "transaction",
    # scheduled jobs a stage registers (runtime.cron.add)
    "CronJob", "daily", "monthly",
    # working time: SLAs counted in office hours on the statutory calendar (processes/transfer)
    "WorkCalendar", "WorkingDays", "CalendarDay", "is_working_time_sla", "CalendarError",
    # errors a stage catches or lets through (the web layer answers them)
    "EngineError", "NotFound", "Conflict", "Invalid", "DeploymentError", "Problem",
    # a step the diagram makes fail (over its budget, or broken): the caller rolls back and records an incident
    "StepFailed", "record_step_failure", "Limits",
    # a savepoint around such a step whose writes are prepared statements (cheaper than session.begin_nested())
    "savepoint",
    # the model base of every stage's tables, and the engine's tables as pages and reports read them
    "Base", "UTCDateTime", "ProcessDefinition", "ProcessInstance", "WorkItem", "latest_definition",
    # putting the application together (processes/services.py)
    "load_config", "make_engine", "make_session_factory", "unit_of_work", "utcnow",
]
