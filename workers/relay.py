"""The outbox relay: hands committed outbox rows to RQ, and re-sends those whose job vanished.

On PostgreSQL (OUTBOX_HANDOVER=relay) it is the hand-over itself: it LISTENs on a connection of
its own, a trigger NOTIFYs it when a transaction with new pending rows commits, and it claims all
pending rows and enqueues them in one batch (`hand_over_pending`; decision 0011). Web processes
then never talk to Redis on their write path. With OUTBOX_HANDOVER=commit (SQLite) the writer
enqueues after its commit (services.outbox_dispatch) and this loop only polls.

Either way, the careful pass below is what makes delivery reliable. Each pass
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
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from extensions import db
from models import OutboxJob, OutboxState
from models.base import utcnow
from models.outbox import OUTBOX_CHANNEL
from workers.queues import (
    discard_job,
    enqueue_new_outbox,
    enqueue_outbox,
    fetch_job,
    get_queue,
    job_exists,
    job_timeout,
)

log = logging.getLogger(__name__)

STALE_MARGIN = 60  # seconds beyond the job timeout before a started job counts as abandoned
HANDOVER_BATCH = 500  # pending rows claimed per hand-over
GATHER_SECONDS = 0.1  # after a wake-up, let the commits of the next moments join the batch
CHECK_EVERY_LISTENING = 15.0  # seconds between careful passes while NOTIFY brings the new rows
LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}
RESEND_STATUSES = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, JobStatus.FINISHED}


@dataclass
class RelayStats:
    enqueued: list[int] = field(default_factory=list)
    checked: int = 0

    def __bool__(self):
        return bool(self.enqueued)


# Claims pending rows and marks them handed over in one statement; the trigger ignores the update
# (it fires for rows becoming `pending`). SKIP LOCKED: two relays never claim the same row.
_CLAIM_PENDING = text(
    "UPDATE outbox_jobs SET state = 'enqueued', enqueued_at = :now WHERE id IN ("
    " SELECT id FROM outbox_jobs WHERE state = 'pending' ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
    ") RETURNING id"
)


def hand_over_pending(batch: int = HANDOVER_BATCH) -> list[int]:
    """Hand every committed `pending` row to RQ in one batch (PostgreSQL); commits. Returns the ids.

    Three round trips for the whole batch: the claim, one asking Redis which rows already have a
    job, one pipeline enqueueing the others. A row that has a job (a writer that still hands over
    itself, or a retried row whose failed run is still kept) goes the careful way, enqueue_outbox.
    If Redis fails, the rollback leaves every row `pending` for the next try.
    """
    ids = sorted(db.session.scalars(_CLAIM_PENDING, {"now": utcnow(), "limit": batch}))
    if not ids:
        db.session.rollback()
        return []
    try:
        queue = get_queue()
        known = job_exists(ids, queue.connection)
        enqueue_new_outbox([i for i, has_job in zip(ids, known, strict=True) if not has_job], queue)
        for outbox_id in (i for i, has_job in zip(ids, known, strict=True) if has_job):
            enqueue_outbox(outbox_id, queue)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return ids


class Listener:
    """A PostgreSQL connection of its own, LISTENing for the outbox trigger's NOTIFY."""

    def __init__(self, url: str):
        self.url, self.conn = url, None

    @classmethod
    def for_app(cls) -> "Listener | None":
        """None where the writers hand over themselves (OUTBOX_HANDOVER=commit)."""
        if current_app.config.get("OUTBOX_HANDOVER") != "relay":
            return None
        return cls(db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False))

    def wait(self, timeout: float) -> bool:
        """Block until a NOTIFY arrives (True) or `timeout` passes (False); (re)connects first."""
        import psycopg

        if self.conn is None:
            self.conn = psycopg.connect(self.url, autocommit=True)
            self.conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
            return True  # rows may have come while no one listened: look now
        return any(True for _ in self.conn.notifies(timeout=max(timeout, 0.0), stop_after=1))

    def drain(self) -> None:
        """Forget the notifications that arrived meanwhile: the next hand-over covers their rows."""
        for _ in self.conn.notifies(timeout=0):
            pass

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


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
        listener = Listener.for_app()
        check_every = self.interval if listener is None else max(self.interval, CHECK_EVERY_LISTENING)
        backoff, next_check = self.interval, 0.0
        try:
            while not self.stopping.is_set() and passes != 0:
                failed = True
                try:
                    self._sweep_when_due()
                    if listener is not None:
                        while len(hand_over_pending()) == HANDOVER_BATCH:
                            pass  # a backlog: the next batch right away
                    if time.monotonic() >= next_check:
                        stats = relay_once()
                        next_check = time.monotonic() + (0.2 if stats else check_every)  # drain a backlog
                    failed, backoff = False, self.interval
                except (redis.RedisError, OSError) as exc:
                    log.warning("relay: Redis unavailable (%s); next try in %.1f s", exc, backoff)
                except OperationalError as exc:
                    log.warning("relay: database unavailable (%s); next try in %.1f s", exc.orig, backoff)
                except Exception:  # a bad row must not stop delivery of all the others
                    log.exception("relay: pass failed; next try in %.1f s", backoff)
                finally:
                    db.session.remove()
                passes = None if passes is None else passes - 1
                if failed:
                    self.stopping.wait(backoff)
                    backoff, next_check = min(backoff * 2, self.max_backoff), 0.0
                elif listener is None:
                    self.stopping.wait(max(next_check - time.monotonic(), 0.0))
                else:
                    self._wait_for_notify(listener, min(next_check - time.monotonic(), self.interval))
        finally:
            if listener is not None:
                listener.close()

    def _wait_for_notify(self, listener: "Listener", timeout: float) -> None:
        """Until new rows are committed (or `timeout`, in case a NOTIFY was missed)."""
        import psycopg

        try:
            if listener.wait(timeout):
                self.stopping.wait(GATHER_SECONDS)
                listener.drain()
        except psycopg.Error as exc:
            listener.close()  # the next wait reconnects; until then the relay polls
            log.warning("relay: listening connection lost (%s); reconnecting", exc)
            self.stopping.wait(min(self.interval, self.max_backoff))

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
