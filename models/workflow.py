"""Workflow definitions (versioned documents), routing rules and four-eyes proposals."""

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import JSONType, UTCDateTime, utcnow


class WorkflowDefinition(db.Model):
    """A named workflow; department_id None means shared (seeded) and read-only for departments."""

    __tablename__ = "workflow_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    draft = mapped_column(JSONType, nullable=False)
    draft_updated_at = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list["WorkflowVersion"]] = relationship(
        back_populates="definition", order_by="WorkflowVersion.number"
    )

    @property
    def latest(self):
        return self.versions[-1] if self.versions else None


class WorkflowVersion(db.Model):
    """Immutable published workflow document; requests pin one."""

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("definition_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("workflow_definitions.id"), index=True)
    number: Mapped[int]
    document = mapped_column(JSONType, nullable=False)
    change_note: Mapped[str] = mapped_column(Text, default="")
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    published_at = mapped_column(UTCDateTime, default=utcnow)

    definition: Mapped[WorkflowDefinition] = relationship(back_populates="versions")


class ServiceWorkflow(db.Model):
    """Which workflow a service uses (the latest published version applies at submission)."""

    __tablename__ = "service_workflows"

    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflow_definitions.id"))

    service = relationship("Service", backref=db.backref("workflow_link", uselist=False))
    workflow = relationship("WorkflowDefinition")


class RoutingRule(db.Model):
    """Ordered rule: if `condition` (JsonLogic over the answers) holds, route to department."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(200), default="")
    condition = mapped_column(JSONType, nullable=False)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))

    department = relationship("Department")


class ApprovalProposal(db.Model):
    """A decision proposed by one clerk that a second one must confirm (Vier-Augen-Prinzip)."""

    __tablename__ = "approval_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    transition: Mapped[str] = mapped_column(String(80))
    data = mapped_column(JSONType, nullable=False, default=dict)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # confirmed | returned

    request = relationship("ServiceRequest")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
