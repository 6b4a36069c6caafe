"""The three indicators of R5.4, per department, person and period, from indexed aggregate queries.

- 填写准确率 filling accuracy: forms submitted without a correction or a return for correction ÷ forms submitted
  (by submission time; the department and person who filled the form);
- 流转及时率 on-time circulation: hops completed within their SLA ÷ hops completed (by completion time; the
  department the hop was handed to and the person who completed it);
- 存储安全率 storage security: integrity checks and backup verifications passed ÷ performed (the archive's
  records, organisation-wide: storage belongs to no department or person); a period with none performed says
  "no data" (rate None), never 100%.

A month that has a snapshot (frozen by the monthly job) is read from it, so later corrections do not
rewrite history; months without one are computed fresh. `[kpi]` in config.toml chooses what counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, false, func, or_, select
from sqlalchemy.orm import Session

from ..archive.integrity import storage_checks
from ..forms.models import Correction, Form
from ..org.models import Department
from ..transfer.models import Handover
from . import periods
from .models import KpiSnapshot
from .periods import Period

METRICS = {"filling_accuracy": "填写准确率", "on_time_circulation": "流转及时率", "storage_security": "存储安全率"}
Counts = dict[str, list[int]]  # metric -> [numerator, denominator]


@dataclass(frozen=True)
class Rules:
    """What counts, from `[kpi]` (HR defines the method, R5.4)."""

    corrections_flaw: bool = True
    returns_flaw: bool = True
    returned_hops_count: bool = True

    @classmethod
    def of(cls, config: dict) -> "Rules":
        """The rules config.toml's `[kpi]` section sets."""
        section = config.get("kpi", {})
        return cls(corrections_flaw=bool(section.get("accuracy_counts_corrections", True)),
                   returns_flaw=bool(section.get("accuracy_counts_returns", True)),
                   returned_hops_count=bool(section.get("circulation_counts_returned_hops", True)))

    def definitions(self) -> dict[str, dict[str, str]]:
        """Numerator, denominator and records of each KPI, as the dashboard shows them."""
        flaws = "、".join(([("更正")] if self.corrections_flaw else []) + (["退回补正"] if self.returns_flaw else [])) or "无"
        hops = "办结及退回的环节" if self.returned_hops_count else "办结的环节"
        return {
            "filling_accuracy": {"numerator": f"期间内提交且无{flaws}的业务单数", "denominator": "期间内提交的业务单数",
                                 "records": "业务单 (按提交时间; 填单部门、填单人)"},
            "on_time_circulation": {"numerator": f"在时限内完成的{hops}数", "denominator": f"期间内完成的{hops}数",
                                    "records": "交接记录 (按完成时间; 承办部门、办理人)"},
            "storage_security": {"numerator": "通过的完整性校验与备份验证次数", "denominator": "执行的完整性校验与备份验证次数",
                                 "records": "档案存储的完整性校验与备份验证记录 (全公司统计, 不分部门与个人)"},
        }


def zone_of(config: dict) -> ZoneInfo:
    """The business time zone."""
    return ZoneInfo(config["app"]["timezone"])


def rate(numerator: int, denominator: int) -> dict:
    """A KPI figure: rate (None when nothing was counted: "no data", never 100%), numerator, denominator."""
    return {"rate": round(numerator / denominator, 4) if denominator else None, "numerator": numerator,
            "denominator": denominator}


def _empty() -> Counts:
    return {metric: [0, 0] for metric in METRICS}


def _add(into: Counts, other: Counts) -> Counts:
    for metric, (num, den) in other.items():
        into[metric][0] += num
        into[metric][1] += den
    return into


# --- fresh computation ------------------------------------------------------------------------------------
def _flawed(rules: Rules):
    tests = []
    if rules.corrections_flaw:
        tests.append(exists().where(Correction.form_id == Form.id))
    if rules.returns_flaw:
        tests.append(exists().where(Handover.form_id == Form.id, Handover.kind == "return"))
    return or_(*tests) if tests else false()


