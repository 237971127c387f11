"""What a four-eyes proposal asks the second person to approve: the decision, its inputs, its result.

The proposal (services.workflow.engine._propose) stores only the transition's name and the entered
values; this module labels them from the request's pinned workflow version for the clerk pages.
"""

from dataclasses import dataclass
from datetime import datetime

from extensions import db
from models import ApprovalProposal
from services.messages import field_details
from services.workflow import load_spec, pending_approvals, state_label


@dataclass(frozen=True)
class ProposalSummary:
    decision: str  # label of the proposed transition, e.g. "Genehmigen"
    proposer: str
    proposed_at: datetime
    comment: str
    fields: list  # (label, text) of the proposed inputs
    target_state: str  # staff label of the state the decision leads to


def describe_proposal(req, proposal: ApprovalProposal, locale: str) -> ProposalSummary:
    spec = load_spec(req.workflow_version)
    transition = spec.transitions.get(proposal.transition)
    data = proposal.data or {}
    who = proposal.proposed_by
    return ProposalSummary(
        decision=transition.label(locale) if transition else proposal.transition,
        proposer=(who.full_name or who.email) if who is not None else "",
        proposed_at=proposal.proposed_at,
        comment=data.get("comment") or "",
        fields=field_details(transition, data.get("fields") or {}, locale, with_message=True)
        if transition else [],
        target_state=state_label(req.workflow_version, transition.to, locale, "staff") if transition else "",
    )


def pending_approval_summaries(user, locale: str) -> list[tuple]:
    """(request, ProposalSummary) of every decision waiting for `user`'s approval (pending_approvals)."""
    rows = db.session.execute(pending_approvals(user).add_columns(ApprovalProposal))
    return [(req, describe_proposal(req, proposal, locale)) for req, proposal in rows]
