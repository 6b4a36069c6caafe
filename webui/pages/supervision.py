"""The supervision area's KPI pages: the dashboard with its charts, the drill-down, HR's exports, training and appraisal."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from processes.errors import Forbidden
from processes.org import service as org
from processes.org.models import Department
from processes.supervision import export, kpi, periods, policy, training
from processes.supervision.models import RATINGS, TOPICS

from ..auth import actor
from ..context import db, guichet, now
from ..downloads import attachment_response

bp = Blueprint("supervision", __name__, url_prefix="/supervision")


def _scope():
    """(period, department, person) from the query string, checked; the default period is this month."""
    config = guichet().config
    period = periods.parse(request.args.get("period") or periods.month_of(now(), kpi.zone_of(config)))
    department = request.args.get("department") or None
    person = request.args.get("person") or None
    user = actor()
    if department is None and person is None and user.role not in policy.OVERSIGHT:
        department = policy.department_of(user) if user.role == "head" else None
        person = None if user.role == "head" else user.username
    policy.ensure_kpis(user, department, person)
    return period, department, person


@bp.route("/")
@login_required
def dashboard():
    """KPI cards with their definitions, the monthly trend, the department ranking and the ranking within one."""
    period, department, person = _scope()
    session, config = db(), guichet().config
    # Recomputing frozen months costs a fresh read of them: by default for one month, for longer periods on request.
    compare = period.kind == "month" or request.args.get("compare") == "1"
    figures = kpi.figures(session, config, period, department=department, person=person, compare=compare)
    months = periods.recent_months(now(), kpi.zone_of(config), 12) if period.kind == "month" else list(period.months)
    trend = kpi.trend(session, config, months, department=department, person=person)
    ranking = kpi.ranking(session, config, period) if person is None and department is None else []
    people = kpi.ranking(session, config, period, department=department) if department and person is None else []
    for row in people:
        row["name"] = org.display_name(session, row["person"])
    quarter = None if period.kind == "year" else period.label if period.kind == "quarter" else \
        f"{period.label[:4]}Q{(int(period.label[5:7]) - 1) // 3 + 1}"
    ratings = {(a.subject_type, a.subject): a for a in training.appraisals(session, quarter)} if quarter else {}
    return render_template("supervision_dashboard.html", figures=figures, ratings=ratings, quarter=quarter, trend=trend, ranking=ranking, people=people,
                           metrics=kpi.METRICS, definitions=kpi.Rules.of(config).definitions(), period=period,
                           department=department, person=person, departments=list(session.scalars(select(Department.name).order_by(Department.id))),
                           chart={"trend": trend, "ranking": ranking, "people": people, "labels": kpi.METRICS})


@bp.route("/records")
@login_required
def records():
    """The records behind one KPI (drill-down)."""
    period, department, person = _scope()
    metric = request.args.get("metric", "")
    if metric not in kpi.METRICS:
        from processes.errors import ValidationFailed

        raise ValidationFailed({"metric": _("请选择指标")})
    total, rows = kpi.records(db(), guichet().config, metric, period, department=department, person=person, limit=1000)
    return render_template("supervision_records.html", metric=metric, label=kpi.METRICS[metric], total=total, rows=rows,
                           period=period, department=department, person=person)


@bp.route("/export.<fmt>")
@login_required
def export_figures(fmt: str):
    """The figures for HR as XLSX or CSV."""
    period, department, _person = _scope()
    if fmt not in ("xlsx", "csv"):
        from flask import abort

        abort(404)
    rows = export.table(db(), guichet().config, period, department=department)
    if fmt == "csv":
        return attachment_response(f"考核指标-{period.label}.csv", "text/csv; charset=utf-8", export.to_csv(period.label, rows))
    return attachment_response(f"考核指标-{period.label}.xlsx",
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               export.to_xlsx(period.label, rows, kpi.Rules.of(guichet().config).definitions()))


@bp.route("/training")
@login_required
def trainings():
    """Training sessions, staff without training in the last 12 months, appraisal ratings; HR records both."""
    user = actor()
    policy.ensure_oversight(user)
    session = db()
    found = training.sessions(session)
    zone = kpi.zone_of(guichet().config)
    return render_template("supervision_training.html", sessions=found,
                           attendees=training.attendees_of(session, [s.id for s in found]),
                           overdue=training.overdue(session, now=now()), appraisals=training.appraisals(session),
                           topics=TOPICS, ratings=RATINGS, is_hr=user.role in policy.HR,
                           staff=org.members_of, quarter=periods.quarter_of(now(), zone),
                           departments=list(session.scalars(select(Department.name).order_by(Department.id))))


@bp.route("/training", methods=["POST"])
@login_required
def record_training():
    """HR records a session held and its attendees."""
    data = {k: request.form.get(k, "") for k in ("topic", "title", "held_on", "trainer")}
    data["attendees"] = [a.strip() for a in request.form.get("attendees", "").replace("，", ",").split(",") if a.strip()]
    training.record_session(db(), actor=actor(), data=data, now=now())
    flash(_("已记录培训"))
    return redirect(url_for("supervision.trainings"))


@bp.route("/appraisals", methods=["POST"])
@login_required
def record_appraisal():
    """HR records a quarterly rating."""
    data = {k: request.form.get(k, "") for k in ("quarter", "subject_type", "subject", "rating", "note")}
    if actor().role not in policy.HR:
        raise Forbidden(_("只有人力资源可以记录考核评价和培训"))
    training.record_appraisal(db(), actor=actor(), data=data, now=now())
    flash(_("已记录考核评价"))
    return redirect(url_for("supervision.trainings"))