def _hop_statuses(rules: Rules) -> tuple[str, ...]:
    return ("completed", "returned") if rules.returned_hops_count else ("completed",)


def _accuracy(session: Session, rules: Rules, start, end, *, department_id=None, person=None, group=()):
    query = select(*group, func.count(), func.sum(case((_flawed(rules), 1), else_=0))).where(
        Form.submitted_at >= start, Form.submitted_at < end)
    if department_id is not None:
        query = query.where(Form.department_id == department_id)
    if person is not None:
        query = query.where(Form.created_by == person)
    return session.execute(query.group_by(*group) if group else query).all()


def _circulation(session: Session, rules: Rules, start, end, *, department=None, person=None, group=()):
    query = select(*group, func.count(), func.sum(case((Handover.overdue.is_(False), 1), else_=0))).where(
        Handover.completed_at >= start, Handover.completed_at < end, Handover.status.in_(_hop_statuses(rules)))
    # The index leads with the department: name them all, so that each is one range of it.
    query = query.where(Handover.to_department == department if department is not None
                        else Handover.to_department.in_(_hop_departments(session)))
    if person is not None:
        query = query.where(Handover.completed_by == person)
    return session.execute(query.group_by(*group) if group else query).all()


def _hop_departments(session: Session) -> list[str]:
    """Every queue a hop can be handed to: the departments, and the lanes that name a role."""
    from ..org import service as org

    return sorted(set(_department_ids(session)) | set(org.ROLE_LANES))


def _department_ids(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Department.name, Department.id)).all())


def fresh(session: Session, config: dict, start: datetime, end: datetime, *, department: str | None = None,
          person: str | None = None) -> Counts:
    """The counts of [start, end) as the records stand now, for the company, a department or a person."""
    rules, counts = Rules.of(config), _empty()
    department_id = None
    if department is not None:
        department_id = _department_ids(session).get(department, -1)
    for total, flawed in _accuracy(session, rules, start, end, department_id=department_id, person=person):
        counts["filling_accuracy"] = [int(total) - int(flawed or 0), int(total)]
    for total, on_time in _circulation(session, rules, start, end, department=department, person=person):
        counts["on_time_circulation"] = [int(on_time or 0), int(total)]
    if department is None and person is None:
        counts["storage_security"] = list(storage_checks(session, start, end))
    return counts


def fresh_breakdown(session: Session, config: dict, start: datetime, end: datetime) -> dict[tuple[str, str], Counts]:
    """Counts of [start, end) per department (person "") and per (department, person)."""
    rules, found = Rules.of(config), {}
    names = {v: k for k, v in _department_ids(session).items()}
    for dept_id, who, total, flawed in _accuracy(session, rules, start, end,
                                                 group=(Form.department_id, Form.created_by)):
        for key in ((names.get(dept_id, ""), ""), (names.get(dept_id, ""), who)):
            pair = found.setdefault(key, _empty())["filling_accuracy"]
            pair[0] += int(total) - int(flawed or 0)
            pair[1] += int(total)
    for dept, who, total, on_time in _circulation(session, rules, start, end,
                                                  group=(Handover.to_department, Handover.completed_by)):
        for key in ((dept or "", ""), (dept or "", who or "")):
            pair = found.setdefault(key, _empty())["on_time_circulation"]
            pair[0] += int(on_time or 0)
            pair[1] += int(total)
    return found


# --- snapshots ------------------------------------------------------------------------------------------
def snapshot_months(session: Session, months) -> dict[str, datetime]:
    """{month: frozen at} of the months among `months` that have a snapshot."""
    rows = session.execute(select(KpiSnapshot.month, func.min(KpiSnapshot.frozen_at)).where(
        KpiSnapshot.month.in_(list(months)), KpiSnapshot.department == "", KpiSnapshot.person == "")
        .group_by(KpiSnapshot.month)).all()
    return dict(rows)


