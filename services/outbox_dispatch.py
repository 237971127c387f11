"""After-commit hand-over (OUTBOX_HANDOVER=commit): the writer enqueues the rows it created.

On PostgreSQL the relay does this instead (OUTBOX_HANDOVER=relay, the default there): a trigger
NOTIFYs it when a transaction with new outbox rows commits, and it enqueues them in batches
(workers/relay.py, decision 0011). Without NOTIFY (SQLite) nothing could wake it, so there the
writing process hands its rows over itself, as described below.

`services.outbox.record_job` notes each new row in `session.info["outbox_new"]`. When that
transaction commits, the ids are enqueued (job id `outbox-<id>`). This must never fail the web
request: if Redis is down the rows simply stay `pending` and the relay (`flask outbox relay`)
enqueues them later. A rollback forgets the ids.

The hook writes nothing back: a second transaction per request only to record the hand-over would
cost the web process more than the whole enqueue. The row stays `pending` until the worker marks it
`done`; a row whose job is still waiting when the relay passes is marked `enqueued` by the relay
(it finds the live job and does not enqueue it again).
"""

import logging
import subprocess

import redis
from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

INFO_KEY = "outbox_new"


def note_for_dispatch(session, row_or_id) -> None:
    """Hand this outbox row (an OutboxJob being added, or the id of a written row) to RQ after commit."""
    session.info.setdefault(INFO_KEY, []).append(row_or_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session) -> None:
    session.info.pop(INFO_KEY, None)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    noted = session.info.pop(INFO_KEY, None)
    if noted and has_app_context() and dispatch_enabled():
        dispatch_outbox([i for i in map(_row_id, noted) if i is not None])


def _row_id(noted) -> int | None:
    """An id, or a row added by record_job (written by the commit's flush: its identity holds the id)."""
    if isinstance(noted, int):
        return noted
    identity = inspect(noted).identity  # readable after the commit expired the row, without SQL
    return identity[0] if identity else None


def dispatch_outbox(ids: list[int]) -> list[int]:
    """Enqueue committed outbox rows; returns the ids handed to RQ. Never raises."""
    from services.redis_conn import redis_configured
    from workers.queues import enqueue_outbox, get_queue

    if not dispatch_enabled() or not redis_configured():
        return []
    sent = []
    try:
        queue = get_queue()
        for outbox_id in ids:
            enqueue_outbox(outbox_id, queue)
            sent.append(outbox_id)
    except (redis.RedisError, OSError, RuntimeError, subprocess.SubprocessError) as exc:
        log.warning("outbox: Redis unavailable (%s); %d row(s) left for the relay", exc, len(ids) - len(sent))
    return sent


def dispatch_enabled() -> bool:
    """On where the writer hands rows over (OUTBOX_HANDOVER=commit), except in tests: they run jobs
    with workers.inline unless they switch it on (OUTBOX_DISPATCH)."""
    config = current_app.config
    if "OUTBOX_DISPATCH" in config:
        return bool(config["OUTBOX_DISPATCH"])
    return config.get("ENV_NAME") != "test" and config.get("OUTBOX_HANDOVER") == "commit"
