"""Append-only request history with a hash chain (tamper-evident audit trail)."""

import hashlib
import json
import weakref

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from models import RequestEvent, ServiceRequest
from models.base import utcnow
from services.tx import flush_or_stale

GENESIS = "0" * 64


def event_digest(prev_hash: str, request_id: int, seq: int, kind: str, actor_id, created_at, data) -> str:
    """SHA-256 over the canonical form of one event and its predecessor's hash."""
    body = json.dumps(
        {
            "prev": prev_hash,
            "request": request_id,
            "seq": seq,
            "kind": kind,
            "actor": actor_id,
            "at": created_at.isoformat(timespec="microseconds"),
            "data": data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def append_event(request, kind: str, actor=None, data=None, visible_to_citizen=False) -> RequestEvent:
    """Add the next event of `request`'s chain (flushes, except for a request new in this transaction).

    The chain head lives on the request (`last_event_seq`/`last_event_hash`), so appending reads
    nothing. The head moves with a conditional UPDATE that does not touch row_version (an event
    alone does not make open forms stale). The caller's own changes to the request are flushed
    first (StaleObject if row_version moved): row_version cannot guard the head, as other
    appends never bump it. The unique (request_id, seq) index stays the last line against a lost race.
    """
    if request.id is None:
        db.session.flush()  # the request needs its id: it is new in this transaction
        _new_requests().add(request)
    elif request not in _new_requests() and db.session.is_modified(request):
        flush_or_stale()
    seq, prev_hash = _chain_head(request)
    created_at, actor_id = utcnow(), (actor.id if actor is not None else None)
    # Staff acting on the request have seen the applicant's answer (the queue's "Antwort eingegangen").
    seen = actor_id not in (None, request.applicant_id) and request.citizen_replied_at is not None
    row = _event_row(request.id, seq + 1, prev_hash, kind, actor_id, created_at, data, visible_to_citizen)
    if request in _new_requests():
        request.last_event_seq, request.last_event_hash = row["seq"], row["hash"]
    elif not _move_head(request, seq, seq + 1, row["hash"], seen):
        seq, prev_hash = _chain_head(request, reload=True)  # another transaction appended meanwhile
        row = _event_row(request.id, seq + 1, prev_hash, kind, actor_id, created_at, data, visible_to_citizen)
        _move_head(request, seq, seq + 1, row["hash"], seen)
    event = RequestEvent(**row)
    db.session.add(event)
    if request not in _new_requests():
        db.session.flush()
    # A new request's events go out with its next flush: one batched INSERT, the head in its UPDATE.
    return event


def first_event_rows(request_id: int, events: list[tuple], created_at) -> list[dict]:
    """Rows of a new request's first events [(kind, actor_id, data, visible_to_citizen)] from GENESIS.

    For the submit's direct INSERT (append_event does the same through the ORM); the request's
    chain head is the last row's seq and hash.
    """
    rows, prev_hash = [], GENESIS
    for seq, (kind, actor_id, data, visible) in enumerate(events, start=1):
        rows.append(_event_row(request_id, seq, prev_hash, kind, actor_id, created_at, data, visible))
        prev_hash = rows[-1]["hash"]
    return rows


def _event_row(request_id, seq, prev_hash, kind, actor_id, created_at, data, visible) -> dict:
    """One event's column values, its data exactly as the JSON column returns it, and its digest."""
    data = json.loads(json.dumps(data or {}, default=str))
    return {
        "request_id": request_id, "seq": seq, "kind": kind, "actor_id": actor_id, "created_at": created_at,
        "data": data, "visible_to_citizen": visible, "prev_hash": prev_hash,
        "hash": event_digest(prev_hash, request_id, seq, kind, actor_id, created_at, data),
    }


def _new_requests() -> weakref.WeakSet:
    """Requests inserted by append_event in the session's current transaction (their row_version is moot)."""
    return db.session.info.setdefault(_NEW_KEY, weakref.WeakSet())


_NEW_KEY = "events_new_requests"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_new_requests(session, *_args) -> None:
    session.info.pop(_NEW_KEY, None)


def _chain_head(request, reload: bool = False) -> tuple[int, str]:
    """(seq, hash) of the request's last event; (0, GENESIS) before the first one."""
    if reload:
        row = db.session.execute(
            select(ServiceRequest.last_event_seq, ServiceRequest.last_event_hash)
            .where(ServiceRequest.id == request.id)
            .with_for_update()
        ).one()
        set_committed_value(request, "last_event_seq", row.last_event_seq)
        set_committed_value(request, "last_event_hash", row.last_event_hash)
    if request.last_event_seq is not None:
        return request.last_event_seq, request.last_event_hash or GENESIS
    # Not tracked yet (a request from before the head columns): read the chain once.
    last = db.session.execute(
        select(RequestEvent.seq, RequestEvent.hash)
        .where(RequestEvent.request_id == request.id)
        .order_by(RequestEvent.seq.desc())
        .limit(1)
    ).first()
    return (last.seq, last.hash) if last else (0, GENESIS)


def _move_head(request, old_seq: int, new_seq: int, digest: str, seen: bool = False) -> bool:
    """Compare-and-set of the chain head without bumping row_version; False if it moved meanwhile.
    `seen`: staff act, so the applicant's answer is no longer new (citizen_replied_at cleared)."""
    old = ServiceRequest.last_event_seq
    matches = old.is_(None) if request.last_event_seq is None else old == old_seq
    values = {"last_event_seq": new_seq, "last_event_hash": digest}
    if seen:
        values["citizen_replied_at"] = None
    result = db.session.execute(
        update(ServiceRequest)
        .where(ServiceRequest.id == request.id, matches)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    for key, value in values.items():
        set_committed_value(request, key, value)
    return True