def freeze_month(session: Session, config: dict, *, month: str, now: datetime) -> int:
    """Freeze one month's counts (company, each department, each person); a frozen month is never rewritten.

    Returns the rows written (0 when the month was frozen already)."""
    if snapshot_months(session, [month]):
        return 0
    start, end = periods.month_bounds(month, zone_of(config))
    per_key = fresh_breakdown(session, config, start, end)
    per_key[("", "")] = fresh(session, config, start, end)
    rows = [KpiSnapshot(month=month, metric=metric, department=dept, person=who, numerator=num, denominator=den,
                        frozen_at=now)
            for (dept, who), counts in per_key.items() for metric, (num, den) in counts.items()]
    session.add_all(rows)
    session.flush()
    return len(rows)


def _snapshot_counts(session: Session, months, *, department=None, person=None) -> Counts:
    query = select(KpiSnapshot.metric, func.sum(KpiSnapshot.numerator), func.sum(KpiSnapshot.denominator)).where(
        KpiSnapshot.month.in_(list(months)))
    if person is not None:
        query = query.where(KpiSnapshot.person == person)
        if department is not None:
            query = query.where(KpiSnapshot.department == department)
    else:
        query = query.where(KpiSnapshot.department == (department or ""), KpiSnapshot.person == "")
    counts = _empty()
    for metric, num, den in session.execute(query.group_by(KpiSnapshot.metric)).all():
        if metric in counts:
            counts[metric] = [int(num or 0), int(den or 0)]
    return counts


def _runs(months, frozen) -> list[tuple[str, str]]:
    """Contiguous runs (first, last) of the months that are not frozen."""
    runs, current = [], None
    for month in months:
        if month in frozen:
            current = None
        elif current is None:
            current = [month, month]
            runs.append(current)
        else:
            current[1] = month
    return [tuple(r) for r in runs]


def counts(session: Session, config: dict, period: Period, *, department: str | None = None,
           person: str | None = None) -> tuple[Counts, dict[str, datetime]]:
    """(counts, frozen months) of a period: frozen months from their snapshot, the others fresh."""
    frozen = snapshot_months(session, period.months)
    total = _snapshot_counts(session, frozen, department=department, person=person) if frozen else _empty()
    zone = zone_of(config)
    for first, last in _runs(period.months, frozen):
        start, end = periods.month_bounds(first, zone)[0], periods.month_bounds(last, zone)[1]
        _add(total, fresh(session, config, start, end, department=department, person=person))
    return total, frozen


def figures(session: Session, config: dict, period: Period, *, department: str | None = None,
            person: str | None = None, compare: bool = False) -> dict:
    """The three KPIs of a scope and period; `compare` also recomputes frozen months fresh and says if they differ."""
    found, frozen = counts(session, config, period, department=department, person=person)
    result = {metric: rate(*found[metric]) for metric in METRICS}
    result["period"] = period.label
    result["snapshot"] = None
    if frozen:
        snapshot = {"months": sorted(frozen), "frozen_at": max(frozen.values())}
        if compare:
            start, end = periods.bounds(period, zone_of(config))
            now_counts = fresh(session, config, start, end, department=department, person=person)
            snapshot["differs"] = now_counts != found
            snapshot["fresh"] = {metric: rate(*now_counts[metric]) for metric in METRICS}
        result["snapshot"] = snapshot
    return result


