"""Who is who: logins, departments and superiors."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import transaction

from .models import Department, User


def hasher(config: dict) -> PasswordHasher:
    """The argon2 hasher with the configured cost."""
    sec = config.get("security", {})
    return PasswordHasher(time_cost=sec.get("argon2_time_cost", 3), memory_cost=sec.get("argon2_memory_cost", 65536))


def authenticate(session: Session, username: str, password: str, *, ph: PasswordHasher) -> User | None:
    """The active user with these credentials, or None."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        ph.hash("timing-equaliser")  # same cost whether or not the name exists
        return None
    try:
        ph.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


# Lanes that name a role rather than a department (e.g. 设计部门负责人); stages register the ones they route.
ROLE_LANES: dict[str, str] = {}


def register_role_lane(name: str, meaning: str) -> None:
    """Let diagrams use a lane named `name`; the registering stage routes its items."""
    ROLE_LANES[name] = meaning


def lane_names(session: Session) -> set[str]:
    """Every lane name a diagram may use: department names and registered role lanes."""
    return set(session.scalars(select(Department.name))) | set(ROLE_LANES)


def _remembered(session: Session, key: tuple, load):
    """Org lookups repeat within one transaction (a batch of escalations): ask the database once."""
    memo = transaction(session).stage.setdefault("org", {})
    if key not in memo:
        memo[key] = load()
    return memo[key]


def get_user(session: Session, user_id: int) -> User | None:
    """A user by id."""
    return _remembered(session, ("id", user_id), lambda: session.get(User, user_id))


def get_by_username(session: Session, username: str) -> User | None:
    """A user by login name."""
    return _remembered(session, ("username", username),
                       lambda: session.scalars(select(User).where(User.username == username)).first())


def display_name(session: Session, username: str | None) -> str:
    """How a person is shown: the staff member's name, or the login name when no such user exists (imported
    records, removed staff)."""
    if not username:
        return ""
    user = get_by_username(session, username)
    return user.display_name if user is not None else username


def department_by_name(session: Session, name: str) -> Department | None:
    """A department by the name lanes use."""
    return _remembered(session, ("department", name),
                       lambda: session.scalars(select(Department).where(Department.name == name)).first())


def members_of(session: Session, department: str) -> list[User]:
    """The active staff of a department (by the name lanes use)."""
    return list(session.scalars(select(User).join(Department, User.department_id == Department.id)
                                .where(Department.name == department, User.active.is_(True)).order_by(User.id)))


def superior_chain(session: Session, user: User, depth: int = 5) -> list[User]:
    """The user's superiors, nearest first."""
    chain, seen, current = [], {user.id}, user
    while current.superior_id and len(chain) < depth and current.superior_id not in seen:
        current = get_user(session, current.superior_id)
        seen.add(current.id)
        chain.append(current)
    return chain


def responsible_chain(session: Session, *, assignee: str | None, department: str | None, depth: int = 5) -> list[User]:
    """Who answers for a late item, nearest first: the assignee's superiors, else the department head and up."""
    if assignee:
        user = get_by_username(session, assignee)
        if user is not None:
            return superior_chain(session, user, depth)
    dept = department_by_name(session, department) if department else None
    if dept is None or dept.head_id is None:
        return []
    head = get_user(session, dept.head_id)
    return [head] + superior_chain(session, head, depth - 1)
