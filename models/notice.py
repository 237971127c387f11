"""Notices (Bescheide) and their versioned templates."""

import enum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import JSONType, UTCDateTime, utcnow


class NoticeKind(enum.StrEnum):
    RECEIPT = "receipt"  # Eingangsbestätigung
    APPROVAL = "approval"
    REJECTION = "rejection"
    INFORMATION_REQUEST = "information_request"
    FEE = "fee"


class NoticeState(enum.StrEnum):
    PENDING = "pending"
    ISSUED = "issued"
    FAILED = "failed"


class NoticeTemplate(db.Model):
    """Template for one notice kind; service_id None is the city-wide default."""

    __tablename__ = "notice_templates"
    __table_args__ = (UniqueConstraint("service_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    draft_html: Mapped[str] = mapped_column(Text)
    draft_css: Mapped[str] = mapped_column(Text, default="")

    versions: Mapped[list["NoticeTemplateVersion"]] = relationship(
        back_populates="template", order_by="NoticeTemplateVersion.number"
    )

    @property
    def latest(self):
        return self.versions[-1] if self.versions else None


class NoticeTemplateVersion(db.Model):
    __tablename__ = "notice_template_versions"
    __table_args__ = (UniqueConstraint("template_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("notice_templates.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    html: Mapped[str] = mapped_column(Text)
    css: Mapped[str] = mapped_column(Text, default="")
    change_note: Mapped[str] = mapped_column(Text, default="")
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    published_at = mapped_column(UTCDateTime, default=utcnow)

    template: Mapped[NoticeTemplate] = relationship(back_populates="versions")


class Notice(db.Model):
    """A generated, signed PDF for a request."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("request_id", "kind", "revision"),)  # also the index by request

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"))
    kind: Mapped[str] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(default=1)
    template_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("notice_template_versions.id"), nullable=True
    )
    state: Mapped[str] = mapped_column(String(16), default=NoticeState.PENDING)
    data = mapped_column(JSONType, nullable=False, default=dict)  # decision data, embedded in the PDF
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    file_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int | None] = mapped_column(nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")  # technical text for ops (traceback tail)
    # why it failed, as data worded when shown (services/notices/failures.py); None: not failed, or
    # failed before this was recorded (then the error text is read)
    failure = mapped_column(JSONType, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    issued_at = mapped_column(UTCDateTime, nullable=True)

    request = relationship("ServiceRequest", backref="notices")
    template_version = relationship("NoticeTemplateVersion")
