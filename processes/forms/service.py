"""Filling and submitting forms."""
from __future__ import annotations

import json
import logging
import math
import re
import traceback
import uuid
from datetime import date, datetime
from functools import lru_cache
from threading import Lock
from zoneinfo import ZoneInfo

from cachetools import LRUCache
from marshmallow import ValidationError
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from engine import Runtime, StepFailed, record_step_failure, savepoint

from ..audit import service as audit
from ..errors import Conflict, Forbidden, NotFound, ProcedureFailed, ValidationFailed
from ..org.models import User
from . import personal, rows
from .models import Form, FormTemplate, TemplateVersion
from .schemas import GENERAL_TEMPLATE_FIELDS, schema_for
from .validators import mask


def active_templates(session: Session) -> list[TemplateVersion]:
    """Every template's active version, by name."""
    return list(session.scalars(
        select(TemplateVersion).join(FormTemplate).where(TemplateVersion.status == "active").order_by(FormTemplate.name)
    ).all())


def active_version(session: Session, template_id: int) -> TemplateVersion:
    """The active version of a template; NotFound when there is none."""
    return session.merge(_active_snapshot(session, template_id), load=False)


def _active_snapshot(session: Session, template_id: int) -> TemplateVersion:
    """The shared, detached copy of a template's active version (read it, never change it)."""
    row = rows.active_version(session, template_id)
    if row is None:
        raise NotFound("模板不存在或未启用", code="template_not_found")
    with _versions_lock:
        snapshot = _versions.get(row[0])
    if snapshot is not None and _same(snapshot, row):
        return snapshot
    snapshot = _snapshot(session.get(TemplateVersion, row[0]))
    with _versions_lock:
        _versions[row[0]] = snapshot
    return snapshot


# Every filled form starts by looking up its template's active version. What an active version holds never
# changes (a change is a new version), so a detached copy per version is kept instead of loaded: a new form
# refers to it as it is, and active_version() merges it into the caller's session. The copy is used only if
# the row still says what it says (one process may serve several databases, e.g. tests, where the same id
# is another version).
_versions: LRUCache = LRUCache(maxsize=256)  # version id → snapshot
_versions_lock = Lock()


def _same(snapshot: TemplateVersion, row: tuple) -> bool:
    """Whether the copy says what the row (as rows.active_version reads it) says."""
    template = snapshot.template
    return (snapshot.id, snapshot.version, snapshot.fields, snapshot.created_at, template.code, template.name,
            template.business_type) == row


def _snapshot(version: TemplateVersion) -> TemplateVersion:
    """A detached copy of a version and its template, owned by no session."""
    def copy(obj):
        clone = type(obj)(**{a.key: getattr(obj, a.key) for a in inspect(type(obj)).column_attrs})
        make_transient_to_detached(clone)
        return clone

    clone = copy(version)
    set_committed_value(clone, "template", copy(version.template))
    return clone


def ensure_general_template(session: Session, *, now: datetime, department_id: int | None = None) -> TemplateVersion:
    """The built-in general template (通用业务单), created active on first use."""
    template = session.scalars(select(FormTemplate).where(FormTemplate.code == "general")).first()
    if template is None:
        template = FormTemplate(code="general", name="通用业务单", business_type="通用", department_id=department_id,
                                created_at=now)
        session.add(template)
        session.flush()
        session.add(TemplateVersion(template_id=template.id, version=1, status="active", fields=GENERAL_TEMPLATE_FIELDS,
                                    created_by="system", created_at=now, activated_at=now))
        session.flush()
    return active_version(session, template.id)


def validate_data(version: TemplateVersion, data: dict, today: date | None = None) -> dict:
    """The data cleaned by the version's schema; ValidationFailed names each field at fault."""
    # An empty or blank input is "not filled in": required fields say so, optional ones are left out.
    data = {k: v for k, v in data.items() if not (v is None or (isinstance(v, str) and not v.strip()))}
    try:
        cleaned = _schema(version.fields, today).load(data)
    except ValidationError as exc:
        messages = {code: (" ".join(m) if isinstance(m, list) else str(m)) for code, m in exc.messages.items()}
        messages = {code: ("不是本模板的字段" if msg == "Unknown field." else msg) for code, msg in messages.items()}
        raise ValidationFailed(messages) from None
    return {k: (str(v) if not isinstance(v, (str, int, float, bool)) and v is not None else v) for k, v in cleaned.items()}


def _schema(template_fields: list[dict], today: date | None):
    """schema_for, built once per field list and business date (building one costs more than loading with it)."""
    return _schema_of(json.dumps(template_fields, sort_keys=True, ensure_ascii=False), today)


@lru_cache(maxsize=256)
def _schema_of(fields_json: str, today: date | None):
    return schema_for(json.loads(fields_json), today)


