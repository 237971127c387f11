"""Record of configuration changes (who changed what, when), and the configuration generation."""

from sqlalchemy import ForeignKey, Integer, String, Text
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


class RetentionDeletion(db.Model):
    """A request deleted after its retention period (services/retention.py): no personal data, only
    what shows that it existed and how its history ended. `final_hash` is the hash of the last event
    of the request's chain (verified intact just before the deletion), so an auditor holding an
    older export of chain heads sees the chain ended by this deletion, not by tampering."""

    __tablename__ = "retention_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The deleted row's id (no foreign key; not unique: SQLite may hand a freed highest id out again).
    request_id: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"), nullable=True, index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    retention_years: Mapped[int]
    submitted_at = mapped_column(UTCDateTime, nullable=True)
    closed_at = mapped_column(UTCDateTime, nullable=False)
    deleted_at = mapped_column(UTCDateTime, default=utcnow)
    event_count: Mapped[int]
    final_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    final_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    counts = mapped_column(JSONType, nullable=False, default=dict)  # rows and files deleted, per kind

    service = relationship("Service")
    department = relationship("Department")
