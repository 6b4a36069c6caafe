"""Errors a user can cause in a stage; the web layer turns them into 4xx answers."""
from engine.errors import (  # noqa: F401 - re-exported
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
