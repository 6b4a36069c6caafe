"""The runtime's own rows (instances, work items, timers) read and written with prepared Core statements.

A step touches a dozen rows; the ORM's unit of work costs about ten times what the statements do, so
the hot path reads rows into plain objects and writes them with statements built and compiled once
(engine/prepared.py). The ORM models in models.py stay the way everything else (pages, reports, tests)
reads these tables. Callers change an item through the runtime, never by setting attributes and
waiting for a flush.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .models import ProcessInstance, Timer, WorkItem
from .prepared import Prepared

INSTANCE = ProcessInstance.__table__
ITEM = WorkItem.__table__
TIMER = Timer.__table__


class _Row:
    """A plain copy of one row: one attribute per column."""

    __slots__ = ()
    _table = None

    def __init__(self, **values):
        for name in self.__slots__:
            setattr(self, name, values.get(name))

    @classmethod
    def from_row(cls, row):
        return cls(**row._mapping)

    @classmethod
    def from_tuple(cls, values) -> "_Row":
        """From a prepared SELECT of the table's columns, in table order."""
        row = cls.__new__(cls)
        for name, value in zip(cls._columns, values):
            setattr(row, name, value)
        for name in cls.__slots__[len(cls._columns):]:
            setattr(row, name, None)
        return row

    def values(self) -> dict:
        """The column values, for an INSERT."""
        return {c.name: getattr(self, c.name) for c in self._table.c}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'id', None)!r}>"


class Instance(_Row):
    """流程实例 as the runtime holds it during a step."""

    __slots__ = tuple(c.name for c in INSTANCE.c)
    _table = INSTANCE
    _columns = __slots__


class Item(_Row):
    """待办事项 as the runtime hands it out; change it with Runtime.update_item."""

    __slots__ = (*(c.name for c in ITEM.c), "decisions")
    _table = ITEM
    _columns = tuple(c.name for c in ITEM.c)

    def is_overdue(self, now: datetime) -> bool:
        """Whether the due time has passed while the item is still open."""
        return self.status == "open" and self.due_at is not None and self.due_at <= now


# Built once: building and cache-keying a statement costs more than running it on SQLite.
_SELECT_INSTANCE = Prepared(select(INSTANCE).where(INSTANCE.c.id == bindparam("b_id")))
_UPDATE_INSTANCE = Prepared(INSTANCE.update().where(INSTANCE.c.id == bindparam("b_id"),
                                                    INSTANCE.c.lock_version == bindparam("b_lock")))
_SELECT_ITEM = Prepared(select(ITEM).where(ITEM.c.id == bindparam("b_id")))
_SELECT_ITEM_AND_INSTANCE = Prepared(select(ITEM, *INSTANCE.c).join(INSTANCE, INSTANCE.c.id == ITEM.c.instance_id)
                                     .where(ITEM.c.id == bindparam("b_id")))
_SELECT_OPEN_TASKS = Prepared(select(ITEM).where(ITEM.c.instance_id == bindparam("b_instance"),
                                                 ITEM.c.status == "open", ITEM.c.kind == "task"))
_UPDATE_ITEM = Prepared(ITEM.update().where(ITEM.c.id == bindparam("b_id")))
# A claim takes an item only while it is open and unheld: of two claims at once, one row count is 0.
_CLAIM_ITEM = Prepared(ITEM.update().where(ITEM.c.id == bindparam("b_id"), ITEM.c.status == "open",
                                           ITEM.c.assignee.is_(None)))
_CLOSE_FOLLOW_UPS = Prepared(ITEM.update().where(ITEM.c.parent_id == bindparam("b_id"), ITEM.c.status == "open"))
_SELECT_TIMERS = Prepared(select(TIMER.c.id, TIMER.c.task_id, TIMER.c.fire_at, TIMER.c.lease_owner).where(
    TIMER.c.instance_id == bindparam("b_instance")))
