"""External queries (R4.4.3): an authority's request with its legal basis, reported, reviewed, approved, disclosed.

The officials' ID document numbers are encrypted under the request's own data key (wrapped by the master key,
as a form's is) and shown masked. The outcome is a disclosure package (PDF + JSON) of only the approved fields,
watermarked with the request number, handed over with a recorded hand-over. When the external-transfer stage
is there, `record_handover` is where the package goes to it instead (its receipt replaces this record).
"""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Runtime

from .. import documents
from ..audit import service as audit
from ..errors import Conflict, Forbidden, ValidationFailed, written
from ..forms import personal
from ..org.models import User
from . import policy, service
from .models import DisclosureHandover, QueryOfficial, QueryRequest

MAX_OFFICIALS = 10


def _text(data: dict, key: str, label: str, limit: int, problems: dict) -> str:
    try:
        value = written(data, key, limit)
    except ValidationFailed as exc:
        problems.update(exc.details["fields"])
        return ""
    if not value:
        problems[key] = f"请填写{label}"
    return value


def _officials(officials, problems: dict) -> list[tuple[str, str]]:
    if not isinstance(officials, list) or not officials:
        problems["officials"] = "请登记至少一名执行人员的姓名和证件号码"
        return []
    if len(officials) > MAX_OFFICIALS:
        problems["officials"] = f"最多登记 {MAX_OFFICIALS} 名执行人员"
        return []
    found = []
    for n, person in enumerate(officials):
        person = person if isinstance(person, dict) else {}
        name, number = str(person.get("name") or "").strip(), str(person.get("id_number") or "").strip().upper()
        if not 2 <= len(name) <= 50:
            problems[f"officials.{n}.name"] = "请填写执行人员姓名 (2 至 50 字)"
        if not (6 <= len(number) <= 30 and number.isalnum() and number.isascii()):
            problems[f"officials.{n}.id_number"] = "证件号码应为 6 至 30 位字母或数字"
        found.append((name, number))
    return found


def _deadline(due_date, now: datetime, zone: str, problems: dict) -> datetime | None:
    """The authority's deadline: end of that day in the business zone, which must lie ahead."""
    try:
        day = due_date if isinstance(due_date, date) else date.fromisoformat(str(due_date or ""))
    except ValueError:
        problems["due_date"] = "请填写有效的办理期限 (如 2026-03-10)"
        return None
    deadline = datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(zone))
    if deadline <= now:
        problems["due_date"] = "办理期限已过, 请核对来文"
        return None
    return deadline


def file_external(session: Session, runtime: Runtime, config: dict, *, actor: User, data: dict,
                  now: datetime) -> QueryRequest:
    """登记外部查询: an authority's request with its legal basis, into report → compliance → management."""
    if not policy.may_register_external(actor):
        raise Forbidden("只有窗口及业务人员可以登记外部查询")
    problems: dict = {}
    authority = _text(data, "authority", "来文机关", 200, problems)
    legal_basis = _text(data, "legal_basis", "法律依据 (法律名称及条款)", 1000, problems)
    document_number = _text(data, "document_number", "来文文书编号", 100, problems)
    scope = _text(data, "purpose", "查询范围/事由", service.PURPOSE_LIMIT, problems)
    officials = _officials(data.get("officials"), problems)
    deadline = _deadline(data.get("due_date"), now, config["app"]["timezone"], problems)
    try:
        forms = service.check_forms(session, data.get("form_ids"))
        codes, sensitive = service.check_fields(forms, data.get("fields"))
    except ValidationFailed as exc:
        problems.update(exc.details["fields"])
    if problems:
        raise ValidationFailed(problems)
    request = QueryRequest(number="tmp", kind="external", status="pending", applicant=actor.username,
                           department_id=actor.department_id, form_ids=[f.id for f in forms], fields=codes,
                           purpose=scope, days=None, copy=True, special=True, created_at=now, authority=authority,
                           legal_basis=legal_basis, document_number=document_number, due_date=deadline)
    session.add(request)
    session.flush()
    ring = personal.keyring(config)
    key = personal.data_key(ring, request)  # a request holds its key as a form does
    for seq, (name, number) in enumerate(officials):
        session.add(QueryOfficial(request_id=request.id, seq=seq, name=name, id_number_masked=mask_id(number),
                                  id_number_sealed=personal.encrypt(key, request.id, f"official:{seq}", number)))
    return service.start_approval(session, runtime, config, request, actor=actor, now=now,
                          data={"kind": "external", "special": True, "deadline": deadline.isoformat()})


