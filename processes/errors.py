"""Errors a user can cause in a stage; the web layer turns them into 4xx answers."""
from engine import (  # noqa: F401 - re-exported
    Conflict,
    EngineError,
    Invalid,
    NotFound,
)


class Forbidden(EngineError):
    """The actor may not do this to this object."""

    code, status = "forbidden", 403


class ValidationFailed(Invalid):
    """Input failed validation; `details["fields"]` maps field codes to messages."""

    code = "validation_failed"

    def __init__(self, fields: dict[str, list[str] | str], message: str = "提交的内容有误, 请按提示修改"):
        super().__init__(message, details={"fields": fields})


WRITTEN_LIMIT = 2000  # characters of a comment or a reason a person writes


def written(data: dict, key: str, limit: int = WRITTEN_LIMIT) -> str:
    """A comment or reason a person wrote (`data[key]`), stripped: text of at most `limit` characters, refused with
    a message rather than cut or coerced. Absent is ""."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed({key: "须为文本"})
    value = value.strip()
    if len(value) > limit:
        raise ValidationFailed({key: f"不能超过 {limit} 个字 (现有 {len(value)} 个字)"})
    return value


class ProcedureFailed(EngineError):
    """The procedure (the deployed diagram), not the user's input, failed; what the user gave was kept.

    The web layer commits what the service wrote before raising it (the kept draft, the incident).
    """

    code, status = "procedure_failed", 503
    keeps_writes = True
