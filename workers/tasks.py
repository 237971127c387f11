"""The RQ entry function: run one outbox row through its registered job function."""

import logging
import traceback
from datetime import timedelta

from flask import current_app
from rq import get_current_job
from sqlalchemy import update

from extensions import db
from models import OutboxJob, OutboxState
from models.base import utcnow
from workers import registry

log = logging.getLogger(__name__)

_app = None
ERROR_LIMIT = 4000  # characters of traceback kept on the row for the ops page


def set_app(app) -> None:
    """Use this app for every job of the process (the worker creates it once, before forking)."""
    global _app
    _app = app


def _get_app():
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def run_outbox(outbox_id: int) -> str:
    """RQ job: execute outbox row `outbox_id` once; returns its final state."""
    with _get_app().app_context():
        return execute_outbox(int(outbox_id))


def execute_outbox(outbox_id: int) -> str:
    """Run the row's job function and record the outcome (needs an app context)."""
    row = db.session.get(OutboxJob, outbox_id)
    if row is None:
        log.warning("outbox %s: row not found, nothing to do", outbox_id)
        return "missing"
    if row.state in (OutboxState.DONE, OutboxState.FAILED):
        return row.state  # already done, or given up until ops retries it
    kind, payload = row.kind, dict(row.payload)
    db.session.rollback()  # end the read transaction; the job function runs its own
    try:
        registry.resolve(kind)(dict(payload))
    except Exception as exc:
        db.session.rollback()
        if record_failure(outbox_id, kind, payload, exc) and (current := get_current_job()) is not None:
            current.retries_left = 0  # the row has given up: RQ's quick retries would only no-op
        raise
    _set_state(outbox_id, OutboxState.DONE, finished_at=utcnow(), last_error="")
    return OutboxState.DONE


def record_failure(outbox_id: int, kind: str, payload: dict, exc: BaseException) -> bool:
    """Count a failed attempt; after OUTBOX_MAX_ATTEMPTS the row is `failed`. Returns True if it gave up."""
    row = db.session.get(OutboxJob, outbox_id, with_for_update=True)
    if row is None or row.state == OutboxState.DONE:
        db.session.rollback()
        return False
    row.attempts += 1
    row.last_error = _error_text(exc)
    row.available_at = utcnow() + retry_delay(row.attempts)
    gave_up = row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
    if gave_up:
        row.state, row.finished_at = OutboxState.FAILED, utcnow()
    db.session.commit()
    log.warning("outbox %s (%s): attempt %s failed: %s", outbox_id, kind, row.attempts, type(exc).__name__)
    if gave_up:
        _run_failure_hook(kind, payload, row.last_error)
    return gave_up


def retry_delay(attempts: int) -> timedelta:
    """When the relay may try again after RQ's own retries ran out: 1, 2, 4 ... minutes, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def _run_failure_hook(kind: str, payload: dict, error: str) -> None:
    """Let the owning area mark its object failed (e.g. the notice shows "could not be created")."""
    hook = registry.resolve_failure_hook(kind)
    if hook is None:
        return
    try:
        hook(**payload, error=error)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("outbox %s: failure hook raised", kind)


def _set_state(outbox_id: int, state: str, **values) -> None:
    db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(state=state, **values))
    db.session.commit()


def _error_text(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc))
    return text[-ERROR_LIMIT:]
