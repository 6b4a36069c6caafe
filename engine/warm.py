"""The warm-workflow cache: workflows that just stepped (or are about to) stay restored in memory.

Restoring a workflow from its stored state costs more than stepping it, and the next step of an
instance usually comes soon (the next hop, a timer due). An entry is used only while the instance's
lock_version still matches the row, so a step another process committed is never missed. A workflow is
taken out while a transaction works on it and goes back only after that transaction commits (engine/context.py).
"""
from __future__ import annotations

from threading import Lock

from cachetools import LRUCache


class WarmCache:
    """instance id → (lock_version, workflow), least recently used first out; safe across threads."""

    def __init__(self, size: int):
        self._entries: LRUCache = LRUCache(maxsize=size)
        self._lock = Lock()

    def take(self, instance_id: int, version: int):
        """The workflow cached for this version of the instance, removed from the cache; None if none matches."""
        with self._lock:
            entry = self._entries.get(instance_id)
            if entry is None or entry[0] != version:
                return None
            del self._entries[instance_id]
        return entry[1]

    def put(self, instance_id: int, version: int, workflow) -> None:
        """Keep a committed workflow for its instance's next step."""
        with self._lock:
            self._entries[instance_id] = (version, workflow)

    def put_if_absent(self, instance_id: int, version: int, workflow) -> bool:
        """Keep a workflow unless a newer one got there first (a step that committed meanwhile)."""
        with self._lock:
            if instance_id in self._entries:
                return False
            self._entries[instance_id] = (version, workflow)
            return True

    def missing(self, instance_ids) -> list[int]:
        """The instances of `instance_ids` with no entry."""
        with self._lock:
            return [i for i in instance_ids if i not in self._entries]

    def clear(self) -> None:
        """Forget every workflow (a benchmark's cold start)."""
        with self._lock:
            self._entries.clear()

    def version(self, instance_id: int) -> int | None:
        """The lock_version the instance's cached workflow was saved at; None when none is cached."""
        entry = self._entries.get(instance_id)
        return entry[0] if entry is not None else None

    def __iter__(self):
        return iter(list(self._entries))

    def __contains__(self, instance_id: int) -> bool:
        return instance_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)
