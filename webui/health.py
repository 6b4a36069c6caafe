"""What this server process has seen go wrong lately, for /healthz: failed database writes."""
from __future__ import annotations

import threading
import time

WINDOW_SECONDS = 60  # a write failure older than this no longer makes the server degraded
_lock = threading.Lock()
_last: tuple[float, str] | None = None


def note_write_failure(reason: str) -> None:
    """A database write (a commit, or a write inside a request) failed just now."""
    global _last
    with _lock:
        _last = (time.monotonic(), reason)


def recent_write_failure() -> str | None:
    """The reason of a write failure within the last WINDOW_SECONDS, or None."""
    with _lock:
        last = _last
    if last is None or time.monotonic() - last[0] > WINDOW_SECONDS:
        return None
    return last[1]


def clear() -> None:
    """Forget what was seen (tests)."""
    global _last
    with _lock:
        _last = None
