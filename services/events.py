"""Append-only request history with a hash chain (tamper-evident audit trail)."""

import hashlib
import json

from sqlalchemy import select

from extensions import db
from models import RequestEvent
from models.base import utcnow

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
    """Add the next event of `request`'s chain (flushes; the caller commits)."""
    db.session.flush()  # the request needs its id
    last = db.session.execute(
        select(RequestEvent.seq, RequestEvent.hash)
        .where(RequestEvent.request_id == request.id)
        .order_by(RequestEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS)
    data = json.loads(json.dumps(data or {}, default=str))  # exactly what the JSON column will return
    created_at = utcnow()
    actor_id = actor.id if actor is not None else None
    event = RequestEvent(
        request_id=request.id,
        seq=seq,
        kind=kind,
        actor_id=actor_id,
        created_at=created_at,
        data=data,
        visible_to_citizen=visible_to_citizen,
        prev_hash=prev_hash,
        hash=event_digest(prev_hash, request.id, seq, kind, actor_id, created_at, data),
    )
    db.session.add(event)
    db.session.flush()
    return event
