"""The outbox relay: re-sends rows that never reached RQ or whose job vanished.

The after-commit hook is the fast path; this loop is what makes delivery reliable. Each pass
locks a batch of open rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several relays never
fight over a row) and compares each with what Redis knows about its job:

- `pending`: never handed over (Redis was down at commit) → enqueue.
- `enqueued`, job missing (Redis restarted or flushed) → enqueue again.
- `enqueued`, job failed/stopped/canceled (RQ's quick retries ran out, or RQ found it abandoned
  after its worker died) → enqueue again once `available_at` has passed, until the row reaches
  OUTBOX_MAX_ATTEMPTS (then the job itself marks it `failed`).
- `enqueued`, job started but its worker is gone and `enqueued_at` is older than the job timeout
  plus a margin → abandoned: enqueue again.
Jobs are idempotent, so a duplicate delivery costs time, never a second notice.
"""

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from flask import current_app
from rq.job import JobStatus
from rq.worker import Worker
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from extensions import db
from models import OutboxJob, OutboxState
from models.base import utcnow
from workers.queues import discard_job, enqueue_outbox, fetch_job, get_queue, job_timeout

log = logging.getLogger(__name__)

STALE_MARGIN = 60  # seconds beyond the job timeout before a started job counts as abandoned
LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}
RESEND_STATUSES = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, JobStatus.FINISHED}


@dataclass
class RelayStats:
    enqueued: list[int] = field(default_factory=list)
    checked: int = 0

    def __bool__(self):
        return bool(self.enqueued)


def relay_once(batch: int = 200) -> RelayStats:
    """One pass over the open outbox rows; commits. Raises if Redis or the database is down."""
    queue = get_queue()
    queue.started_job_registry.cleanup()  # lets RQ retry or fail jobs whose worker died
    stats = RelayStats()
    try:
        for row in _open_rows(batch):
            stats.checked += 1
            if _needs_enqueue(row, queue.connection):
                enqueue_outbox(row.id, queue)
                row.state, row.enqueued_at = OutboxState.ENQUEUED, utcnow()
                stats.enqueued.append(row.id)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if stats:
        log.info("relay: enqueued outbox rows %s", stats.enqueued)
    return stats


def _open_rows(batch: int) -> list[OutboxJob]:
    stmt = (
        select(OutboxJob)
        .where(OutboxJob.state.in_([OutboxState.PENDING, OutboxState.ENQUEUED]))
        .order_by(OutboxJob.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return list(db.session.scalars(stmt))


def _needs_enqueue(row: OutboxJob, connection) -> bool:
    """Decide from the row and its RQ job whether to hand it (again) to RQ; drops a dead job."""
    now = utcnow()
    job = fetch_job(row.id, connection)
    if job is None:
        return row.state == OutboxState.PENDING or row.available_at is None or row.available_at <= now
    status = job.get_status(refresh=False)
    if row.state == OutboxState.PENDING and status in LIVE_STATUSES:
        row.state, row.enqueued_at = OutboxState.ENQUEUED, row.enqueued_at or now  # the hook's mark was lost
        return False
    dead = status in RESEND_STATUSES and (row.available_at is None or row.available_at <= now)
    if status == JobStatus.STARTED:
        dead = _abandoned(row, job, connection)
    if dead:
        discard_job(row.id)
    return dead


def _abandoned(row: OutboxJob, job, connection) -> bool:
    """A started job whose worker no longer exists and which is older than timeout + margin."""
    limit = timedelta(seconds=job_timeout() + STALE_MARGIN)
    if row.enqueued_at is not None and utcnow() - row.enqueued_at < limit:
        return False
    if job.worker_name:
        key = Worker.redis_worker_namespace_prefix + job.worker_name
        worker = Worker.find_by_key(key, connection=connection)
        if worker is not None and worker.get_current_job_id() == job.id:
            return False
    return True


class Relay:
    """The `flask outbox relay` loop: survives Redis and database outages with a capped backoff."""

    def __init__(self, interval: float = 2.0, max_backoff: float = 30.0):
        self.interval, self.max_backoff = interval, max_backoff
        self.stopping = threading.Event()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def stop(self, *_args) -> None:
        self.stopping.set()

    def run(self, passes: int | None = None) -> None:
        backoff = self.interval
        while not self.stopping.is_set() and passes != 0:
            try:
                self._sweep_when_due()
                stats = relay_once()
                backoff = self.interval
                wait = 0.2 if stats else self.interval  # keep draining while there is a backlog
            except (redis.RedisError, OSError) as exc:
                backoff, wait = min(backoff * 2, self.max_backoff), backoff
                log.warning("relay: Redis unavailable (%s); next try in %.1f s", exc, wait)
            except OperationalError as exc:
                backoff, wait = min(backoff * 2, self.max_backoff), backoff
                log.warning("relay: database unavailable (%s); next try in %.1f s", exc.orig, wait)
            except Exception:  # a bad row must not stop delivery of all the others
                backoff, wait = min(backoff * 2, self.max_backoff), backoff
                log.exception("relay: pass failed; next try in %.1f s", wait)
            finally:
                db.session.remove()
            passes = None if passes is None else passes - 1
            self.stopping.wait(wait)

    next_sweep: float = 0.0  # monotonic time of the next upload sweep (the first pass sweeps)

    def _sweep_when_due(self) -> None:
        """Run the upload sweeper every UPLOAD_SWEEP_INTERVAL_SECONDS (0 switches it off); never fatal."""
        every = current_app.config.get("UPLOAD_SWEEP_INTERVAL_SECONDS", 0)
        if not every or time.monotonic() < self.next_sweep:
            return
        self.next_sweep = time.monotonic() + every
        try:
            sweep_and_commit()
        except Exception:
            db.session.rollback()
            log.exception("relay: upload sweep failed; next try in %d s", every)


def sweep_and_commit():
    """One sweeper pass in its own transaction (services.sweeper), logged when it removed something."""
    from services.sweeper import sweep_uploads

    report = sweep_uploads()
    db.session.commit()
    if report:
        log.info("sweep: removed %d expired anonymous draft(s), %d orphan file(s)", len(report.drafts),
                 len(report.files))
    return report


def wait_until_idle(timeout: float = 60) -> bool:
    """True once no outbox row is pending or enqueued (tests and the bench wait with this)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        open_rows = db.session.scalar(
            select(db.func.count(OutboxJob.id)).where(
                OutboxJob.state.in_([OutboxState.PENDING, OutboxState.ENQUEUED])
            )
        )
        db.session.rollback()
        if not open_rows:
            return True
        time.sleep(0.1)
    return False