_RESET_TIMER = Prepared(TIMER.update().where(TIMER.c.id == bindparam("b_id")).values(fence=TIMER.c.fence + 1))
# The same by the row's key (instance, task): for a step that knows which rows its instance has.
_OF_TASK = (TIMER.c.instance_id == bindparam("b_instance"), TIMER.c.task_id == bindparam("b_task"))
_RESET_TIMER_OF = Prepared(TIMER.update().where(*_OF_TASK).values(fence=TIMER.c.fence + 1))
_DELETE_TIMER_OF = Prepared(TIMER.delete().where(*_OF_TASK))
_STATES = select(INSTANCE.c.id, INSTANCE.c.definition_id, INSTANCE.c.state, INSTANCE.c.serializer_version,
                 INSTANCE.c.lock_version).where(INSTANCE.c.id.in_(bindparam("b_ids", expanding=True)),
                                                INSTANCE.c.status == "running")
_INSERT_INSTANCE = Prepared(INSTANCE.insert().returning(INSTANCE.c.id))
_INSERT_ITEM, _INSERT_TIMER = Prepared(ITEM.insert()), Prepared(TIMER.insert())
_DELETE_TIMER = Prepared(TIMER.delete().where(TIMER.c.id == bindparam("b_id")))
_N_ITEM = len(ITEM.c)


class TimerRow(NamedTuple):
    id: int
    task_id: str
    fire_at: datetime
    lease_owner: str | None


# --- instances ---------------------------------------------------------------------------------
def get_instance(session: Session, instance_id: int) -> Instance | None:
    row = _SELECT_INSTANCE.first(session, {"b_id": instance_id})
    return Instance.from_tuple(row) if row is not None else None


def insert_instance(session: Session, instance: Instance) -> None:
    """Insert a new instance (lock_version 1) and give it its id."""
    instance.lock_version = 1
    values = instance.values()
    del values["id"]
    ((instance.id,),) = _INSERT_INSTANCE.execute(session, values).fetchall()


def update_instance(session: Session, instance: Instance) -> bool:
    """Write state and status if nobody changed the instance since it was read; False when somebody did."""
    cursor = _UPDATE_INSTANCE.execute(session, {
        "b_id": instance.id, "b_lock": instance.lock_version, "state": instance.state,
        "serializer_version": instance.serializer_version, "status": instance.status,
        "updated_at": instance.updated_at, "ended_at": instance.ended_at, "lock_version": instance.lock_version + 1})
    if cursor.rowcount != 1:
        return False
    instance.lock_version += 1
    return True


def states_of(session: Session, instance_ids: list[int]):
    """(id, definition_id, state, serializer_version, lock_version) of running instances."""
    if not instance_ids:
        return []
    return session.connection().execute(_STATES, {"b_ids": instance_ids}).all()


# --- work items --------------------------------------------------------------------------------
def get_item(session: Session, item_id: str) -> Item | None:
    row = _SELECT_ITEM.first(session, {"b_id": item_id})
    return Item.from_tuple(row) if row is not None else None


def get_item_and_instance(session: Session, item_id: str) -> tuple[Item | None, Instance | None]:
    """An item and its instance, read together (a step needs both)."""
    row = _SELECT_ITEM_AND_INSTANCE.first(session, {"b_id": item_id})
    if row is None:
        return None, None
    return Item.from_tuple(row[:_N_ITEM]), Instance.from_tuple(row[_N_ITEM:])


_READ_AHEAD_CHUNK = 64


@lru_cache(maxsize=2 * _READ_AHEAD_CHUNK)
def _by_instance_ids(what: str, n: int) -> Prepared:
    """Instances, or their open task items, of n instance ids (b_id0 …): one prepared statement per n."""
    ids = [bindparam(f"b_id{i}") for i in range(n)]
    if what == "instances":
        return Prepared(select(INSTANCE).where(INSTANCE.c.id.in_(ids)))
    return Prepared(select(ITEM).where(ITEM.c.instance_id.in_(ids), ITEM.c.status == "open", ITEM.c.kind == "task"))


