"""The org stage's hot reads: prepared statements (engine/prepared.py) for what runs on every request."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.prepared import Prepared

from .models import User

_USERS = User.__table__
_TOKEN_STATE = Prepared(select(_USERS.c.active, _USERS.c.auth_epoch, _USERS.c.role,
                               _USERS.c.department_id).where(_USERS.c.id == bindparam("uid")))


def token_state_row(session: Session, user_id: int) -> tuple | None:
    """(active, auth_epoch, role, department_id) of a user, or None: one primary-key lookup."""
    return _TOKEN_STATE.first(session, {"uid": user_id})
