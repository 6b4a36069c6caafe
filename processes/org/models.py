"""Departments and staff."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base

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
