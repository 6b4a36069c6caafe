"""What one database transaction carries, and its whole lifecycle, in one place.

A step must not read a row twice, and a workflow it stepped may go back to the runtime's warm cache
only once the transaction that saved it has committed. Both are per transaction, so they live in one
`TransactionContext` per session transaction, reached with `transaction(session)`:

- `instances`: instances this transaction loaded or saved, by id (a later step or item lookup in the
  same transaction reuses them instead of reading the row again);
- `read_ahead`: open task items read ahead for instances about to step (a batch of timer firings), by
  instance id; each list serves at most the first service task of that instance's next step;
- `warm`: (warm cache, instance id, lock_version, workflow) of each workflow a step saved, handed to its
  cache after commit;
- `connection`: the session's connection and driver connection for prepared statements
  (engine/prepared.py checks it against the current transaction and savepoint before each use);
- `stage`: what a stage keeps for the rest of the transaction, under a key of its own (the audit
  chain's head, org lookups), instead of loose keys in `session.info`;
- `savepoints`: how deep the savepoints of engine/prepared.py's `savepoint()` are nested now (their names).

Lifecycle (the listeners below are the only code that ends a context):
- begin: created by the first `transaction(session)` of a transaction;
- after commit: the warm workflows go to their caches, then the context is dropped;
- after rollback: the context is dropped, warm workflows with it (their state was never committed);
- a savepoint rolled back: `read_ahead` and `stage` may no longer match the rows, so they are emptied;
  the instance whose step was rolled back is forgotten by whoever rolled it back (`Runtime.forget`);
- a savepoint released: nothing changes (the outer transaction may still roll back).

What is per *step* rather than per transaction (the step's session, time and instance, seen by service
tasks and by SpiffWorkflow's timers) is set for the length of the step by `Runtime` and `engine/clock.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import Session

KEY = "guichet"  # the one session.info key the engine uses


@dataclass(slots=True)
class TransactionContext:
    """What one transaction has loaded, read ahead, and will hand back after commit."""

    instances: dict = field(default_factory=dict)
    read_ahead: dict = field(default_factory=dict)
    warm: list = field(default_factory=list)
    connection: object = None
    stage: dict = field(default_factory=dict)
    savepoints: int = 0


def transaction(session: Session) -> TransactionContext:
    """The context of the session's current transaction (created on first use)."""
    context = session.info.get(KEY)
    if context is None:
        context = session.info[KEY] = TransactionContext()
    return context


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the outer transaction may still roll back
    context = session.info.pop(KEY, None)
    if context is not None:
        for cache, instance_id, version, workflow in context.warm:
            cache.put(instance_id, version, workflow)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        context = session.info.get(KEY)
        if context is not None:
            context.read_ahead.clear()
            context.stage.clear()
        return
    session.info.pop(KEY, None)
