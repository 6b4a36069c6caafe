"""File query applications, decide their steps, grant, revoke, and read forms under a grant (R4.4.1-R4.4.2).

An internal application goes to the applicant's head; sensitive fields or a copy add management's special
approval. Approval ends in a grant: read-only, some fields of some forms, from–until, copy or not. Every view
under a grant writes an access-log row. External requests (R4.4.3) are in `external.py`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Item
from engine import Runtime, StepResult

from ..audit import service as audit
from ..errors import Conflict, Forbidden, Invalid, NotFound, ValidationFailed, written
from ..forms import personal
from ..forms.models import Form
from ..inputs import is_id
from ..forms.schemas import is_sensitive
from ..org import service as org
from ..org.models import User
from . import policy
from .models import AccessGrant, AccessLog, GrantedForm, QueryDecision, QueryRequest

PROCESS_KEY = "query_approval"
MAX_DAYS, MAX_FORMS, MAX_FIELDS = 30, 200, 100
PURPOSE_LIMIT = 500
HIDDEN = "******"  # a value outside the grant


def check_forms(session: Session, form_ids) -> list[Form]:
    """The forms asked for, refused with a message naming each id that does not exist, was destroyed or is a draft."""
    if not isinstance(form_ids, list) or not form_ids or not all(is_id(i) for i in form_ids):
        raise ValidationFailed({"form_ids": "请选择要查询的业务单"})
    if len(form_ids) > MAX_FORMS:
        raise ValidationFailed({"form_ids": f"一次最多查询 {MAX_FORMS} 份业务单"})
    ids = list(dict.fromkeys(form_ids))
    found = {f.id: f for f in session.scalars(select(Form).where(Form.id.in_(ids)))}
    missing = [str(i) for i in ids if i not in found or found[i].status == "destroyed"]
    if missing:
        raise ValidationFailed({"form_ids": f"业务单 {'、'.join(missing)} 不存在或已销毁"})
    drafts = [found[i].number for i in ids if found[i].status == "draft"]
    if drafts:
        raise ValidationFailed({"form_ids": f"业务单 {'、'.join(drafts)} 尚未提交, 不能查询"})
    return [found[i] for i in ids]


def check_fields(forms: list[Form], codes) -> tuple[list[str], bool]:
    """The field codes asked for (each must be on some chosen form) and whether any of them is sensitive."""
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and c for c in codes):
        raise ValidationFailed({"fields": "请选择要查看的字段"})
    if len(codes) > MAX_FIELDS:
        raise ValidationFailed({"fields": f"最多选择 {MAX_FIELDS} 个字段"})
    specs = {f["code"]: f for form in forms for f in form.template_version.fields}
    unknown = [c for c in codes if c not in specs]
    if unknown:
        raise ValidationFailed({"fields": f"所选业务单没有字段: {'、'.join(unknown)}"})
    codes = list(dict.fromkeys(codes))
    return codes, any(is_sensitive(specs[c]) for c in codes)


def check_days(days) -> int:
    """How long access is needed: 1 to 30 days."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationFailed({"days": f"查询期限须为 1 至 {MAX_DAYS} 天"})
    return days


def check_purpose(text) -> str:
    """The purpose, 2 to 500 characters, refused rather than cut."""
    purpose = written({"purpose": text}, "purpose", PURPOSE_LIMIT)
    if len(purpose) < 2:
        raise ValidationFailed({"purpose": f"请说明查询用途 (2 至 {PURPOSE_LIMIT} 字)"})
    return purpose


