"""Form definitions: an editable draft document and immutable published versions."""

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import JSONType, UTCDateTime, utcnow


class FormDefinition(db.Model):
    """The form of one service. `draft` is edited; publishing freezes a FormVersion."""

    __tablename__ = "form_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), unique=True)
    draft = mapped_column(JSONType, nullable=False)
    draft_updated_at = mapped_column(UTCDateTime, default=utcnow)
    draft_updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # When true, drafts filled on an older version must be moved to the newest before submitting.
    require_latest: Mapped[bool] = mapped_column(default=False)
    # Fields renamed in the draft since the last publication, {key then: key now}. Publishing the
    # draft makes the service's routing rules follow them (services.admin_services.publish_definition).
    draft_renames = mapped_column(JSONType, nullable=False, default=dict, server_default="{}")

    service = relationship("Service", backref=db.backref("form_definition", uselist=False))
    versions: Mapped[list["FormVersion"]] = relationship(
        back_populates="definition", order_by="FormVersion.number"
    )

    @property
    def latest(self) -> "FormVersion | None":
        return self.versions[-1] if self.versions else None


class FormVersion(db.Model):
    """A published, immutable form document. Drafts and requests pin one forever."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("definition_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("form_definitions.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    document = mapped_column(JSONType, nullable=False)
    checksum: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical JSON
    change_note: Mapped[str] = mapped_column(Text, default="")
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    published_at = mapped_column(UTCDateTime, default=utcnow)
    # Field renames published with this version, {key in the previous version: key in this one}:
    # answers of older versions are read through them where rules expect the latest keys
    # (services.field_renames; routing).
    renamed_fields = mapped_column(JSONType, nullable=True)

    definition: Mapped[FormDefinition] = relationship(back_populates="versions")
    published_by = relationship("User")


class FormScenario(db.Model):
    """An example answer set with the expected outcome; run before every publish."""

    __tablename__ = "form_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("form_definitions.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    answers = mapped_column(JSONType, nullable=False)
    expected = mapped_column(JSONType, nullable=False)  # {"pages": [...], "fee_cents": n, "department": slug}
    created_at = mapped_column(UTCDateTime, default=utcnow)
