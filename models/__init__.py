"""All models, imported here so Alembic and the app see the full metadata."""

from models.audit import ConfigChange, ConfigGeneration, RetentionDeletion
from models.catalog import Department, Service
from models.formdef import FormDefinition, FormScenario, FormVersion
from models.notice import Notice, NoticeKind, NoticeState, NoticeTemplate, NoticeTemplateVersion
from models.outbox import OutboxJob, OutboxState
from models.request import (
    Attachment,
    Draft,
    InboxItem,
    Message,
    ReferenceCounter,
    RequestEvent,
    ServiceRequest,
)
from models.user import Membership, MembershipRole, User, UserKind
from models.workflow import (
    ApprovalProposal,
    RoutingRule,
    ServiceWorkflow,
    WorkflowDefinition,
    WorkflowVersion,
)

__all__ = [
    "ApprovalProposal", "Attachment", "ConfigChange", "ConfigGeneration", "Department", "Draft",
    "FormDefinition", "FormScenario", "FormVersion", "InboxItem", "Membership", "MembershipRole",
    "Message", "Notice", "NoticeKind", "NoticeState", "NoticeTemplate", "NoticeTemplateVersion",
    "OutboxJob", "OutboxState", "ReferenceCounter", "RequestEvent", "RetentionDeletion", "RoutingRule",
    "Service", "ServiceRequest", "ServiceWorkflow", "User", "UserKind", "WorkflowDefinition",
    "WorkflowVersion",
]