def file_internal(session: Session, runtime: Runtime, config: dict, *, actor: User, form_ids, fields, purpose,
                  days, copy, now: datetime) -> QueryRequest:
    """业务单查询申请 (R4.4.1): which forms, which fields, why, how long, copy or not; into approval at once."""
    problems = {}
    for key, check in (("purpose", lambda: check_purpose(purpose)), ("days", lambda: check_days(days))):
        try:
            check()
        except ValidationFailed as exc:
            problems.update(exc.details["fields"])
    try:
        forms = check_forms(session, form_ids)
        codes, sensitive = check_fields(forms, fields)
    except ValidationFailed as exc:
        problems.update(exc.details["fields"])
    if problems:
        raise ValidationFailed(problems)
    if not isinstance(copy, bool):
        raise ValidationFailed({"copy": "须为是或否"})
    request = QueryRequest(number="tmp", kind="internal", status="pending", applicant=actor.username,
                           department_id=actor.department_id, form_ids=[f.id for f in forms], fields=codes,
                           purpose=check_purpose(purpose), days=days, copy=copy, special=sensitive or copy,
                           created_at=now)
    return start_approval(session, runtime, config, request, actor=actor, now=now,
                  data={"kind": "internal", "special": request.special,
                        "approval_sla": config.get("queries", {}).get("approval_sla", "PT8H")})


def start_approval(session: Session, runtime: Runtime, config: dict, request: QueryRequest, *, actor: User,
                   now: datetime, data: dict) -> QueryRequest:
    """Number a new application, start its approval (`data`: references and switches only) and route the first step."""
    session.add(request)
    session.flush()
    local = now.astimezone(ZoneInfo(config["app"]["timezone"]))
    request.number = f"{'CX' if request.kind == 'internal' else 'WC'}{local:%Y%m%d}{request.id:05d}"
    result = runtime.start(session, PROCESS_KEY, data={"request_id": request.id, **data}, actor=actor.username,
                           now=now, business_key=request.number, subject=subject(request, actor),
                           ref_type="query_request", ref_id=request.id)
    request.process_instance_id = result.instance.id
    audit.record(session, actor=actor.username, action="query.apply", object_type="query_request",
                 object_id=request.id, now=now, details={"number": request.number, "kind": request.kind,
                                                         "forms": request.form_ids, "fields": request.fields,
                                                         "days": request.days, "copy": request.copy})
    route(session, runtime, result, request)
    return request


def subject(request: QueryRequest, applicant: User) -> str:
    """What an approver's inbox says: who asks, and what for."""
    purpose = request.purpose if len(request.purpose) <= 40 else request.purpose[:40] + "…"
    return f"{request.kind_label}: {applicant.display_name} · {purpose}"


def route(session: Session, runtime: Runtime, result: StepResult, request: QueryRequest) -> None:
    """Role-lane items go to a person: the first approval to the applicant's head, the external report to the
    registrant's superior; the other steps wait in their department's queue."""
    for opened in result.opened:
        if opened.task_name not in ("head_review", "superior_report"):
            continue
        applicant = org.get_by_username(session, request.applicant)
        approver = policy.approver_for(session, applicant) if applicant is not None else None
        if approver is not None:
            runtime.update_item(session, opened, candidate_group=approver.department.name, assignee=approver.username)
        else:  # nobody above the applicant: management's queue decides
            runtime.update_item(session, opened, candidate_group="公司管理层")


def complete_item(session: Session, runtime: Runtime, *, item: Item, actor: User, data: dict,
                  now: datetime) -> StepResult:
    """Approve or return one step (the inbox completer of process query_approval); each decision has a comment."""
    if item.kind != "task":
        raise Invalid("该事项不是审批任务", code="not_a_task")
    request = session.get(QueryRequest, item.ref_id)
    if request is None:
        raise NotFound("查询申请不存在", code="query_not_found")
    policy.ensure_may_decide(session, actor, request, item.task_name, item)
    decision = str(data.get("decision") or "")
    if decision not in ("approve", "return"):
        raise ValidationFailed({"decision": "请选择“同意”或“退回”"})
    comment = written(data, "comment")
    if not comment:
        raise ValidationFailed({"comment": "请填写审批意见"})
    result = runtime.complete(session, item, actor=actor.username, now=now, data={"decision": decision})
    session.add(QueryDecision(request_id=request.id, step=item.task_name, decision=decision, comment=comment,
                              decided_by=actor.username, decided_at=now))
    audit.record(session, actor=actor.username, action=f"query.{item.task_name}", object_type="query_request",
                 object_id=request.id, now=now, details={"number": request.number, "decision": decision})
    route(session, runtime, result, request)
    return result


