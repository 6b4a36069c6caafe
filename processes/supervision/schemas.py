"""Marshmallow schemas of the supervision API: what comes in (…CreateSchema) and what goes out (…ReadSchema).

Incoming values are taken loosely (text, raw JSON) and checked by the services, which answer with field
messages a clerk reads (e.g. a deadline in the past) rather than a type error.
"""
from __future__ import annotations

from marshmallow import Schema, fields

from ..inputs import Id, Whole


class KpiQuerySchema(Schema):
    """?department=&person=&period=2026-11|2026Q4|2026; compare=1 also recomputes frozen months."""

    department = fields.String(load_default=None)
    person = fields.String(load_default=None)
    period = fields.String(required=True)
    compare = fields.Boolean(load_default=False)


class KpiRecordsQuerySchema(KpiQuerySchema):
    """The drill-down of one KPI."""

    metric = fields.String(required=True)
    limit = Whole(1, 5000, "须为 1 到 5000 之间的整数", strict=False, load_default=500)


class FigureSchema(Schema):
    """One KPI: rate (null = no data), numerator, denominator."""

    rate = fields.Float(allow_none=True)
    numerator = fields.Integer()
    denominator = fields.Integer()


class KpiReadSchema(Schema):
    """The three KPIs of a scope and period, and whether frozen months were read from their snapshot."""

    period = fields.String()
    filling_accuracy = fields.Nested(FigureSchema)
    on_time_circulation = fields.Nested(FigureSchema)
    storage_security = fields.Nested(FigureSchema)
    snapshot = fields.Dict(allow_none=True)


class InspectionCreateSchema(Schema):
    """POST /inspections."""

    department = fields.String(required=True)
    stage = fields.String(required=True)


class FindingCreateSchema(Schema):
    """A manual finding."""

    title = fields.String(required=True)
    detail = fields.String(load_default="")


class EvaluationSchema(Schema):
    """The inspector's evaluation; checklist: {item: true/false}."""

    evaluation = fields.String(required=True)
    checklist = fields.Dict(load_default=dict)


class FindingReadSchema(Schema):
    """检查发现, with links to its records."""

    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    detail = fields.String(allow_none=True)
    count = fields.Integer()
    records = fields.List(fields.Dict())
    created_by = fields.String()


class InspectionReadSchema(Schema):
    """监督检查."""

    id = fields.Integer()
    number = fields.String()
    department = fields.String()
    stage = fields.String()
    stage_label = fields.String()
    kind = fields.String()
    checklist = fields.List(fields.Dict())
    status = fields.String()
    evaluation = fields.String(allow_none=True)
    inspector = fields.String()
    started_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    findings = fields.List(fields.Nested(FindingReadSchema))


class RectificationCreateSchema(Schema):
    """POST /rectifications: deadline as ISO 8601 with its zone."""

    department = fields.String(required=True)
    problem = fields.String(required=True)
    requirement = fields.String(required=True)
    deadline = fields.String(required=True)
    finding_id = Id("检查发现编号", load_default=None, allow_none=True)


class RectificationStepReadSchema(Schema):
    """A response or a re-inspection."""

    round = fields.Integer()
    decision = fields.String()
    text = fields.String()
    new_deadline = fields.DateTime(allow_none=True)
    decided_by = fields.String()
    decided_at = fields.DateTime()


class RectificationReadSchema(Schema):
    """整改通知书."""

    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    status_label = fields.String()
    department = fields.String()
    problem = fields.String()
    requirement = fields.String()
    deadline = fields.DateTime()
    overdue = fields.Boolean()
    issued_by = fields.String()
    issued_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    finding_id = fields.Integer(allow_none=True)
    task_id = fields.String(allow_none=True)
    steps = fields.List(fields.Nested(RectificationStepReadSchema))
    evidence = fields.List(fields.Dict())


class TrainingCreateSchema(Schema):
    """POST /trainings: topic (archives_law | pipl | consumer_rights | regulation), held_on YYYY-MM-DD."""

    topic = fields.String(required=True)
    title = fields.String(required=True)
    held_on = fields.String(required=True)
    trainer = fields.String(required=True)
    attendees = fields.Raw(load_default=list)


class TrainingReadSchema(Schema):
    """培训."""

    id = fields.Integer()
    topic = fields.String()
    topic_label = fields.String()
    title = fields.String()
    held_on = fields.Date()
    trainer = fields.String()
    attendees = fields.List(fields.String())


class OverdueTrainingSchema(Schema):
    """A member of staff without training in the last 12 months."""

    username = fields.String()
    name = fields.String()
    department = fields.String()
    last_training = fields.Date(allow_none=True)


class AppraisalCreateSchema(Schema):
    """POST /appraisals."""

    quarter = fields.String(required=True)
    subject_type = fields.String(required=True)
    subject = fields.String(required=True)
    rating = fields.String(required=True)
    note = fields.String(load_default="")


class AppraisalReadSchema(Schema):
    """考核评价."""

    id = fields.Integer()
    quarter = fields.String()
    subject_type = fields.String()
    subject = fields.String()
    rating = fields.String()
    rating_label = fields.String()
    note = fields.String(allow_none=True)
    recorded_by = fields.String()
    recorded_at = fields.DateTime()