def create_form(session: Session, runtime: Runtime, config: dict, *, actor: User, template_id: int, data: dict,
                submit: bool, now: datetime, submission_key: str | None = None) -> Form:
    """Fill a form on the template's active version; with submit, hand it to the internal transfer.

    With a submission key, a repeated request (a double click, a client's retry) returns the form the first
    one made instead of filling a second."""
    if submission_key is not None:
        earlier = submitted_with(session, actor=actor, key=submission_key)
        if earlier is not None:
            return earlier
    version = _active_snapshot(session, template_id)  # only read: the form refers to it without saving it
    cleaned = validate_data(version, data, _today(config, now)) if submit else _draft_data(version, data)
    if submission_key is None:
        form = _insert_form(session, version, actor=actor, now=now)
    else:
        try:
            with session.begin_nested():  # the same key in a concurrent request: its row wins, we return it
                form = _insert_form(session, version, actor=actor, now=now, submission_key=submission_key)
        except IntegrityError:
            earlier = submitted_with(session, actor=actor, key=submission_key)
            if earlier is None:
                raise
            return earlier
    local = now.astimezone(ZoneInfo(config["app"]["timezone"]))
    form.number = f"YW{local:%Y%m%d}{form.id:06d}"
    _keep(session, config, form, cleaned)
    audit.record(session, actor=actor.username, action="form.create", object_type="form", object_id=form.id, now=now,
                 details={"number": form.number, "template_id": version.template_id, "version": version.version})
    failure = _start(session, runtime, config, form=form, actor=actor, now=now) if submit else None
    _write_through(session, form)
    if failure is not None:
        raise failure
    return form


SUBMISSION_KEY = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def submitted_with(session: Session, *, actor: User, key: str) -> Form | None:
    """The form the actor filled with this submission key, if any; ValidationFailed for a malformed key."""
    if not isinstance(key, str) or not SUBMISSION_KEY.fullmatch(key):
        raise ValidationFailed({"submission_key": "提交标识应为 8 至 64 个字母、数字或 . _ : -"},
                               message="提交标识不正确, 请刷新页面后重新提交")
    return session.scalars(select(Form).where(Form.created_by == actor.username, Form.submission_key == key)).first()


# Filling a form is on every lifecycle's path: the new row is written with two prepared statements (rows.py).
def _insert_form(session: Session, version: TemplateVersion, *, actor: User, now: datetime,
                 submission_key: str | None = None) -> Form:
    """A new draft row, and a detached object for it that records what changes until _write_through."""
    values = dict(number=f"tmp-{uuid.uuid4().hex}", template_version_id=version.id, business_type="", status="draft",
                  data={}, created_by=actor.username, department_id=actor.department_id, created_at=now,
                  submitted_at=None, closed_at=None, process_instance_id=None, wrapped_key=None, key_id=None,
                  key_slot=None, sealed_data=None, search=None,
                  submission_key=submission_key)
    form_id = rows.insert_form(session, values)
    form = Form(id=form_id, **values)
    form.template_version = version
    form.corrections = []
    make_transient_to_detached(form)
    return form


def _write_through(session: Session, form: Form) -> None:
    """Write what changed on the form with one UPDATE; the session then holds it as freshly loaded."""
    state = inspect(form)
    changed = {name: getattr(form, name) for name in rows.FORM_COLUMNS if state.attrs[name].history.has_changes()}
    if changed:
        rows.update_form(session, form.id, changed)
    # Attached as freshly loaded (no pending changes): otherwise the commit would run a flush that finds
    # nothing to write, which costs as much as the UPDATE.
    make_transient(form)
    make_transient_to_detached(form)
    session.add(form)


def update_draft(session: Session, runtime: Runtime, config: dict, *, form: Form, actor: User, data: dict,
                 submit: bool, now: datetime) -> Form:
    """Resume a draft: replace its values; with submit, validate fully and hand it on."""
    _ensure_own_draft(form, actor)
    # A sensitive value left empty keeps what the draft holds (pages never send it back in clear).
    kept = personal.plain_values(session, personal.keyring(config), form)
    data = {**{k: v for k, v in kept.items() if k in form.sensitive_fields and v not in (None, "")},
            **{k: v for k, v in data.items() if not (k in form.sensitive_fields and v in (None, ""))}}
    cleaned = (validate_data(form.template_version, data, _today(config, now)) if submit
               else _draft_data(form.template_version, data))
    _keep(session, config, form, cleaned)
    if submit:
        failure = _start(session, runtime, config, form=form, actor=actor, now=now)
        if failure is not None:
            raise failure
    return form


def _keep(session: Session, config: dict, form: Form, cleaned: dict) -> None:
    """Store the values: sensitive ones encrypted (the form row keeps only their masked form)."""
    ring = personal.keyring(config)
    kinds = {f["code"]: f.get("type", "text") for f in form.template_version.fields}
    sensitive = set(form.sensitive_fields)
    shown = {}
    for code, value in cleaned.items():
        if code in sensitive and value not in (None, ""):
            personal.store(session, ring, form, code, str(value), seq=0)
            shown[code] = mask(kinds.get(code, "text"), str(value))
        else:
            shown[code] = value
    personal.seal_values(ring, form, shown)
    form.business_type = str(shown.get("business_type") or form.template_version.template.business_type)[:100]


