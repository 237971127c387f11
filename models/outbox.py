"""Work to do after commit, written in the same transaction as its cause."""

import enum

from sqlalchemy import DDL, ForeignKey, Index, String, Text, event
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


# PostgreSQL wakes the outbox relay when a transaction that added (or re-opened) a pending row
# commits: NOTIFY is delivered at commit and collapsed within one transaction, so a submission
# with several rows wakes it once (workers/relay.py, decision 0011). The migration
# e7f8a9b0c1d2 installs the same; this covers databases made by create_all (tests, benches).
OUTBOX_CHANNEL = "amtsweg_outbox"
NOTIFY_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION amtsweg_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
    RETURN NULL;
END $$
"""
NOTIFY_TRIGGER_SQL = """
CREATE TRIGGER outbox_jobs_notify AFTER INSERT OR UPDATE OF state ON outbox_jobs
FOR EACH ROW WHEN (NEW.state = 'pending') EXECUTE FUNCTION amtsweg_outbox_notify()
"""

for _sql in (NOTIFY_FUNCTION_SQL, NOTIFY_TRIGGER_SQL):
    event.listen(OutboxJob.__table__, "after_create", DDL(_sql).execute_if(dialect="postgresql"))
