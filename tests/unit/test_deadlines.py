"""Deadlines: due date from the processing time, clock paused while waiting, status flags."""

from datetime import timedelta

import pytest

from services.workflow import apply_transition, deadline_status
from services.workflow.deadlines import pause_clock, resume_clock
from tests.factories import ServiceFactory, clerk_of, started_request


@pytest.fixture
def req(db):
    return started_request(service=ServiceFactory(processing_days=10))


def test_deadline_due_date_counts_calendar_days(req):
    assert req.due_at == req.submitted_at + timedelta(days=10)


@pytest.mark.parametrize(
    ("days_left", "status"),
    [(5, "ok"), (2.5, "ok"), (2, "due_soon"), (0.5, "due_soon"), (-0.01, "overdue"), (-3, "overdue")],
)
def test_deadline_status_flags(req, days_left, status):
    now = req.due_at - timedelta(days=days_left)
    assert deadline_status(req, now=now) == status


def test_deadline_pause_and_resume_extend_due_date(req):
    due, start = req.due_at, req.submitted_at
    pause_clock(req, now=start + timedelta(days=3))
    assert deadline_status(req, now=due + timedelta(days=30)) == "paused"
    pause_clock(req, now=start + timedelta(days=4))  # idempotent: the first pause counts
    paused = resume_clock(req, now=start + timedelta(days=8))
    assert paused == timedelta(days=5)
    assert req.due_at == due + timedelta(days=5) and req.clock_paused_at is None
    assert resume_clock(req) == timedelta(0)


def test_deadline_clock_follows_waiting_state(req, monkeypatch):
    clerk = clerk_of(req.department)
    apply_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    due = req.due_at
    apply_transition(req, "rueckfrage_stellen", clerk, {"message": "?"}, req.row_version)
    assert deadline_status(req) == "paused"
    req.clock_paused_at -= timedelta(days=4)  # the citizen took four days to answer
    apply_transition(req, "antwort_eingegangen", req.applicant, {}, req.row_version)
    assert timedelta(days=4) <= req.due_at - due < timedelta(days=4, seconds=5)
    assert deadline_status(req) == "ok"


def test_deadline_none_when_decided_or_closed(req, monkeypatch):
    monkeypatch.setattr("services.notices.request_notice", lambda *a, **k: None, raising=False)
    clerk = clerk_of(req.department)
    apply_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    apply_transition(req, "genehmigen", clerk, {}, req.row_version)
    assert deadline_status(req, now=req.due_at + timedelta(days=9)) is None
    other = started_request()
    apply_transition(other, "zurueckziehen", other.applicant, {}, other.row_version)
    assert deadline_status(other, now=other.due_at + timedelta(days=9)) is None


def test_version_deadline_status_matches_the_pinned_version(req, monkeypatch):
    from services.workflow import version_deadline_status

    for days_left in (5, 1, -1):
        now = req.due_at - timedelta(days=days_left)
        assert version_deadline_status(req.workflow_version, req, now) == deadline_status(req, now=now)
    assert version_deadline_status(None, req, req.due_at - timedelta(days=1)) == "due_soon"  # default window
    monkeypatch.setattr("services.notices.request_notice", lambda *a, **k: None, raising=False)
    clerk = clerk_of(req.department)
    apply_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    apply_transition(req, "genehmigen", clerk, {}, req.row_version)
    assert version_deadline_status(req.workflow_version, req, req.due_at + timedelta(days=9)) is None
