"""Verification of the tamper-evident history: recompute every hash, check seq and prev links."""

from dataclasses import dataclass

from sqlalchemy import func, select

from extensions import db
from models import RequestEvent, ServiceRequest
from services.events import GENESIS, event_digest


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link of one request's history."""

    request_id: int
    reference: str
    seq: int
    reason: str


def _first_break(events) -> tuple[int, str] | None:
    prev_hash, expected_seq = GENESIS, 1
    for ev in events:
        if ev.seq != expected_seq:
            return (
                ev.seq,
                f"Lücke in der Folge: erwartet {expected_seq}, gefunden {ev.seq} (Eintrag gelöscht?)",
            )
        if ev.prev_hash != prev_hash:
            return ev.seq, "Verweis auf den Vorgänger stimmt nicht (Eintrag gelöscht oder ersetzt?)"
        digest = event_digest(
            ev.prev_hash, ev.request_id, ev.seq, ev.kind, ev.actor_id, ev.created_at, ev.data
        )
        if digest != ev.hash:
            return ev.seq, "Prüfsumme stimmt nicht (Eintrag verändert)"
        prev_hash, expected_seq = ev.hash, expected_seq + 1
    return None


def _head_break(events) -> tuple[int, str] | None:
    """The request keeps its chain head: a chain ending before it lost its last entries."""
    last, head_seq, head_hash = events[-1], events[-1].head_seq, events[-1].head_hash
    if head_seq is None:  # not tracked (a request from before the head columns)
        return None
    if last.seq < head_seq:
        return last.seq + 1, f"Letzte Einträge fehlen: die Folge endet bei {last.seq}, erwartet {head_seq}"
    if last.seq != head_seq or last.hash != head_hash:
        return last.seq, "Ende der Folge passt nicht zum gespeicherten Stand des Antrags"
    return None


_NO_EVENTS = "Keine Einträge vorhanden (alle gelöscht?)"
_COLUMNS = ("request_id", "seq", "kind", "actor_id", "created_at", "data", "prev_hash", "hash")


def _chain_rows():
    columns = [getattr(RequestEvent, name) for name in _COLUMNS]
    return (
        select(
            *columns,
            ServiceRequest.last_event_seq.label("head_seq"),
            ServiceRequest.last_event_hash.label("head_hash"),
        )
        .join(ServiceRequest, ServiceRequest.id == RequestEvent.request_id)
        .order_by(RequestEvent.request_id, RequestEvent.seq)
    )


def verify_request_chain(request_id: int) -> ChainBreak | None:
    """The first broken link of one request's history, or None when it is intact."""
    events = list(db.session.execute(_chain_rows().where(RequestEvent.request_id == request_id)))
    breaks = []
    if events:
        _collect(request_id, events, breaks)
    else:
        reference = db.session.scalar(select(ServiceRequest.reference).where(ServiceRequest.id == request_id))
        breaks.append(ChainBreak(request_id, reference or "?", 1, _NO_EVENTS))
    return breaks[0] if breaks else None


def verify_chains(batch: int = 2000) -> list[ChainBreak]:
    """Check every request's event chain; one ChainBreak (the first broken link) per broken request.

    Requests deleted after their retention period (services/retention.py) have neither a row nor
    events any more, so they are not checked here; `flask audit verify` lists them from
    RetentionDeletion with the chain head they had."""
    breaks, current, events = [], None, []
    # Plain rows, streamed: no ORM objects for what may be millions of events.
    rows = db.session.execute(_chain_rows().execution_options(yield_per=batch))
    for ev in rows:
        if ev.request_id != current:
            _collect(current, events, breaks)
            current, events = ev.request_id, []
        events.append(ev)
    _collect(current, events, breaks)
    breaks += _requests_without_events()
    return sorted(breaks, key=lambda b: b.request_id)


def _collect(request_id, events, breaks):
    if request_id is None:
        return
    found = _first_break(events) or _head_break(events)
    if found is not None:
        reference = db.session.scalar(select(ServiceRequest.reference).where(ServiceRequest.id == request_id))
        breaks.append(ChainBreak(request_id, reference or "?", found[0], found[1]))


def _requests_without_events() -> list[ChainBreak]:
    """A submitted request always has at least its 'submitted' event: none left means deletion."""
    rows = db.session.execute(
        select(ServiceRequest.id, ServiceRequest.reference).where(
            ~select(RequestEvent.id).where(RequestEvent.request_id == ServiceRequest.id).exists()
        )
    )
    return [ChainBreak(r.id, r.reference, 1, _NO_EVENTS) for r in rows]


def count_chains() -> tuple[int, int]:
    """(requests with history, events) for the report."""
    row = db.session.execute(
        select(func.count(func.distinct(RequestEvent.request_id)), func.count(RequestEvent.id))
    ).one()
    return row[0], row[1]
