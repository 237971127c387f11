"""RQ queues: names, serializer, job ids and retry policy for outbox rows."""

from flask import current_app
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from services.redis_conn import get_redis

# Notices (PDF + signature) and emails share one queue: both are short, and one queue keeps the
# worker count = core count simple. Split by kind here if emails ever starve behind notices.
DEFAULT_QUEUE = "amtsweg"
QUEUE_NAMES = (DEFAULT_QUEUE,)

# Quick retries for transient failures (database restart, TSA or SMTP timeout): 5 s catches a
# blip, 30 s a service restart, 120 s a short outage. Longer outages are the relay's job: it
# re-enqueues rows whose RQ job failed until the outbox row reaches OUTBOX_MAX_ATTEMPTS.
RETRY = Retry(max=3, interval=[5, 30, 120])

# A job entry stays in Redis for a day after success (the outbox row is the record) and a week
# after failure (so ops can read the traceback in rq-dashboard).
RESULT_TTL = 24 * 3600
FAILURE_TTL = 7 * 24 * 3600

JOB_FUNCTION = "workers.tasks.run_outbox"
TERMINAL = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def job_id_for(outbox_id: int) -> str:
    """The RQ job id of an outbox row (stable, so enqueueing twice cannot create two jobs)."""
    return f"outbox-{outbox_id}"


def get_queue(name: str = DEFAULT_QUEUE, connection=None) -> Queue:
    """An RQ queue on our Redis with the JSON serializer (job arguments are ids, never pickles)."""
    return Queue(name, connection=connection or get_redis(), serializer=JSONSerializer)


def job_timeout() -> int:
    """Seconds a job may run: a notice takes well under one; the rest is headroom for a slow TSA."""
    return int(current_app.config["JOB_TIMEOUT"])


def enqueue_outbox(outbox_id: int, queue: Queue | None = None) -> Job | None:
    """Hand one outbox row to RQ under its stable job id; None if that job already exists.

    `unique=True` makes the check-and-enqueue atomic in Redis, so the after-commit hook and the
    relay racing on the same row still produce one job.
    """
    queue = queue or get_queue()
    try:
        return _enqueue(queue, outbox_id)
    except DuplicateJobError:
        old = fetch_job(outbox_id, queue.connection)
        if old is None or old.get_status(refresh=False) not in TERMINAL:
            return None  # queued, scheduled or running: nothing to add
    old.delete()  # a finished or failed run of an earlier attempt: start a new one
    try:
        return _enqueue(queue, outbox_id)
    except DuplicateJobError:
        return None  # someone else re-sent it in between


def enqueue_new_outbox(ids: list[int], queue: Queue) -> list[Job]:
    """Hand rows that have no RQ job yet to RQ in one pipeline (the relay's batches).

    Not atomic per job like enqueue_outbox: the caller has made sure no job exists for these ids.
    """
    if not ids:
        return []
    return queue.enqueue_many([Queue.prepare_data(JOB_FUNCTION, **_job_options(i)) for i in ids])


def _enqueue(queue: Queue, outbox_id: int) -> Job:
    return queue.enqueue_call(JOB_FUNCTION, unique=True, **_job_options(outbox_id))


def _job_options(outbox_id: int) -> dict:
    return {
        "args": (outbox_id,),
        "job_id": job_id_for(outbox_id),
        "timeout": job_timeout(),
        "retry": RETRY,
        "result_ttl": RESULT_TTL,
        "failure_ttl": FAILURE_TTL,
        "description": f"outbox {outbox_id}",
    }


def job_exists(outbox_ids: list[int], connection) -> list[bool]:
    """For each outbox row, whether Redis holds an RQ job for it (one round trip)."""
    with connection.pipeline(transaction=False) as pipe:
        for outbox_id in outbox_ids:
            pipe.exists(Job.key_for(job_id_for(outbox_id)))
        return [bool(n) for n in pipe.execute()]


def fetch_job(outbox_id: int, connection=None) -> Job | None:
    """The RQ job of an outbox row, or None when Redis no longer knows it."""
    try:
        conn = connection or get_redis()
        return Job.fetch(job_id_for(outbox_id), connection=conn, serializer=JSONSerializer)
    except NoSuchJobError:
        return None


def discard_job(outbox_id: int, queue: Queue | None = None) -> None:
    """Forget a dead run: the job hash, its registry entries and any started-registry execution."""
    queue = queue or get_queue()
    job = fetch_job(outbox_id, queue.connection)
    if job is not None:
        job.delete()
    registry = queue.started_job_registry
    stale = [m for m, _ in queue.connection.zscan_iter(registry.key, match=f"{job_id_for(outbox_id)}:*")]
    if stale:
        queue.connection.zrem(registry.key, *stale)
