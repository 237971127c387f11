"""Processing deadlines: due date, the clock that pauses while waiting for the citizen, status flags."""

from datetime import timedelta

from models.base import utcnow

DUE_SOON = timedelta(days=2)


def compute_due_at(req):
    """Submission time plus the service's processing time in calendar days."""
    return due_at_for(req.submitted_at or utcnow(), req.service.processing_days)


def due_at_for(submitted_at, processing_days: int):
    return submitted_at + timedelta(days=processing_days)


def pause_clock(req, now=None) -> None:
    """Stop the clock (idempotent): the time until resume is added to the due date."""
    if req.clock_paused_at is None and req.closed_at is None:
        req.clock_paused_at = now or utcnow()


def resume_clock(req, now=None) -> timedelta:
    """Restart the clock (idempotent); extends due_at by the paused time and returns it."""
    if req.clock_paused_at is None:
        return timedelta(0)
    paused = max((now or utcnow()) - req.clock_paused_at, timedelta(0))
    if req.due_at is not None:
        req.due_at = req.due_at + paused
    req.clock_paused_at = None
    return paused


def deadline_status(req, now=None, kind=None, due_soon=DUE_SOON):
    """ "overdue" | "due_soon" (≤ 2 days left) | "ok" | "paused" | None (decided, closed, no due date)."""
    if kind is None and req.workflow_version is not None:
        return version_deadline_status(req.workflow_version, req, now)
    return _status(req, now, kind, due_soon)


def version_deadline_status(version, req, now=None):
    """deadline_status of `req` under the WorkflowVersion `version` (or None): for rows that carry
    the version's id only (the clerk queue's rows); needs req.state, due_at and clock_paused_at."""
    if version is None:
        return _status(req, now, None, DUE_SOON)
    from services.workflow.definitions import load_spec

    spec = load_spec(version)
    return _status(req, now, spec.kind(req.state), timedelta(days=spec.due_soon_days))


def _status(req, now, kind, due_soon):
    if kind in ("decided", "closed") or req.due_at is None:
        return None
    if req.clock_paused_at is not None:
        return "paused"
    left = req.due_at - (now or utcnow())
    if left < timedelta(0):
        return "overdue"
    return "due_soon" if left <= due_soon else "ok"
