"""The KPI export for HR: the same figures as the dashboard, as XLSX (openpyxl) and CSV."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from .kpi import METRICS

HEADERS = ["期间", "部门", "人员"] + [f"{label}{part}" for label in METRICS.values() for part in ("", "分子", "分母")]


def rows_of(period: str, figures: list[dict]) -> list[list]:
    """One row per scope: period, department, person, then rate / numerator / denominator of each KPI."""
    rows = []
    for entry in figures:
        row = [period, entry.get("department") or "全公司", entry.get("person_name") or entry.get("person") or ""]
        for metric in METRICS:
            figure = entry[metric]
            row += [figure["rate"] if figure["rate"] is not None else "无数据", figure["numerator"], figure["denominator"]]
        rows.append(row)
    return rows


def to_xlsx(period: str, figures: list[dict], definitions: dict) -> bytes:
    """A workbook: the figures, and a sheet with each KPI's definition."""
    book = Workbook()
    sheet = book.active
    sheet.title = "考核指标"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows_of(period, figures):
        sheet.append(row)
    for column, width in zip("ABC", (10, 14, 18)):
        sheet.column_dimensions[column].width = width
    notes = book.create_sheet("指标口径")
    notes.append(["指标", "分子", "分母", "记录"])
    for metric, label in METRICS.items():
        d = definitions[metric]
        notes.append([label, d["numerator"], d["denominator"], d["records"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_csv(period: str, figures: list[dict]) -> bytes:
    """The figures as CSV, UTF-8 with a BOM so spreadsheet programs read the Chinese headers."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows_of(period, figures))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def table(session, config: dict, period, *, department: str | None = None) -> list[dict]:
    """What HR exports: the company (or the department) first, then each department (or each of its people)."""
    from ..org import service as org
    from . import kpi

    head = {"department": department or "", "person": "",
            **{k: v for k, v in kpi.figures(session, config, period, department=department).items() if k in METRICS}}
    rows = [head] + kpi.ranking(session, config, period, department=department)
    for row in rows:
        if row["person"]:
            row["person_name"] = org.display_name(session, row["person"])
    return rows
