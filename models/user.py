"""Accounts: citizens and staff, department memberships."""

import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import UTCDateTime, utcnow


class UserKind(enum.StrEnum):
    CITIZEN = "citizen"
    STAFF = "staff"


class MembershipRole(enum.StrEnum):
    CLERK = "clerk"
    ADMIN = "admin"  # department admin: configures the department's services and staff


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16), default=UserKind.CITIZEN)
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    email_confirmed_at = mapped_column(UTCDateTime, nullable=True)
    # Bumped on logout-everywhere and password change: sessions carrying an older value die.
    session_version: Mapped[int] = mapped_column(default=1)
    locale: Mapped[str] = mapped_column(String(5), default="de")
    created_at = mapped_column(UTCDateTime, default=utcnow)
    last_login_at = mapped_column(UTCDateTime, nullable=True)
    # Set when the citizen deleted the account (services.privacy.delete_account): the row stays,
    # anonymised, because requests and their tamper-evident history refer to it.
    deleted_at = mapped_column(UTCDateTime, nullable=True)

    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    # Flask-Login protocol: the session stores "<id>:<session_version>".
    @property
    def is_authenticated(self):
        return True

    @property
    def is_active(self):
        return self.is_active_account

    @property
    def is_anonymous(self):
        return False

    def get_id(self):
        return f"{self.id}:{self.session_version}"

    @property
    def is_staff(self):
        return self.kind == UserKind.STAFF

    @property
    def is_citizen(self):
        return self.kind == UserKind.CITIZEN

    @property
    def email_confirmed(self):
        return self.email_confirmed_at is not None

    def department_ids(self, role: str | None = None) -> set[int]:
        return {m.department_id for m in self.memberships if role is None or m.role == role}

    def __repr__(self):
        return f"<User {self.id} {self.kind}>"


class Membership(db.Model):
    """A staff member's role in one department."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=MembershipRole.CLERK)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    department = relationship("Department", back_populates="memberships")
