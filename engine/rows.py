"""The runtime's own rows (instances, work items, timers) read and written with SQLAlchemy Core.

A step touches a dozen rows; the ORM's unit of work costs about ten times what the statements do, so
the hot path reads rows into plain objects and writes them with compiled Core statements. The ORM
models in models.py stay the way everything else (pages, reports, tests) reads these tables.
Callers change an item through the runtime, never by setting attributes and waiting for a flush.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .models import ProcessInstance, Timer, WorkItem

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

    def values(self) -> dict:
        """The column values, for an INSERT."""
        return {c.name: getattr(self, c.name) for c in self._table.c}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'id', None)!r}>"


class Instance(_Row):
    """流程实例 as the runtime holds it during a step."""

    __slots__ = tuple(c.name for c in INSTANCE.c)
    _table = INSTANCE


class Item(_Row):
    """待办事项 as the runtime hands it out; change it with Runtime.update_item."""

    __slots__ = (*(c.name for c in ITEM.c), "decisions")
    _table = ITEM

    def is_overdue(self, now: datetime) -> bool:
        """Whether the due time has passed while the item is still open."""
        return self.status == "open" and self.due_at is not None and self.due_at <= now


def connection(session: Session):
    """The connection of the session's transaction (Core statements share it and its savepoints)."""
    return session.connection()


# Statements are built once: building and cache-keying a statement costs more than running it on SQLite.
_SELECT_INSTANCE = select(INSTANCE).where(INSTANCE.c.id == bindparam("b_id"))
_UPDATE_INSTANCE = INSTANCE.update().where(INSTANCE.c.id == bindparam("b_id"),
                                           INSTANCE.c.lock_version == bindparam("b_lock"))
_SELECT_ITEM = select(ITEM).where(ITEM.c.id == bindparam("b_id"))
_INSTANCE_COLUMNS = [c.label(f"instance__{c.name}") for c in INSTANCE.c]
_SELECT_ITEM_AND_INSTANCE = (select(ITEM, *_INSTANCE_COLUMNS).join(INSTANCE, INSTANCE.c.id == ITEM.c.instance_id)
                             .where(ITEM.c.id == bindparam("b_id")))
_SELECT_OPEN_TASKS = select(ITEM).where(ITEM.c.instance_id == bindparam("b_instance"), ITEM.c.status == "open",
                                        ITEM.c.kind == "task")
_UPDATE_ITEM = ITEM.update().where(ITEM.c.id == bindparam("b_id"))
_CLOSE_ITEMS = ITEM.update().where(ITEM.c.id.in_(bindparam("b_ids", expanding=True)))
_CLOSE_FOLLOW_UPS = ITEM.update().where(ITEM.c.parent_id.in_(bindparam("b_ids", expanding=True)),
                                        ITEM.c.status == "open")
_SELECT_TIMERS = select(TIMER.c.id, TIMER.c.task_id, TIMER.c.fire_at, TIMER.c.lease_owner).where(
    TIMER.c.instance_id == bindparam("b_instance"))
_RESET_TIMER = TIMER.update().where(TIMER.c.id == bindparam("b_id")).values(fence=TIMER.c.fence + 1)
_STATES = select(INSTANCE.c.id, INSTANCE.c.definition_id, INSTANCE.c.state, INSTANCE.c.serializer_version,
                 INSTANCE.c.lock_version).where(INSTANCE.c.id.in_(bindparam("b_ids", expanding=True)),
                                                INSTANCE.c.status == "running")
_INSERT_INSTANCE, _INSERT_ITEM, _INSERT_TIMER = INSTANCE.insert(), ITEM.insert(), TIMER.insert()
_DELETE_TIMERS = TIMER.delete().where(TIMER.c.id.in_(bindparam("b_ids", expanding=True)))


# --- instances ---------------------------------------------------------------------------------
def get_instance(session: Session, instance_id: int) -> Instance | None:
    row = connection(session).execute(_SELECT_INSTANCE, {"b_id": instance_id}).first()
    return Instance.from_row(row) if row is not None else None