def ranking(session: Session, config: dict, period: Period, *, department: str | None = None) -> list[dict]:
    """Departments (or, within `department`, persons) with their KPIs, best on-time circulation first."""
    frozen = snapshot_months(session, period.months)
    per_key: dict[tuple[str, str], Counts] = {}
    if frozen:
        query = select(KpiSnapshot.department, KpiSnapshot.person, KpiSnapshot.metric, func.sum(KpiSnapshot.numerator),
                       func.sum(KpiSnapshot.denominator)).where(KpiSnapshot.month.in_(list(frozen)),
                                                                 KpiSnapshot.department != "")
        for dept, who, metric, num, den in session.execute(query.group_by(
                KpiSnapshot.department, KpiSnapshot.person, KpiSnapshot.metric)).all():
            per_key.setdefault((dept, who), _empty())[metric] = [int(num or 0), int(den or 0)]
    zone = zone_of(config)
    for first, last in _runs(period.months, frozen):
        start, end = periods.month_bounds(first, zone)[0], periods.month_bounds(last, zone)[1]
        for key, found in fresh_breakdown(session, config, start, end).items():
            _add(per_key.setdefault(key, _empty()), found)
    if department is None:  # every department is ranked, those with nothing to count as "no data"
        for name in _department_ids(session):
            per_key.setdefault((name, ""), _empty())
    rows = []
    for (dept, who), found in per_key.items():
        if (department is None and who == "" and dept) or (department is not None and dept == department and who):
            rows.append({"department": dept, "person": who, **{m: rate(*found[m]) for m in METRICS}})
    rows.sort(key=lambda r: (-(r["on_time_circulation"]["rate"] or -1), -(r["filling_accuracy"]["rate"] or -1),
                             r["department"], r["person"]))
    return rows


def trend(session: Session, config: dict, months: list[str], *, department: str | None = None,
          person: str | None = None) -> list[dict]:
    """Month by month figures (the dashboard's trend chart)."""
    return [{"month": m, **{k: v for k, v in figures(session, config, periods.parse(m), department=department,
                                                          person=person).items() if k in METRICS}}
            for m in months]


# --- drill-down -------------------------------------------------------------------------------------------
def records(session: Session, config: dict, metric: str, period: Period, *, department: str | None = None,
            person: str | None = None, limit: int = 500) -> tuple[int, list[dict]]:
    """(how many, the first `limit`) records behind a KPI's denominator as they stand now, each saying if it counts."""
    rules = Rules.of(config)
    start, end = periods.bounds(period, zone_of(config))
    if metric == "filling_accuracy":
        corrected = exists().where(Correction.form_id == Form.id)
        returned = exists().where(Handover.form_id == Form.id, Handover.kind == "return")
        query = select(Form.id, Form.number, Form.created_by, Form.department_id, Form.submitted_at,
                       corrected.label("corrected"), returned.label("returned")).where(
            Form.submitted_at >= start, Form.submitted_at < end)
        if department is not None:
            query = query.where(Form.department_id == _department_ids(session).get(department, -1))
        if person is not None:
            query = query.where(Form.created_by == person)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        names = {v: k for k, v in _department_ids(session).items()}
        rows = [{"type": "form", "id": r.id, "number": r.number, "person": r.created_by,
                 "department": names.get(r.department_id, ""), "at": r.submitted_at, "corrected": bool(r.corrected),
                 "returned": bool(r.returned),
                 "counts": not ((rules.corrections_flaw and r.corrected) or (rules.returns_flaw and r.returned))}
                for r in session.execute(query.order_by(Form.submitted_at, Form.id).limit(limit)).all()]
        return int(total or 0), rows
    if metric == "on_time_circulation":
        query = select(Handover.id, Handover.form_id, Form.number, Handover.step_name, Handover.to_department,
                       Handover.completed_by, Handover.due_at, Handover.completed_at, Handover.overdue,
                       Handover.late_reason).join(Form, Form.id == Handover.form_id).where(
            and_(Handover.completed_at >= start, Handover.completed_at < end,
                 Handover.status.in_(_hop_statuses(rules))))
        query = query.where(Handover.to_department == department if department is not None
                            else Handover.to_department.in_(_hop_departments(session)))
        if person is not None:
            query = query.where(Handover.completed_by == person)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = [{"type": "handover", "id": r.id, "form_id": r.form_id, "number": r.number, "step": r.step_name,
                 "department": r.to_department, "person": r.completed_by, "due_at": r.due_at, "at": r.completed_at,
                 "late_reason": r.late_reason, "counts": not r.overdue}
                for r in session.execute(query.order_by(Handover.completed_at, Handover.id).limit(limit)).all()]
        return int(total or 0), rows
    return 0, []
