"""Departments and staff."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import Base, UTCDateTime

ROLES = {
    "clerk": "窗口经办",
    "handler": "部门经办",
    "head": "部门负责人",
    "manager": "公司管理层",
    "archivist": "档案管理员",
    "inspector": "监督检查",
    "hr": "人力资源",
}


class Department(Base):
    """部门: a lane in the diagrams names a department by its name."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    head_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", use_alter=True, name="fk_department_head"))


class User(Base):
    """员工: a login, a department, a role and a superior on the org chart."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    superior_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    # Raised on deactivation, password change and revocation: API tokens carry the value they were issued at.
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    department: Mapped[Department] = relationship(foreign_keys=[department_id], lazy="joined")
    superior: Mapped["User | None"] = relationship(remote_side=[id], foreign_keys=[superior_id])

    @property
    def role_label(self) -> str:
        """The role as staff say it."""
        return ROLES.get(self.role, self.role)

    @property
    def groups(self) -> list[str]:
        """Candidate groups whose queues this user works: the department's name."""
        return [self.department.name]

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """Session identifier for Flask-Login."""
        return str(self.id)


class LoginSession(Base):
    """登录会话: one page login. The cookie carries a random key, the row (under the key's sha256) says whether
    it still holds, so logout, deactivation and a password change end it in every process."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(30))


class LoginThrottle(Base):
    """Recent failed logins of one account name: the progressive delay and the temporary lockout,
    kept in the database so that they hold across web processes."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
