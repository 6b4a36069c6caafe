"""GET /api/v1/kpis: the three KPIs of R5.4 per department, person and period; drill-down; XLSX and CSV exports."""
from __future__ import annotations

from flask_smorest import Blueprint

from processes.errors import ValidationFailed
from processes.supervision import export, kpi, periods, policy
from processes.supervision.schemas import KpiQuerySchema, KpiReadSchema, KpiRecordsQuerySchema

from ..auth import actor, require_bearer
from ..context import db, guichet
from ..downloads import attachment_response

blp = Blueprint("api_kpis", __name__, url_prefix="/api/v1/kpis", description="考核指标 · KPIs (R5.4)")
blp.before_request(require_bearer)


def _scope(query) -> tuple:
    """(period, department, person) of a query, checked: a bad period is a 422, someone else's figures a 403."""
    period = periods.parse(query["period"])
    department, person = query["department"] or None, query["person"] or None
    policy.ensure_kpis(actor(), department, person)
    return period, department, person


@blp.route("", methods=["GET"])
@blp.arguments(KpiQuerySchema(), location="query")
@blp.response(200, KpiReadSchema)
def figures(query):
    """The three KPIs: each {rate (null = no data), numerator, denominator}."""
    period, department, person = _scope(query)
    return kpi.figures(db(), guichet().config, period, department=department, person=person, compare=query["compare"])


@blp.route("/definitions", methods=["GET"])
def definitions():
    """How each KPI is counted ([kpi] in config.toml)."""
    return kpi.Rules.of(guichet().config).definitions()


@blp.route("/records", methods=["GET"])
@blp.arguments(KpiRecordsQuerySchema(), location="query")
def records(query):
    """The records behind a KPI (drill-down): how many, and the first `limit`, each saying whether it counts."""
    period, department, person = _scope(query)
    if query["metric"] not in kpi.METRICS:
        raise ValidationFailed({"metric": "指标应为 " + "、".join(kpi.METRICS)})
    total, rows = kpi.records(db(), guichet().config, query["metric"], period, department=department, person=person,
                              limit=max(1, min(query["limit"], 5000)))
    return {"metric": query["metric"], "period": period.label, "total": total,
            "records": [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows]}


def _export(query):
    period, department, _person = _scope(query)
    return period, export.table(db(), guichet().config, period, department=department)


@blp.route("/export.xlsx", methods=["GET"])
@blp.arguments(KpiQuerySchema(), location="query")
def export_xlsx(query):
    """The figures as an Excel workbook (with a sheet of definitions)."""
    period, rows = _export(query)
    content = export.to_xlsx(period.label, rows, kpi.Rules.of(guichet().config).definitions())
    return attachment_response(f"考核指标-{period.label}.xlsx",
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", content)


@blp.route("/export.csv", methods=["GET"])
@blp.arguments(KpiQuerySchema(), location="query")
def export_csv(query):
    """The figures as CSV (UTF-8 with BOM)."""
    period, rows = _export(query)
    return attachment_response(f"考核指标-{period.label}.csv", "text/csv; charset=utf-8", export.to_csv(period.label, rows))