def grant(session: Session, request: QueryRequest, now: datetime) -> AccessGrant:
    """The grant an approved internal application gives: from now for the days asked, read-only."""
    given = AccessGrant(request_id=request.id, grantee=request.applicant, form_ids=request.form_ids,
                        fields=request.fields, copy=request.copy, starts_at=now,
                        expires_at=now + timedelta(days=request.days))
    session.add(given)
    session.flush()
    session.add_all([GrantedForm(grant_id=given.id, form_id=f, grantee=given.grantee, expires_at=given.expires_at)
                     for f in request.form_ids])
    request.status, request.decided_at = "approved", now
    audit.record(session, actor="system", action="query.grant", object_type="query_request", object_id=request.id,
                 now=now, details={"number": request.number, "grant": given.id, "grantee": given.grantee,
                                   "expires_at": given.expires_at.isoformat(), "copy": given.copy})
    return given


def returned(request: QueryRequest, now: datetime) -> None:
    """A returned application: kept, readable, grants nothing."""
    request.status, request.decided_at = "returned", now


def revoke(session: Session, *, request: QueryRequest, actor: User, now: datetime) -> AccessGrant:
    """End a live grant early: the next request under it is refused."""
    if not policy.may_revoke(session, actor, request):
        raise Forbidden("只有审批人或管理层可以撤销查询授权")
    given = grant_of(session, request)
    if given is None or given.revoked_at is not None or given.expires_at <= now:
        raise Conflict("该申请没有有效的查询授权", code="no_live_grant")
    given.revoked_at, given.revoked_by = now, actor.username
    for row in session.scalars(select(GrantedForm).where(GrantedForm.grant_id == given.id)):
        row.expires_at = now
    request.status = "revoked"
    audit.record(session, actor=actor.username, action="query.revoke", object_type="query_request",
                 object_id=request.id, now=now, details={"number": request.number, "grant": given.id})
    session.flush()
    return given


def status(request: QueryRequest, given: AccessGrant | None, now: datetime) -> str:
    """pending, approved, returned, expired or revoked, as of now."""
    if request.status == "approved" and given is not None and given.expires_at <= now:
        return "expired"
    return request.status


def summary(session: Session, request: QueryRequest, now: datetime) -> dict:
    """An application as the API shows it: its status as of now, its grant and decisions."""
    given = grant_of(session, request)
    return {**{c: getattr(request, c) for c in ("id", "number", "kind", "applicant", "form_ids", "fields", "purpose",
                                                 "days", "copy", "special", "created_at", "authority",
                                                 "document_number", "due_date")},
            "status": status(request, given, now), "grant": given, "decisions": decisions_of(session, request)}


def get(session: Session, request_id: int) -> QueryRequest:
    """An application by id; NotFound otherwise."""
    request = session.get(QueryRequest, request_id)
    if request is None:
        raise NotFound("查询申请不存在", code="query_not_found")
    return request


def grant_of(session: Session, request: QueryRequest) -> AccessGrant | None:
    """The grant an application gave, if any."""
    return session.scalars(select(AccessGrant).where(AccessGrant.request_id == request.id)).first()


def decisions_of(session: Session, request: QueryRequest) -> list[QueryDecision]:
    """The approval decisions, oldest first."""
    return list(session.scalars(select(QueryDecision).where(QueryDecision.request_id == request.id)
                                .order_by(QueryDecision.id)))


def mine(session: Session, actor: User, limit: int = 100) -> list[QueryRequest]:
    """The actor's applications, newest first."""
    return list(session.scalars(select(QueryRequest).where(QueryRequest.applicant == actor.username)
                                .order_by(QueryRequest.id.desc()).limit(limit)))


def visible(session: Session, actor: User, limit: int = 100) -> list[QueryRequest]:
    """Applications the actor may see (their own, and those they oversee or approve), newest first."""
    recent = session.scalars(select(QueryRequest).order_by(QueryRequest.id.desc()).limit(limit * 3))
    return [r for r in recent if policy.may_see(session, actor, r)][:limit]


def ids_by_number(session: Session, numbers: list[str]) -> dict[str, int]:
    """Form ids by form number (numbers not found are left out)."""
    if not numbers:
        return {}
    return dict(session.execute(select(Form.number, Form.id).where(Form.number.in_(numbers))).all())