def mask_id(number: str) -> str:
    """An ID document number as shown: the first 2 and last 4 characters."""
    return number[:2] + "*" * max(len(number) - 6, 2) + number[-4:] if len(number) > 6 else "*" * len(number)


def officials_of(session: Session, request: QueryRequest) -> list[QueryOfficial]:
    """The officials registered on a request, in order (ID numbers masked)."""
    return list(session.scalars(select(QueryOfficial).where(QueryOfficial.request_id == request.id)
                                .order_by(QueryOfficial.seq)))


def official_id(session: Session, config: dict, request: QueryRequest, official: QueryOfficial) -> str:
    """An official's ID number in clear (for the hand-over check at the counter)."""
    key = personal.data_key(personal.keyring(config), request)
    return personal.decrypt(key, request.id, f"official:{official.seq}", official.id_number_sealed)


def approved(request: QueryRequest, now: datetime) -> None:
    """Management approved the disclosure."""
    request.status, request.decided_at = "approved", now


def package(session: Session, config: dict, request: QueryRequest) -> dict:
    """The disclosure package's content: the request and only the approved fields of each form."""
    if request.kind != "external" or request.status != "approved":
        raise Conflict("该外部查询尚未批准, 不能生成披露材料", code="not_approved")
    forms = []
    for form in service.forms_of(session, request):
        labels = {f["code"]: f["label"] for f in form.template_version.fields}
        values, shown = service.granted_values(session, config, form, request.fields)
        forms.append({"number": form.number,
                      "fields": [{"code": c, "label": labels[c], "value": values.get(c)} for c in shown]})
    return {"request": request.number, "authority": request.authority, "legal_basis": request.legal_basis,
            "document_number": request.document_number, "approved_at": request.decided_at.isoformat(),
            "officials": [o.name for o in officials_of(session, request)], "forms": forms}


def package_files(session: Session, config: dict, request: QueryRequest, *, actor: User, now: datetime,
                  fmt: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the package as PDF or JSON; the download is audited."""
    if not policy.may_handle_disclosure(session, actor, request):
        raise Forbidden("您无权下载该披露材料")
    content = package(session, config, request)
    digest = documents.content_sha256(content)
    audit.record(session, actor=actor.username, action="query.disclosure_download", object_type="query_request",
                 object_id=request.id, now=now, details={"number": request.number, "format": fmt, "sha256": digest})
    if fmt == "json":
        import json

        body = json.dumps({"package": content, "sha256": digest, "watermark": f"披露编号 {request.number}"},
                          ensure_ascii=False, indent=2).encode("utf-8")
        return body, "application/json", f"{request.number}.json"
    pdf = documents.render_pdf("queries_disclosure.html", title="查询披露材料", number=request.number,
                               issuer="Guichet", generated_at=request.decided_at, content_sha256=digest,
                               watermark=f"披露编号 {request.number} 仅限 {request.authority}",
                               zone=config["app"]["timezone"], package=content,
                               approved_at=request.decided_at)
    return pdf, "application/pdf", f"{request.number}.pdf"


def record_handover(session: Session, config: dict, *, request: QueryRequest, actor: User, received_by: str,
                    note: str, now: datetime) -> DisclosureHandover:
    """披露交付: the package handed to one of the registered officials, with the package's hash."""
    if not policy.may_handle_disclosure(session, actor, request):
        raise Forbidden("您无权交付该披露材料")
    names = [o.name for o in officials_of(session, request)]
    if received_by not in names:
        raise ValidationFailed({"received_by": "接收人须为来文登记的执行人员之一"})
    note = written({"note": note}, "note")
    digest = documents.content_sha256(package(session, config, request))
    handed = DisclosureHandover(request_id=request.id, package_sha256=digest, received_by=received_by,
                                handed_by=actor.username, handed_at=now, note=note or None)
    session.add(handed)
    session.flush()
    audit.record(session, actor=actor.username, action="query.disclosure_handover", object_type="query_request",
                 object_id=request.id, now=now, details={"number": request.number, "sha256": digest, "handover": handed.id})
    return handed


def handovers_of(session: Session, request: QueryRequest) -> list[DisclosureHandover]:
    """The recorded hand-overs of a package, oldest first."""
    return list(session.scalars(select(DisclosureHandover).where(DisclosureHandover.request_id == request.id)
                                .order_by(DisclosureHandover.id)))

