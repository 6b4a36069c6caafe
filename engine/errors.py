"""Errors the engine raises for the caller to turn into a clear answer."""


class EngineError(Exception):
    """Base class; `code` is stable for API clients, the message is for people (Chinese first)."""

    code = "engine_error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class NotFound(EngineError):
    """The item or instance does not exist."""

    code, status = "not_found", 404


class Conflict(EngineError):
    """The item was completed or changed underneath the caller."""

    code, status = "conflict", 409


class Invalid(EngineError):
    """The request cannot be carried out as given."""

    code, status = "invalid", 422
