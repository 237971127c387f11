"""Drafts, submitted requests (Anträge), attachments, history, messages, inbox."""

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import JSONType, UTCDateTime, new_public_id, utcnow


class Draft(db.Model):
    """Unfinished answers of a citizen for one service, pinned to a form version."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    # NULL for an anonymous draft: it belongs to the browser session whose token hashes to anon_token_hash.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=True
    )
    anon_token_hash: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    answers = mapped_column(JSONType, nullable=False, default=dict)
    last_page: Mapped[str] = mapped_column(String(80), default="")
    # Input left invalid by "Später fortsetzen", shown again on resume: {page key: {input name:
    # {posted name: [texts]}}} (services.drafts.save_for_later); never part of the answers.
    unsaved_input = mapped_column(JSONType, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at = mapped_column(UTCDateTime, nullable=True)  # set once; the request links back via draft_id

    user = relationship("User")
    service = relationship("Service")
    form_version = relationship("FormVersion")
    attachments = relationship("Attachment", back_populates="draft", foreign_keys="Attachment.draft_id")


class ReferenceCounter(db.Model):
    """Last issued reference number per prefix and year (DU-2026-000123)."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)


class ServiceRequest(db.Model):
    """A submitted request (Antrag)."""

    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_service_requests_queue", "department_id", "state", "due_at", "id"),
        Index("ix_service_requests_submitted", "department_id", "submitted_at", "id"),
        # Reference search by prefix (LIKE 'DU-2026-00%') whatever the database collation (clerk queue).
        Index(
            "ix_service_requests_reference_prefix",
            "reference",
            postgresql_ops={"reference": "varchar_pattern_ops"},
        ),
        # The clerk queue's default view and its counts per state cover requests not yet closed only.
        Index(
            "ix_service_requests_open_due",
            "department_id",
            "due_at",
            "id",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
        # A citizen's requests submitted without an account, offered to their account ("Meine Anträge").
        Index(
            "ix_service_requests_anonymous_contact",
            "contact_email",
            postgresql_where=text("applicant_id IS NULL"),
            sqlite_where=text("applicant_id IS NULL"),
        ),
        Index(
            "ix_service_requests_open_state",
            "department_id",
            "state",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    workflow_version_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_versions.id"), nullable=True)
    # NULL for an anonymous submission: replies go to contact_email, the applicant's browser gets
    # access through the personal status link whose token hashes to access_token_hash.
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, nullable=True)
    applicant_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    access_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Counts the status link's renewals: part of the token's HMAC, so renewing retires the old link.
    # A server default only: the submit's single INSERT statement leaves the column out.
    access_link_generation: Mapped[int] = mapped_column(server_default=text("0"))
    # Unique: a draft becomes at most one request, whatever races happen on submit.
    draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("drafts.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    answers = mapped_column(JSONType, nullable=False)
    computed = mapped_column(JSONType, nullable=False, default=dict)  # e.g. {"fee_cents": 3000}
    locale: Mapped[str] = mapped_column(String(5), default="de")
    state: Mapped[str] = mapped_column(String(40))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    submitted_at = mapped_column(UTCDateTime, default=utcnow)
    due_at = mapped_column(UTCDateTime, nullable=True)
    clock_paused_at = mapped_column(UTCDateTime, nullable=True)  # set while waiting for the citizen
    decided_at = mapped_column(UTCDateTime, nullable=True)
    closed_at = mapped_column(UTCDateTime, nullable=True)
    # When the applicant answered a question, until staff next act on the request (services.events
    # clears it with the chain head): the queue marks such requests "Antwort eingegangen".
    citizen_replied_at = mapped_column(UTCDateTime, nullable=True)
    # Set while the request must be kept beyond its retention period (an objection, a lawsuit):
    # services.retention neither lists nor deletes it. The reason is staff-only.
    retention_hold_reason = mapped_column(Text, nullable=True)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # Head of the event hash chain (services.events keeps it): appending needs no SELECT, and the
    # audit detects deleted *last* events. NULL = not tracked (rows from before the column existed).
    last_event_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_event_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __mapper_args__ = {"version_id_col": row_version}

    service = relationship("Service")
    form_version = relationship("FormVersion")
    workflow_version = relationship("WorkflowVersion")
    applicant = relationship("User", foreign_keys=[applicant_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    department = relationship("Department")
    attachments = relationship("Attachment", back_populates="request", foreign_keys="Attachment.request_id")
    events = relationship("RequestEvent", back_populates="request", order_by="RequestEvent.seq")
    messages = relationship("Message", back_populates="request", order_by="Message.created_at")


class Attachment(db.Model):
    """An uploaded file, stored outside the web root under a generated name."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("drafts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id"), nullable=True, index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), nullable=True)
    field_key: Mapped[str] = mapped_column(String(200), default="")  # answer path, e.g. "hunde.0.impfpass"
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    draft = relationship("Draft", back_populates="attachments", foreign_keys=[draft_id])
    request = relationship("ServiceRequest", back_populates="attachments", foreign_keys=[request_id])


class RequestEvent(db.Model):
    """Append-only history entry; `hash` covers the entry and its predecessor's hash."""

    __tablename__ = "request_events"
    __table_args__ = (UniqueConstraint("request_id", "seq"),)  # also the index for lookups by request

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(
        String(40)
    )  # submitted, routed, claimed, transition, message, note, ...
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    data = mapped_column(JSONType, nullable=False, default=dict)
    visible_to_citizen: Mapped[bool] = mapped_column(default=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    request = relationship("ServiceRequest", back_populates="events")
    actor = relationship("User")


class Message(db.Model):
    """A message between clerk and citizen (e.g. a question and its answer)."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    from_citizen: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    requested_documents = mapped_column(JSONType, nullable=False, default=list)
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), nullable=True)
    answered_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    request = relationship("ServiceRequest", back_populates="messages")
    author = relationship("User")
    attachments = relationship("Attachment", foreign_keys="Attachment.message_id")


class InboxItem(db.Model):
    """An entry in a citizen's in-app inbox (Postfach): state changes, questions, notices."""

    __tablename__ = "inbox_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    data = mapped_column(JSONType, nullable=False, default=dict)  # message key + params, rendered per locale
    created_at = mapped_column(UTCDateTime, default=utcnow)
    read_at = mapped_column(UTCDateTime, nullable=True)

    request = relationship("ServiceRequest")
