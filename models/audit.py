"""Record of configuration changes (who changed what, when), and the configuration generation."""

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import JSONType, UTCDateTime, utcnow


class ConfigChange(db.Model):
    __tablename__ = "config_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80), default="")
    action: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text, default="")
    details = mapped_column(JSONType, nullable=False, default=dict)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    actor = relationship("User")


class ConfigGeneration(db.Model):
    """One row whose token changes with every change to workflows, routing rules, services or departments.

    Processes cache what they derive from that configuration (services.workflow.start_plan) under
    the token they read; services.config_generation changes it in the changing transaction. A random
    token, not a counter: a database emptied and refilled (tests) can never bring an old value back.
    """

    __tablename__ = "config_generation"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    token: Mapped[str] = mapped_column(String(32))