def _today(config: dict, now: datetime) -> date:
    """The business date in the configured zone."""
    return now.astimezone(ZoneInfo(config["app"]["timezone"])).date()


log = logging.getLogger("guichet.forms")
# What starting a procedure may fail with besides StepFailed that is no refusal of the clerk's input.
_UNEXPECTED = (RuntimeError, TypeError, ValueError, KeyError, AttributeError, LookupError, ArithmeticError)
DRAFT_VALUE_LIMIT = 5000  # characters of one value a draft keeps


def _draft_data(version: TemplateVersion, data: dict) -> dict:
    known = {f["code"] for f in version.fields}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationFailed({code: "不是本模板的字段" for code in unknown})
    # A draft keeps values as typed (text and numbers; the full check waits for submit), and refuses what it
    # could not keep rather than dropping it unseen.
    problems = {}
    for code, value in data.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            problems[code] = "草稿只能保存文本或数字"
        elif isinstance(value, float) and not math.isfinite(value):
            problems[code] = "不是有效的数值"
        elif len(str(value)) > DRAFT_VALUE_LIMIT:
            problems[code] = f"不能超过 {DRAFT_VALUE_LIMIT} 个字"
    if problems:
        raise ValidationFailed(problems)
    return {k: v for k, v in data.items() if v is not None}


def _ensure_own_draft(form: Form, actor: User) -> None:
    if form.created_by != actor.username:
        raise Forbidden("只有填单人可以提交该业务单")
    if form.status != "draft":
        raise Conflict("该业务单已提交, 只能更正", code="already_submitted")


def submit_form(session: Session, runtime: Runtime, config: dict, *, form: Form, actor: User, now: datetime) -> Form:
    """Submit a draft: validate it fully and start its internal transfer."""
    _ensure_own_draft(form, actor)
    plain = personal.plain_values(session, personal.keyring(config), form)
    _keep(session, config, form, validate_data(form.template_version, plain, _today(config, now)))
    failure = _start(session, runtime, config, form=form, actor=actor, now=now)
    if failure is not None:
        raise failure
    return form


def _start(session: Session, runtime: Runtime, config: dict, *, form: Form, actor: User,
           now: datetime) -> ProcedureFailed | None:
    """Hand the form on. When the procedure cannot start, the form stays a draft (what the clerk typed is kept),
    the failure is logged and raised as an incident, and the returned error says so; raise it after saving."""
    from ..transfer.service import start_transfer
    from .attachments import check_references

    check_references(session, form)
    try:
        with savepoint(session):  # what begin_nested() does here, for less
            form.status, form.submitted_at = "in_transfer", now
            start_transfer(session, runtime, config, form=form, actor=actor, now=now)
    except (StepFailed, *_UNEXPECTED) as exc:
        if not isinstance(exc, StepFailed):
            exc = StepFailed(str(exc), reason="流程启动时出错", process_key=config["transfer"].get("process", ""))
        form.status, form.submitted_at, form.process_instance_id = "draft", None, None
        log.error("form %s could not start its procedure: %s", form.number, exc.reason, exc_info=exc)
        record_step_failure(session, exc, now=now, detail=traceback.format_exc())
        return ProcedureFailed(
            f"业务单 {form.number} 已保存为草稿, 但未能移交: 流程当前的版本无法运行"
            f" ({'在“' + exc.element_name + '”: ' if exc.element_name else ''}{exc.reason})。"
            "这是流程配置的问题, 不是您填写的问题; 已通知管理层处理, 修复后请打开草稿再次提交。",
            details={"form_id": form.id, "number": form.number})
    return None


def get_form(session: Session, form_id: int) -> Form:
    """A form by id; NotFound otherwise."""
    form = session.get(Form, form_id)
    if form is None:
        raise NotFound("业务单不存在", code="form_not_found")
    return form


def ids_mentioning(session: Session, config: dict, text: str, limit: int = 200) -> tuple[int, ...]:
    """The newest live forms with a value that is `text` (whole, trimmed, any case; sensitive values excepted): the
    inbox finds a form by its customer. Values are sealed, so this looks `text` up in the forms' blind index."""
    token = personal.search_token(personal.keyring(config), text)
    if token is None:
        return ()
    return tuple(session.scalars(select(Form.id).where(Form.status != "draft", Form.search.like(f"%{token}%"))
                                 .order_by(Form.id.desc()).limit(limit)))


def list_forms(session: Session, *, actor: User, limit: int = 50) -> list[Form]:
    """Recent forms of the actor's department, newest first."""
    return list(session.scalars(
        select(Form).where(Form.department_id == actor.department_id).order_by(Form.id.desc()).limit(limit)
    ).all())
