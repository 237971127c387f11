"""Audit trail: hash chains verify, and edits or deletions via raw SQL are detected."""

import pytest
from sqlalchemy import text

from commands.audit import cli as audit_cli
from services.events import append_event
from services.workflow import apply_transition, count_chains, verify_chains
from tests.factories import clerk_of, started_request


@pytest.fixture
def worked(db):
    """Two requests with a few events each, committed (raw SQL tampering happens outside the session)."""
    first, second = started_request(), started_request()
    clerk = clerk_of(first.department)
    apply_transition(first, "bearbeitung_beginnen", clerk, {}, first.row_version)
    append_event(first, "note", clerk, {"text": "Rückruf vereinbart"})
    apply_transition(first, "rueckfrage_stellen", clerk, {"message": "Bitte Lageplan"}, first.row_version)
    append_event(second, "note", None, {"text": "ok"})
    db.session.commit()
    return first, second


def run(db, sql, **params):
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)
    db.session.expire_all()


def test_audit_intact_chains_verify(worked):
    assert verify_chains() == []
    assert count_chains() == (2, 6)


def test_audit_edited_event_data_is_detected(db, worked):
    first, _ = worked
    run(
        db,
        "UPDATE request_events SET data = :d WHERE request_id = :r AND seq = 3",
        d='{"text": "Rückruf NICHT vereinbart"}',
        r=first.id,
    )
    breaks = verify_chains()
    assert [(b.request_id, b.reference, b.seq) for b in breaks] == [(first.id, first.reference, 3)]
    assert "verändert" in breaks[0].reason


def test_audit_edited_actor_is_detected(db, worked):
    first, _ = worked
    run(db, "UPDATE request_events SET actor_id = NULL WHERE request_id = :r AND seq = 2", r=first.id)
    assert [b.seq for b in verify_chains()] == [2]


def test_audit_deleted_event_is_detected(db, worked):
    first, _ = worked
    run(db, "DELETE FROM request_events WHERE request_id = :r AND seq = 2", r=first.id)
    breaks = verify_chains()
    assert [(b.request_id, b.seq) for b in breaks] == [(first.id, 3)]
    assert "gelöscht" in breaks[0].reason


def test_audit_deleted_first_event_and_renumbered_chain_are_detected(db, worked):
    _, second = worked
    run(db, "DELETE FROM request_events WHERE request_id = :r AND seq = 1", r=second.id)
    run(db, "UPDATE request_events SET seq = 1 WHERE request_id = :r AND seq = 2", r=second.id)
    assert [(b.request_id, b.seq) for b in verify_chains()] == [(second.id, 1)]


def test_audit_deleted_last_events_are_detected(db, worked):
    """The chain alone cannot tell a deleted tail: the head kept on the request can."""
    first, second = worked
    run(db, "DELETE FROM request_events WHERE request_id = :r AND seq = 4", r=first.id)
    run(db, "DELETE FROM request_events WHERE request_id = :r AND seq >= 2", r=second.id)
    breaks = verify_chains()
    assert [(b.request_id, b.seq) for b in breaks] == [(first.id, 4), (second.id, 2)]
    assert all("Letzte Einträge fehlen" in b.reason for b in breaks)


def test_audit_replaced_last_event_is_detected(db, worked):
    """Rewriting the last event and its hash consistently still disagrees with the request's head."""
    from services.events import event_digest

    first, _ = worked
    ev = first.events[-1]
    forged = {"message": "alles genehmigt"}
    new_hash = event_digest(ev.prev_hash, ev.request_id, ev.seq, ev.kind, ev.actor_id, ev.created_at, forged)
    run(
        db,
        "UPDATE request_events SET data = :d, hash = :h WHERE id = :i",
        d='{"message": "alles genehmigt"}',
        h=new_hash,
        i=ev.id,
    )
    assert [(b.request_id, b.seq) for b in verify_chains()] == [(first.id, ev.seq)]


def test_audit_all_events_deleted_is_detected(db, worked):
    _, second = worked
    run(db, "DELETE FROM request_events WHERE request_id = :r", r=second.id)
    assert [b.request_id for b in verify_chains()] == [second.id]


