"""The RQ entry function: run one outbox row through its registered job function.

Rows of the kinds in `registry.RUN_IN_PLACE` (e-mails) that a job records are not handed to RQ as
jobs of their own: they are committed with the job's work already leased to this process
(`enqueued`, `available_at` = now + job timeout + the relay's margin) and run here right after
the job (docs/decisions/0009-notice-mail-in-the-notice-job.md). If that fails or the process dies,
the relay sends them like any other row once `available_at` has passed.
"""

import contextlib
import logging
import traceback
from datetime import timedelta

from flask import current_app
from rq import get_current_job
from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session

from extensions import db
from models import OutboxJob, OutboxState
from models.base import utcnow
from services import outbox_dispatch
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


def execute_outbox(outbox_id: int, in_place: bool = False) -> str:
    """Run the row's job function and record the outcome (needs an app context).

    `in_place`: a row leased by the job that recorded it (see run_in_place); its own follow-ups
    go through RQ, and RQ's current job is not its job.
    """
    row = db.session.get(OutboxJob, outbox_id)
    if row is None:
        log.warning("outbox %s: row not found, nothing to do", outbox_id)
        return "missing"
    if row.state in (OutboxState.DONE, OutboxState.FAILED):
        return row.state  # already done, or given up until ops retries it
    kind, payload = row.kind, dict(row.payload)
    if db.session.get_bind().dialect.name != "postgresql":
        # SQLite keeps a read transaction's snapshot: end it, or the job's first write could fail
        # on a database changed since. PostgreSQL (READ COMMITTED) reads afresh per statement.
        db.session.rollback()
    follow_ups = FollowUps(db.session()) if not in_place else None
    db.session.info[DONE_ON_COMMIT_KEY] = outbox_id
    try:
        with follow_ups if follow_ups is not None else contextlib.nullcontext():
            registry.resolve(kind)(dict(payload))
    except Exception as exc:
        db.session.info.pop(DONE_ON_COMMIT_KEY, None)
        db.session.rollback()
        gave_up = record_failure(outbox_id, kind, payload, exc)
        if gave_up and not in_place and (current := get_current_job()) is not None:
            current.retries_left = 0  # the row has given up: RQ's quick retries would only no-op
        raise
    if DONE_ON_COMMIT_KEY in db.session.info:  # the job committed nothing: this commit marks the row done
        db.session.commit()
    else:
        db.session.rollback()  # whatever the job read after its commit (which marked the row done)
    if follow_ups is not None:
        for follow_up in follow_ups.committed:
            run_in_place(follow_up)
        db.session.expire_all()  # the job's commit left its objects unexpired (FollowUps): read afresh
    return OutboxState.DONE


def run_in_place(outbox_id: int) -> None:
    """Run a leased follow-up row now; a failure is recorded on the row and left to the relay."""
    try:
        execute_outbox(outbox_id, in_place=True)
    except Exception:
        db.session.rollback()
        log.warning("outbox %s: run in place failed; the relay sends it after its back-off", outbox_id)


class FollowUps:
    """While a job runs: lease the RUN_IN_PLACE rows it records, and remember the committed ones.

    The lease is written in the same INSERT as the row (before_flush) and the row is taken off the
    after-commit dispatch list, so no RQ job is made for it. A rollback forgets the rows.

    The job's commit leaves its objects loaded (not expired), and they are kept alive until the
    follow-ups ran: the e-mail about a notice reads the request, the applicant and the notice the
    job has just written, instead of loading all three again (~2 ms per notice).
    """

    def __init__(self, session):
        self.session, self.pending, self.committed = session, [], []
        self.kept: list = []  # the job's objects, alive as long as this object (execute_outbox)

    def __enter__(self):
        self.session.info[FOLLOW_UPS_KEY] = self
        self._expire_on_commit, self.session.expire_on_commit = self.session.expire_on_commit, False
        return self

    def __exit__(self, *exc_info):
        self.session.info.pop(FOLLOW_UPS_KEY, None)
        self.session.expire_on_commit = self._expire_on_commit

    def lease_new_rows(self, session) -> None:
        noted = session.info.get(outbox_dispatch.INFO_KEY) or []
        for obj in session.new:
            if isinstance(obj, OutboxJob) and obj.kind in registry.RUN_IN_PLACE and obj not in self.pending:
                now = utcnow()
                obj.state, obj.enqueued_at = OutboxState.ENQUEUED, now
                obj.available_at = now + lease_time()
                self.pending.append(obj)
                if obj in noted:
                    noted.remove(obj)

    def confirm(self) -> None:
        self.committed += [inspect(obj).identity[0] for obj in self.pending if inspect(obj).identity]
        if self.pending:
            self.kept = list(self.session.identity_map.values())
        self.pending = []


FOLLOW_UPS_KEY = "outbox_follow_ups"
DONE_ON_COMMIT_KEY = "outbox_done_on_commit"


@event.listens_for(Session, "before_commit")
def _mark_done_with_the_jobs_commit(session) -> None:
    """The first commit of a job function also marks its outbox row done: the row is done exactly
    when the job's work is committed, and no transaction of its own is needed for it. A job that
    fails after that commit leaves the row done; jobs are idempotent, so its retry returns early."""
    if (outbox_id := session.info.pop(DONE_ON_COMMIT_KEY, None)) is not None:
        session.execute(
            update(OutboxJob)
            .where(OutboxJob.id == outbox_id)
            .values(state=OutboxState.DONE, finished_at=utcnow(), last_error="")
        )


@event.listens_for(Session, "before_flush")
def _before_flush(session, _flush_context, _instances) -> None:
    if (follow_ups := session.info.get(FOLLOW_UPS_KEY)) is not None:
        follow_ups.lease_new_rows(session)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    if (follow_ups := session.info.get(FOLLOW_UPS_KEY)) is not None:
        follow_ups.confirm()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session) -> None:
    if (follow_ups := session.info.get(FOLLOW_UPS_KEY)) is not None:
        follow_ups.pending = []


def lease_time() -> timedelta:
    """How long the relay leaves a leased row alone: a job's timeout plus the relay's margin."""
    from workers.relay import STALE_MARGIN

    return timedelta(seconds=int(current_app.config["JOB_TIMEOUT"]) + STALE_MARGIN)


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
        _run_failure_hook(kind, payload, row.last_error, exc)
    return gave_up


def retry_delay(attempts: int) -> timedelta:
    """When the relay may try again after RQ's own retries ran out: 1, 2, 4 ... minutes, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def _run_failure_hook(kind: str, payload: dict, error: str, exception: BaseException) -> None:
    """Let the owning area mark its object failed (e.g. the notice shows "could not be created")."""
    hook = registry.resolve_failure_hook(kind)
    if hook is None:
        return
    try:
        hook(**payload, error=error, exception=exception)
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
