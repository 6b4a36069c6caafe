"""Errors a user can cause become a 4xx with a clear message (Chinese first): JSON under /api, a page elsewhere."""
from __future__ import annotations

import logging
import traceback

from flask import g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from engine import incidents
from engine.budget import StepFailed
from engine.deploy import DeploymentError
from engine.errors import EngineError

from . import health

log = logging.getLogger("guichet.web")

HTTP_MESSAGES = {
    400: "请求格式不正确",
    401: "请先登录",
    403: "您无权执行此操作",
    404: "您访问的内容不存在",
    405: "不支持该请求方法",
    409: "数据已变更, 请刷新后重试",
    413: "上传内容过大",
    415: "请求内容类型不受支持, 请使用 JSON",
    422: "提交的内容有误, 请按提示修改",
    429: "请求过于频繁, 请稍后再试",
    500: "系统内部错误, 请联系管理员; 您的数据未被修改",
}


def wants_json() -> bool:
    """API paths and JSON clients get JSON errors."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    """One error answer, JSON or page."""
    if wants_json():
        body = {"code": code, "message": message}
        if fields:
            body["fields"] = fields
        response = jsonify(body)
        response.status_code = status
        return response
    return render_template("error.html", status=status, heading=_heading(status), message=message,
                           fields=fields or {}), status


def _heading(status: int) -> str:
    """What an error page is headed with: what happened, in words (the HTTP status stays on hover)."""
    headings = {400: _("请求有误"), 401: _("请先登录"), 403: _("无权进行此操作"), 404: _("找不到要找的内容"),
                405: _("不支持此操作"), 409: _("操作未完成: 数据已变化"), 413: _("上传的内容过大"),
                422: _("提交的内容有误"), 429: _("操作过于频繁"), 500: _("系统出错")}
    return headings.get(status) or _("出错了")


def _field_messages(errors) -> dict:
    """Flatten webargs' {"json": {"field": ["msg"]}} into {"field": "msg"}."""
    flat = {}
    for _location, fields in (errors or {}).items():
        if not isinstance(fields, dict):
            continue
        for name, messages in fields.items():
            if isinstance(messages, dict):
                messages = [f"{k}: {' '.join(v) if isinstance(v, list) else v}" for k, v in messages.items()]
            flat[name] = " ".join(_translate(m) for m in messages) if isinstance(messages, list) else _translate(str(messages))
    return flat


_MARSHMALLOW_ZH = {
    "Missing data for required field.": "必填项, 请填写",
    "Not a valid integer.": "须为整数",
    "Not a valid string.": "须为文本",
    "Not a valid boolean.": "须为是/否 (true/false)",
    "Not a valid mapping type.": "须为对象 (JSON object)",
    "Unknown field.": "不认识的字段",
    "Field may not be null.": "不能为空",
    "Invalid input type.": "输入类型不正确",
    "Number too large.": "数值过大",
    "Not a valid number.": "须为数字",
    "Not a valid list.": "须为列表",
    "Not a valid datetime.": "须为日期时间 (ISO 8601)",
    "Not a valid date.": "须为日期 (YYYY-MM-DD)",
    "Special numeric values (nan or infinity) are not permitted.": "不是有效的数值",
}


def _translate(message: str) -> str:
    return _MARSHMALLOW_ZH.get(message, message)


def handle_http_exception(error: HTTPException):
    """Werkzeug/webargs HTTP errors."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    fields = _field_messages(data.get("messages") or data.get("errors"))
    if status == 400 and wants_json():
        return error_response(400, "bad_request", "请求内容不是有效的 JSON, 或格式不正确", fields or None)
    if isinstance(error, MethodNotAllowed):
        response = error_response(405, "method_not_allowed", HTTP_MESSAGES[405])
        response = response if not isinstance(response, tuple) else make_response(response)
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods or ()))
        return response
    code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
            415: "unsupported_media_type", 422: "validation_failed", 429: "too_many_requests"}.get(status, f"http_{status}")
    return error_response(status, code, HTTP_MESSAGES.get(status, error.name), fields or None)


def handle_engine_error(error: EngineError):
    """Stage and engine errors carry their own status, code and message."""
    if getattr(error, "keeps_writes", False):
        g.commit_despite_error = True  # e.g. the draft kept when the procedure failed
    fields = error.details.get("fields") if error.details else None
    return error_response(error.status, error.code, error.message, fields)


def handle_step_failed(error: StepFailed):
    """A procedure's step failed (the diagram's fault): the step is rolled back, then its instance is marked
    failed and an incident raised, in their own transaction; the user is told it is not their doing."""
    log.error("procedure step failed on %s %s: %s", request.method, request.path, error.reason, exc_info=error)
    from .context import db, now

    session = db()
    session.rollback()
    try:
        detail = "".join(traceback.format_exception(error))
        incidents.record_step_failure(session, error, now=now(), detail=detail)
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        health.note_write_failure("记录流程故障时数据库写入失败")
        log.exception("could not record the incident")
    return error_response(503, error.code, f"{error.message}。这是流程配置的问题, 您的操作未被保存; 已通知管理层处理。")


def handle_deployment_error(error: DeploymentError):
    """A refused diagram: every problem with its element."""
    if wants_json():
        response = jsonify({"code": "invalid_bpmn", "message": "流程图未通过校验",
                            "problems": [{"element_id": p.element_id, "message": p.message} for p in error.problems]})
        response.status_code = 422
        return response
    return error_response(422, "invalid_bpmn", "流程图未通过校验: " + str(error))


def handle_unexpected(error: Exception):
    """Anything else: logged with its traceback, answered without one."""
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unexpected error on %s %s", request.method, request.path)
    if isinstance(error, SQLAlchemyError):
        health.note_write_failure(f"数据库出错: {type(error).__name__}")
    return error_response(500, "internal_error", HTTP_MESSAGES[500])


def register(app) -> None:
    """Install the handlers on the app."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(EngineError, handle_engine_error)
    app.register_error_handler(StepFailed, handle_step_failed)
    app.register_error_handler(DeploymentError, handle_deployment_error)
    app.register_error_handler(Exception, handle_unexpected)
