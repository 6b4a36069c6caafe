"""What this server has seen go wrong lately, for /healthz: failed database writes.

The memory belongs to the app (``app.extensions``), not to the process: two apps in one process (tests, or an
embedding host) each report only their own failures.
"""
from __future__ import annotations

import threading
import time

from flask import current_app

WINDOW_SECONDS = 60  # a write failure older than this no longer makes the server degraded
_KEY = "guichet_write_failures"


class WriteFailures:
    """The latest failed database write of one app: when (monotonic seconds) and why."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: tuple[float, str] | None = None

    def note(self, reason: str) -> None:
        with self._lock:
            self._last = (time.monotonic(), reason)

    def recent(self) -> str | None:
        """The reason of a failure within the last WINDOW_SECONDS, or None."""
        with self._lock:
            last = self._last
        if last is None or time.monotonic() - last[0] > WINDOW_SECONDS:
            return None
        return last[1]

    def clear(self) -> None:
        with self._lock:
            self._last = None


def install(app) -> None:
    """Give the app its own memory of failed writes."""
    app.extensions[_KEY] = WriteFailures()


def _failures() -> WriteFailures:
    return current_app.extensions.setdefault(_KEY, WriteFailures())


def note_write_failure(reason: str) -> None:
    """A database write (a commit, or a write inside a request) failed just now, in the current app."""
    _failures().note(reason)


def recent_write_failure() -> str | None:
    """The reason of the current app's write failure within the last WINDOW_SECONDS, or None."""
    return _failures().recent()
