"""Hot-path statements: a Core statement compiled once per dialect and run straight on the driver's cursor.

A step runs about a dozen small statements. Through `Connection.execute` each one costs several times
what the database spends on it (parameter and result set-up, the compiled-cache lookup, the result
object), which made SQLAlchemy's execution machinery the largest single cost of a step. A `Prepared`
statement keeps SQLAlchemy for what it is good at, building the SQL for each dialect and converting
values with the column types, and does the per-call part itself:

- bind values are converted with the types' own `bind_processor`s, in the dialect's parameter style;
- result values with the types' `result_processor`s, into plain tuples;
- driver errors are raised as SQLAlchemy's `DBAPIError` subclasses, as `Connection.execute` raises them;
- the engine's `before_cursor_execute` / `after_cursor_execute` listeners still see every statement.

It runs on the session's own connection, so it shares its transaction and savepoints. Statements with
an expanding IN are not supported (run them once per value, or through the session).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from threading import Lock

from sqlalchemy import exc, inspect, select
from sqlalchemy.orm import Session

from .context import KEY, transaction

_MISSING = object()


@dataclass(frozen=True)
class _Plan:
    """One statement compiled for one dialect and one set of parameter names."""

    sql: str
    names: tuple[str, ...]         # the compiled bind names, in the order the driver wants them
    slots: tuple                   # per name: (the caller's parameter key, the converted value of a bind the
                                   # statement itself fixes or _MISSING, the bind processor or None)
    readers: tuple | None          # a result processor per column (None: no result rows)
    positional: bool


class Prepared:
    """A Core statement run on the driver's cursor; compiled once per dialect and parameter names."""

    def __init__(self, statement):
        self.statement = statement
        self._plans: dict[tuple, _Plan] = {}
        self._lock = Lock()

    # --- running ------------------------------------------------------------------------------
    def execute(self, session: Session, params: dict | None = None):
        """Run with one set of parameters; the driver's cursor (rowcount, fetch*), on PostgreSQL shared by the
        transaction's statements: read it before running the next one."""
        params = params or {}
        held = _connection(session)
        plan = self._plan(held.dialect, params)
        return _run(held, plan, _values(plan, params), many=False)

    def execute_many(self, session: Session, param_list: list[dict]) -> None:
        """Run once per set of parameters (all with the same keys), in one driver call."""
        if not param_list:
            return
        held = _connection(session)
        plan = self._plan(held.dialect, param_list[0])
        if len(param_list) == 1:  # most steps write one row: psycopg's executemany (a pipeline) costs twice an execute
            _run(held, plan, _values(plan, param_list[0]), many=False)
        else:
            _run(held, plan, [_values(plan, p) for p in param_list], many=True)

    def all(self, session: Session, params: dict | None = None) -> list[tuple]:
        """All result rows as tuples of converted values."""
        params = params or {}
        held = _connection(session)
        plan = self._plan(held.dialect, params)
        fetched = _run(held, plan, _values(plan, params), many=False).fetchall()
        return [_read(plan.readers, row) for row in fetched]

    def first(self, session: Session, params: dict | None = None) -> tuple | None:
        """The first result row as a tuple of converted values, or None."""
        params = params or {}
        held = _connection(session)
        plan = self._plan(held.dialect, params)
        row = _run(held, plan, _values(plan, params), many=False).fetchone()
        return None if row is None else _read(plan.readers, row)

    # --- compiling ----------------------------------------------------------------------------
    def _plan(self, dialect, params: dict) -> _Plan:
        signature = (dialect.name, dialect.driver, *params)
        plan = self._plans.get(signature)
        if plan is None:
            with self._lock:
                plan = self._plans[signature] = _compile(self.statement, dialect, sorted(params))
        return plan


def _compile(statement, dialect, column_keys: list[str]) -> _Plan:
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    if compiled.post_compile_params or compiled.literal_execute_params:
        raise ValueError("a prepared statement cannot hold an expanding IN; run it once per value instead")
    positional = compiled.positiontup is not None
    names = tuple(compiled.positiontup) if positional else tuple(compiled.binds)
    keys, statics, binders = [], [], []
    for name in names:
        bind = compiled.binds[name]
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        keys.append(bind.key)
        if bind.key in column_keys or bind.callable is not None or bind.required:
            statics.append(_MISSING)
        else:  # a value the statement itself fixes, e.g. .values(status="received"): converted once
            value = bind.effective_value
            statics.append(processor(value) if processor is not None else value)
        binders.append(processor)
    columns = statement.selected_columns if statement.is_select else getattr(statement, "exported_columns", ())
    readers = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns) or None
    sql = compiled.string
    if not positional:
        escaped = getattr(compiled, "escaped_bind_names", None) or {}
        names = tuple(escaped.get(name, name) for name in names)
    return _Plan(sql, names, tuple(zip(keys, statics, binders)), readers, positional)


def _values(plan: _Plan, params: dict):
    out = []
    append = out.append
    for key, static, binder in plan.slots:
        if static is not _MISSING and key not in params:
            append(static)
        elif binder is None:
            append(params[key])
        else:
            value = params[key]
            append(None if value is None else binder(value))
    return tuple(out) if plan.positional else dict(zip(plan.names, out))


def _read(readers, row) -> tuple:
    return tuple(value if reader is None or value is None else reader(value) for reader, value in zip(readers, row))