def test_audit_rehashed_forgery_breaks_the_next_link(db, worked):
    """Recomputing the edited event's own hash is not enough: its successor points at the old hash."""
    from services.events import event_digest

    first, _ = worked
    ev = first.events[1]
    forged = {"transition": "genehmigen"}
    new_hash = event_digest(ev.prev_hash, ev.request_id, ev.seq, ev.kind, ev.actor_id, ev.created_at, forged)
    run(
        db,
        "UPDATE request_events SET data = :d, hash = :h WHERE id = :i",
        d='{"transition": "genehmigen"}',
        h=new_hash,
        i=ev.id,
    )
    assert [b.seq for b in verify_chains()] == [3]


def test_audit_cli_reports_ok_and_broken(app, db, worked):
    runner = app.test_cli_runner()
    ok = runner.invoke(audit_cli, ["verify"])
    assert ok.exit_code == 0 and "OK: 2 Anträge, 6 Einträge" in ok.output
    first, _ = worked
    run(db, "DELETE FROM request_events WHERE request_id = :r AND seq = 2", r=first.id)
    broken = runner.invoke(audit_cli, ["verify"])
    assert broken.exit_code == 1
    assert f"BROKEN {first.reference}" in broken.output and "seq 3" in broken.output


def test_append_with_stale_head_rereads_it(db, worked):
    """Another transaction appended since the request was loaded: the compare-and-set notices, re-reads."""
    from sqlalchemy.orm.attributes import set_committed_value

    _, second = worked
    head = second.last_event_seq
    set_committed_value(second, "last_event_seq", head - 1)  # as loaded before the other append
    set_committed_value(second, "last_event_hash", second.events[-2].hash)
    event = append_event(second, "note", None, {"text": "später"})
    db.session.commit()
    assert event.seq == head + 1 and second.last_event_seq == head + 1
    assert verify_chains() == []


def _append_in_other_transaction(db, req, kind):
    """What the notice worker does meanwhile: the next event, the head moved, row_version untouched."""
    from models import RequestEvent
    from models.base import utcnow
    from services.events import event_digest

    seq, at = req.last_event_seq + 1, utcnow()
    digest = event_digest(req.last_event_hash, req.id, seq, kind, None, at, {})
    with db.engine.begin() as conn:
        conn.execute(RequestEvent.__table__.insert().values(
            request_id=req.id, seq=seq, kind=kind, actor_id=None, created_at=at, data={},
            visible_to_citizen=True, prev_hash=req.last_event_hash, hash=digest))
        head = "UPDATE service_requests SET last_event_seq = :s, last_event_hash = :h WHERE id = :r"
        conn.execute(text(head), {"s": seq, "h": digest, "r": req.id})


def test_append_after_own_change_rereads_a_head_moved_meanwhile(db, worked):
    """The request changed in this session (forwarding) while another transaction appended: no seq clash."""
    from services.workflow import forward_request
    from tests.factories import DepartmentFactory

    first, _ = worked
    clerk, target = clerk_of(first.department), DepartmentFactory()
    db.session.commit()
    head = first.last_event_seq
    _append_in_other_transaction(db, first, "notice_issued")
    event = forward_request(first, target, clerk, "Zuständigkeit", first.row_version)
    db.session.commit()
    assert event.seq == head + 2 and first.last_event_seq == head + 2
    assert first.department_id == target.id
    assert verify_chains() == []


def test_append_after_own_change_to_a_request_changed_meanwhile_is_stale(db, worked):
    """Another transaction bumped row_version: StaleObject (the views' "reload"), not a flush error."""
    from services.errors import StaleObject
    from services.workflow import forward_request
    from tests.factories import DepartmentFactory

    first, _ = worked
    clerk, target = clerk_of(first.department), DepartmentFactory()
    db.session.commit()
    loaded = first.row_version
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE service_requests SET row_version = row_version + 1 WHERE id = :r"),
                     {"r": first.id})
    with pytest.raises(StaleObject):
        forward_request(first, target, clerk, "Zuständigkeit", loaded)