SEARCH_LIMIT = 50


def search(session: Session, *, business_type: str = "", customer_name: str = "", date_from: str = "",
           date_to: str = "") -> list[Form]:
    """Submitted forms by business type, period (submission date) and customer name; at most SEARCH_LIMIT."""
    query = select(Form).where(Form.status != "draft")
    if business_type:
        query = query.where(Form.business_type.contains(business_type))
    for bound, op in ((date_from, "ge"), (date_to, "le")):
        try:
            day = datetime.fromisoformat(bound) if bound else None
        except ValueError:
            day = None
        if day is not None:
            day = day.replace(tzinfo=day.tzinfo or ZoneInfo("UTC"))
            query = query.where(Form.submitted_at >= day if op == "ge" else Form.submitted_at < day + timedelta(days=1))
    found = session.scalars(query.order_by(Form.id.desc()).limit(SEARCH_LIMIT * 10))
    # Customer names are in the form's values (JSON): compared here rather than in SQL dialect by dialect.
    return [f for f in found if not customer_name or customer_name in str(f.current_data.get("customer_name") or "")
            ][:SEARCH_LIMIT]


def forms_of(session: Session, request: QueryRequest) -> list[Form]:
    """The forms an application names (those still there), in its order."""
    found = {f.id: f for f in session.scalars(select(Form).where(Form.id.in_(request.form_ids)))}
    return [found[i] for i in request.form_ids if i in found]


def field_labels(forms: list[Form], codes: list[str]) -> list[str]:
    """The labels of field codes as the forms' templates name them."""
    labels = {f["code"]: f["label"] for form in forms for f in form.template_version.fields}
    return [labels.get(code, code) for code in codes]


def granted_values(session: Session, config: dict, form: Form, fields: list[str]) -> tuple[dict, list[str]]:
    """The form's values with the granted fields in full (sensitive ones decrypted) and the rest masked."""
    granted, current, shown = set(fields), form.current_data, []
    sensitive = set(form.sensitive_fields)
    values = {}
    for spec in form.template_version.fields:
        code, value = spec["code"], current.get(spec["code"])
        if code in granted:
            shown.append(code)
            if code in sensitive and value not in (None, ""):
                value = personal.load(session, personal.keyring(config), form, code)
            values[code] = value
        elif code in sensitive or value in (None, ""):
            values[code] = value  # personal data is stored masked already
        else:
            values[code] = HIDDEN
    return values, shown


def view_under_grant(session: Session, config: dict, *, form: Form, given: AccessGrant, actor: User, channel: str,
                     now: datetime) -> dict:
    """One view of a form under a grant: its values as the grant allows, logged (access log and audit chain)."""
    values, shown = granted_values(session, config, form, given.fields)
    session.add(AccessLog(grant_id=given.id, form_id=form.id, viewer=actor.username, fields=shown, channel=channel,
                          viewed_at=now))
    audit.record(session, actor=actor.username, action="form.view_granted", object_type="form", object_id=form.id,
                 now=now, details={"number": form.number, "grant": given.id, "fields": shown, "channel": channel})
    return values


class GrantedView:
    """A form as read under a grant: the form's own attributes, its values as the grant allows, the grant's id."""

    def __init__(self, form: Form, values: dict, grant_id: int):
        self._form, self.current_data, self.grant_id = form, values, grant_id
        self.business_type = values.get("business_type", HIDDEN)  # the form's type is a field like the others

    def __getattr__(self, name):
        return getattr(self._form, name)


def access_log(session: Session, request: QueryRequest) -> list[AccessLog]:
    """Every view under the application's grant, newest first."""
    given = grant_of(session, request)
    if given is None:
        return []
    return list(session.scalars(select(AccessLog).where(AccessLog.grant_id == given.id)
                                .order_by(AccessLog.id.desc())))


def watermark(session: Session, config: dict, *, viewer: User, given: AccessGrant, now: datetime) -> str:
    """The watermark of a page or print under a grant: viewer, time, grant number."""
    local = now.astimezone(ZoneInfo(config["app"]["timezone"]))
    return f"{viewer.display_name} {local:%Y-%m-%d %H:%M} 查询授权 #{given.id}"