class _Held:
    """What a transaction's statements share: its connection, the driver's, and whether anyone listens."""

    __slots__ = ("transaction", "savepoint", "conn", "dbapi_conn", "dialect", "listened", "cursor")

    def __init__(self, transaction, savepoint, conn):
        self.transaction, self.savepoint, self.conn, self.dialect = transaction, savepoint, conn, conn.dialect
        self.dbapi_conn = conn.connection.dbapi_connection
        # On PostgreSQL one cursor serves the transaction's statements (each caller reads its result before the
        # next statement): a psycopg cursor looks up how to send each parameter type once, a new one on every
        # statement. SQLite's cursors cost next to nothing, and sharing one made timer firing dearer.
        self.cursor = None if conn.dialect.name == "sqlite" else self.dbapi_conn.cursor()
        dispatch = conn.dispatch
        self.listened = bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def _connection(session: Session) -> _Held:
    """The session's connection and its driver connection, kept in the transaction's context (engine/context.py).

    Asking the session each time costs more than most statements here. The copy is checked against the
    session's transaction and its innermost savepoint: a new savepoint asks the session again, which is
    what makes it emit the SAVEPOINT, and nothing is used after a commit or rollback.
    """
    context = session.info.get(KEY)  # transaction(session), inlined: this runs before every statement
    held = context.connection if context is not None else None
    if (held is not None and held.transaction is session.get_transaction()
            and held.savepoint is session.get_nested_transaction()):
        return held
    conn = session.connection()
    held = transaction(session).connection = _Held(session.get_transaction(), session.get_nested_transaction(), conn)
    return held


def _run(held: _Held, plan: _Plan, values, *, many: bool):
    cursor = held.cursor if held.cursor is not None else held.dbapi_conn.cursor()
    if held.listened:
        held.conn.dispatch.before_cursor_execute(held.conn, cursor, plan.sql, values, None, many)
    try:
        if many:
            cursor.executemany(plan.sql, values)
        else:
            cursor.execute(plan.sql, values)
    except held.dialect.loaded_dbapi.Error as error:
        raise exc.DBAPIError.instance(plan.sql, values, error, held.dialect.loaded_dbapi.Error,
                                      dialect=held.dialect) from error
    if held.listened:
        held.conn.dispatch.after_cursor_execute(held.conn, cursor, plan.sql, values, None, many)
    return cursor


@lru_cache(maxsize=None)
def _savepoint_sql(depth: int) -> tuple[str, str, str]:
    """SAVEPOINT, ROLLBACK TO and RELEASE of the savepoint `depth` deep: one name per depth, so the statements are
    the same few texts every time (a name per savepoint made each one a text the driver parsed anew)."""
    name = f"guichet_sp_{depth}"
    return f"SAVEPOINT {name}", f"ROLLBACK TO SAVEPOINT {name}", f"RELEASE SAVEPOINT {name}"


@contextmanager
def savepoint(session: Session):
    """A savepoint around a step whose writes go through prepared statements: what `session.begin_nested()` does
    for them, at a fraction of its cost (that emits and compiles SAVEPOINT and RELEASE anew each time, and
    snapshots the session twice); a form's submission pays it on every start.

    Pending ORM changes are flushed first, as begin_nested does. When the block raises, the database goes back
    to the savepoint, the transaction context forgets what it read ahead and what stages kept (as when a
    savepoint of the session rolls back, engine/context.py), ORM objects added inside are expunged and the others
    expired (read again on use), and the exception passes on.

    On PostgreSQL a block that succeeds does not RELEASE its savepoint (a round trip): what it wrote is the
    transaction's either way, and the transaction's end releases it. (SQLite releases it: there a statement costs
    next to nothing, and while a savepoint is open every page a write first touches is copied to a sub-journal.)
    Both databases roll back to, and release, the newest savepoint of a name, and a savepoint's name is its depth: a
    later block at the same depth makes a newer one, an enclosing block's is older and rolling back to it drops the
    ones inside.
    """
    if session._new or session._deleted or session.identity_map._modified:
        session.flush()
    held = _connection(session)
    known = set(session.identity_map.keys())
    context = transaction(session)
    context.savepoints += 1
    create, back, release = _savepoint_sql(context.savepoints)
    try:
        _run_sql(held, create)
        yield
    except BaseException:
        _run_sql(held, back)
        _run_sql(held, release)
        context.read_ahead.clear()
        context.stage.clear()
        _forget_orm_changes(session, known)
        raise
    else:
        if held.dialect.name != "postgresql":
            _run_sql(held, release)
    finally:
        context.savepoints -= 1


def _forget_orm_changes(session: Session, known: set) -> None:
    """After going back to a savepoint, what `session.begin_nested()`'s rollback does to the ORM's objects: those
    added inside are expunged (pending, or flushed: their rows are gone now), the rest expired (each was flushed
    when the savepoint began, so reading it again finds what it held then)."""
    for obj in list(session._new.values()):
        session.expunge(obj)
    for key, obj in list(session.identity_map.items()):
        if key not in known and not _row_exists(session, key):
            session.expunge(obj)
    for obj in list(session.identity_map.values()):
        session.expire(obj)  # held as the row was when the savepoint began (flushed then): read again on use


def _row_exists(session: Session, key) -> bool:
    mapper = inspect(key[0])
    where = [column == value for column, value in zip(mapper.primary_key, key[1])]
    return session.execute(select(*mapper.primary_key).where(*where)).first() is not None


def _run_sql(held: _Held, sql: str) -> None:
    _run(held, _Plan(sql, (), (), None, True), (), many=False)