def instances_with_open_tasks(session: Session, instance_ids: list[int]) -> tuple[dict, dict]:
    """({id: Instance}, {id: [open task Item]}) of many instances, in two statements per 64."""
    instances: dict[int, Instance] = {}
    items: dict[int, list[Item]] = {}
    for start in range(0, len(instance_ids), _READ_AHEAD_CHUNK):
        chunk = instance_ids[start:start + _READ_AHEAD_CHUNK]
        params = {f"b_id{i}": instance_id for i, instance_id in enumerate(chunk)}
        for row in _by_instance_ids("instances", len(chunk)).all(session, params):
            instance = Instance.from_tuple(row)
            instances[instance.id], items[instance.id] = instance, []
        for row in _by_instance_ids("open_tasks", len(chunk)).all(session, params):
            item = Item.from_tuple(row)
            items[item.instance_id].append(item)
    return instances, items


def open_task_items(session: Session, instance_id: int) -> list[Item]:
    return [Item.from_tuple(r) for r in _SELECT_OPEN_TASKS.all(session, {"b_instance": instance_id})]


def insert_items(session: Session, items: list[Item]) -> None:
    _INSERT_ITEM.execute_many(session, [i.values() for i in items])


def update_item(session: Session, item: Item, **values) -> None:
    """Set columns of one item, on the row and on the object."""
    _UPDATE_ITEM.execute(session, {"b_id": item.id, **values})
    for name, value in values.items():
        setattr(item, name, value)


def claim_item(session: Session, item: Item, *, assignee: str, claimed_at: datetime) -> bool:
    """Give an open, unheld item to `assignee`; False when somebody else's claim or a step came first."""
    cursor = _CLAIM_ITEM.execute(session, {"b_id": item.id, "assignee": assignee, "claimed_at": claimed_at})
    if cursor.rowcount != 1:
        return False
    item.assignee, item.claimed_at = assignee, claimed_at
    return True


def close_items(session: Session, item_ids: list[str], *, status: str, now: datetime) -> None:
    _UPDATE_ITEM.execute_many(session, [{"b_id": i, "status": status, "completed_at": now} for i in item_ids])


def close_follow_ups(session: Session, parent_ids: list[str], now: datetime) -> None:
    """Close the open follow-up items (escalations) of items that are done."""
    _CLOSE_FOLLOW_UPS.execute_many(session, [{"b_id": i, "status": "closed", "completed_at": now} for i in parent_ids])


# --- timers ------------------------------------------------------------------------------------
def timers_of(session: Session, instance_id: int) -> list[TimerRow]:
    """(id, task_id, fire_at, lease_owner) of an instance's timer rows."""
    return [TimerRow(*r) for r in _SELECT_TIMERS.all(session, {"b_instance": instance_id})]


def reset_timer(session: Session, timer_id: int, *, task_id: str, task_name: str, fire_at: datetime) -> None:
    """Point a timer row at a (new) waiting timer; the fence moves so an old claim cannot fire it."""
    _RESET_TIMER.execute(session, {
        "b_id": timer_id, "task_id": task_id, "task_name": task_name, "fire_at": fire_at, "status": "waiting",
        "lease_owner": None, "lease_until": None, "last_error": None, "attempts": 0})


def reset_timer_of(session: Session, instance_id: int, old_task_id: str, *, task_id: str, task_name: str,
                   fire_at: datetime) -> bool:
    """reset_timer for the instance's row of task `old_task_id`; False when there is no such row."""
    return _RESET_TIMER_OF.execute(session, {
        "b_instance": instance_id, "b_task": old_task_id, "task_id": task_id, "task_name": task_name,
        "fire_at": fire_at, "status": "waiting", "lease_owner": None, "lease_until": None, "last_error": None,
        "attempts": 0}).rowcount == 1


def delete_timer_of(session: Session, instance_id: int, task_id: str) -> bool:
    """Delete the instance's row of task `task_id`; False when there is no such row."""
    return _DELETE_TIMER_OF.execute(session, {"b_instance": instance_id, "b_task": task_id}).rowcount == 1


def insert_timers(session: Session, rows: list[dict]) -> None:
    _INSERT_TIMER.execute_many(session, rows)


def delete_timers(session: Session, timer_ids: list[int]) -> None:
    _DELETE_TIMER.execute_many(session, [{"b_id": i} for i in timer_ids])
