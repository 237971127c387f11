"""The workflow engine: definitions, transitions, four-eyes, routing, deadlines, audit chain."""

from services.workflow.audit import ChainBreak, count_chains, verify_chains
from services.workflow.deadlines import deadline_status, version_deadline_status
from services.workflow.definitions import (
    DEFAULT_WORKFLOW_KEY,
    FieldSpec,
    Transition,
    WorkflowSpec,
    create_definition,
    default_document,
    describe_path,
    link_service,
    load_spec,
    publish_workflow,
    validate_workflow,
    workflow_for_service,
)
from services.workflow.effects import approval_fee_cents
from services.workflow.engine import (
    CONFIRM,
    RETURN,
    actor_roles,
    apply_transition,
    available_transitions,
    open_proposal,
    pending_approvals,
    start_request,
    state_kind,
    state_label,
)
from services.workflow.routing import (
    RoutingResult,
    forward_blocked_message,
    forward_request,
    route_request,
    test_routing,
)

__all__ = [
    "CONFIRM",
    "DEFAULT_WORKFLOW_KEY",
    "RETURN",
    "ChainBreak",
    "FieldSpec",
    "RoutingResult",
    "Transition",
    "WorkflowSpec",
    "actor_roles",
    "apply_transition",
    "approval_fee_cents",
    "available_transitions",
    "count_chains",
    "create_definition",
    "deadline_status",
    "default_document",
    "describe_path",
    "forward_blocked_message",
    "forward_request",
    "link_service",
    "load_spec",
    "open_proposal",
    "pending_approvals",
    "publish_workflow",
    "route_request",
    "start_request",
    "state_kind",
    "state_label",
    "test_routing",
    "validate_workflow",
    "verify_chains",
    "version_deadline_status",
    "workflow_for_service",
]  # fmt: skip