def insert_instance(session: Session, instance: Instance) -> None:
    """Insert a new instance (lock_version 1) and give it its id."""
    instance.lock_version = 1
    values = instance.values()
    del values["id"]
    instance.id = connection(session).execute(_INSERT_INSTANCE, values).inserted_primary_key[0]


def update_instance(session: Session, instance: Instance) -> bool:
    """Write state and status if nobody changed the instance since it was read; False when somebody did."""
    result = connection(session).execute(_UPDATE_INSTANCE, {
        "b_id": instance.id, "b_lock": instance.lock_version, "state": instance.state,
        "serializer_version": instance.serializer_version, "status": instance.status,
        "updated_at": instance.updated_at, "ended_at": instance.ended_at, "lock_version": instance.lock_version + 1})
    if result.rowcount != 1:
        return False
    instance.lock_version += 1
    return True


def states_of(session: Session, instance_ids: list[int]):
    """(id, definition_id, state, serializer_version, lock_version) of running instances."""
    if not instance_ids:
        return []
    return connection(session).execute(_STATES, {"b_ids": instance_ids}).all()


# --- work items --------------------------------------------------------------------------------
def get_item(session: Session, item_id: str) -> Item | None:
    row = connection(session).execute(_SELECT_ITEM, {"b_id": item_id}).first()
    return Item.from_row(row) if row is not None else None


def get_item_and_instance(session: Session, item_id: str) -> tuple[Item | None, Instance | None]:
    """An item and its instance, read together (a step needs both)."""
    row = connection(session).execute(_SELECT_ITEM_AND_INSTANCE, {"b_id": item_id}).first()
    if row is None:
        return None, None
    values = row._mapping
    instance = Instance(**{c.name: values[f"instance__{c.name}"] for c in INSTANCE.c})
    return Item(**{c.name: values[c.name] for c in ITEM.c}), instance


def open_task_items(session: Session, instance_id: int) -> list[Item]:
    return [Item.from_row(r) for r in connection(session).execute(_SELECT_OPEN_TASKS, {"b_instance": instance_id})]


def insert_items(session: Session, items: list[Item]) -> None:
    if items:
        connection(session).execute(_INSERT_ITEM, [i.values() for i in items])


def update_item(session: Session, item: Item, **values) -> None:
    """Set columns of one item, on the row and on the object."""
    connection(session).execute(_UPDATE_ITEM, {"b_id": item.id, **values})
    for name, value in values.items():
        setattr(item, name, value)


def close_items(session: Session, item_ids: list[str], *, status: str, now: datetime) -> None:
    if item_ids:
        connection(session).execute(_CLOSE_ITEMS, {"b_ids": item_ids, "status": status, "completed_at": now})


def close_follow_ups(session: Session, parent_ids: list[str], now: datetime) -> None:
    """Close the open follow-up items (escalations) of items that are done."""
    if parent_ids:
        connection(session).execute(_CLOSE_FOLLOW_UPS, {"b_ids": parent_ids, "status": "closed", "completed_at": now})


# --- timers ------------------------------------------------------------------------------------
def timers_of(session: Session, instance_id: int):
    """(id, task_id, fire_at, lease_owner) of an instance's timer rows."""
    return connection(session).execute(_SELECT_TIMERS, {"b_instance": instance_id}).all()


def reset_timer(session: Session, timer_id: int, *, task_id: str, task_name: str, fire_at: datetime) -> None:
    """Point a timer row at a (new) waiting timer; the fence moves so an old claim cannot fire it."""
    connection(session).execute(_RESET_TIMER, {
        "b_id": timer_id, "task_id": task_id, "task_name": task_name, "fire_at": fire_at, "status": "waiting",
        "lease_owner": None, "lease_until": None, "last_error": None, "attempts": 0})


def insert_timers(session: Session, rows: list[dict]) -> None:
    if rows:
        connection(session).execute(_INSERT_TIMER, rows)


def delete_timers(session: Session, timer_ids: list[int]) -> None:
    if timer_ids:
        connection(session).execute(_DELETE_TIMERS, {"b_ids": timer_ids})
