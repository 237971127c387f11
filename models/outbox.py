"""Work to do after commit, written in the same transaction as its cause."""

import enum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import JSONType, UTCDateTime, utcnow


class OutboxState(enum.StrEnum):
    PENDING = "pending"  # committed, not yet handed to RQ (or handed, job vanished)
    ENQUEUED = "enqueued"
    DONE = "done"
    FAILED = "failed"  # gave up after OUTBOX_MAX_ATTEMPTS; ops can retry


class OutboxJob(db.Model):
    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_jobs_state_available", "state", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))  # job name in the workers' registry
    payload = mapped_column(JSONType, nullable=False, default=dict)  # ids only, never personal data
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id"), nullable=True, index=True
    )
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow)
    available_at = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at = mapped_column(UTCDateTime, nullable=True)
    finished_at = mapped_column(UTCDateTime, nullable=True)

    @property
    def job_id(self) -> str:
        return f"outbox-{self.id}"
