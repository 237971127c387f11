"""services.messages.question_status: a question of the clerks, open or not, and why it closed."""

import pytest

from extensions import db as _db
from services import messages
from services.errors import NotFound
from services.workflow import apply_transition
from tests.factories import clerk_of, started_request


@pytest.fixture(autouse=True)
def _no_notice_rendering(monkeypatch):
    monkeypatch.setattr("services.notices.request_notice", lambda *a, **k: None, raising=False)


def fire(req, name, actor, data=None):
    apply_transition(req, name, actor, data or {}, req.row_version)
    _db.session.expire(req, ["messages"])


def asked(req, text="Bitte Lageplan senden."):
    """The clerk asks `text` (from in_bearbeitung); returns the new question."""
    messages.run_clerk_transition(req, "rueckfrage_stellen", clerk_of(req.department), {"message": text},
                                  req.row_version)
    _db.session.expire(req, ["messages"])
    return req.messages[-1]


@pytest.fixture
def req(db):
    req = started_request()
    fire(req, "bearbeitung_beginnen", clerk_of(req.department))
    return req


def test_an_open_question_is_open(req):
    question = asked(req)
    status = messages.question_status(req, question.id)
    assert status.question is question and status.is_open
    assert status.closed_because is None and status.open_instead == ()


def test_an_answered_question_says_so_and_names_the_question_asked_since(req):
    question = asked(req)
    messages.answer_question(req, question, req.applicant, "Anbei.", [])
    _db.session.expire(req, ["messages"])
    status = messages.question_status(req, question.id)
    assert not status.is_open and status.closed_because == messages.ANSWERED and status.open_instead == ()
    follow_up = asked(req, "Noch die Skizze bitte.")
    status = messages.question_status(req, question.id)
    assert status.closed_because == messages.ANSWERED and status.open_instead == (follow_up,)


def test_resumed_decided_and_withdrawn_requests_close_their_question(req):
    question = asked(req)
    clerk = clerk_of(req.department)
    fire(req, "bearbeitung_fortsetzen", clerk, {"comment": "Antwort kam per Post"})
    assert messages.question_status(req, question.id).closed_because == messages.RESUMED
    fire(req, "genehmigen", clerk)
    assert messages.question_status(req, question.id).closed_because == messages.DECIDED
    fire(req, "abschliessen", clerk)
    assert messages.question_status(req, question.id).closed_because == messages.ENDED


def test_a_withdrawn_request_closes_its_open_question(req):
    question = asked(req)
    fire(req, "zurueckziehen", req.applicant)
    status = messages.question_status(req, question.id)
    assert status.closed_because == messages.ENDED and status.open_instead == ()


def test_ids_that_are_no_question_of_this_request_are_not_found(req):
    question = asked(req)
    answer = messages.answer_question(req, question, req.applicant, "Anbei.", [])
    other = started_request()
    fire(other, "bearbeitung_beginnen", clerk_of(other.department))
    foreign = asked(other)
    _db.session.expire(req, ["messages"])
    for message_id in (answer.id, foreign.id, foreign.id + 1000):
        with pytest.raises(NotFound):
            messages.question_status(req, message_id)


def test_each_reason_has_its_own_text():
    reasons = (messages.ANSWERED, messages.RESUMED, messages.DECIDED, messages.ENDED)
    texts = {messages.question_closed_text(reason) for reason in reasons}
    assert len(texts) == len(reasons)
    assert "bereits beantwortet" in messages.question_closed_text(messages.ANSWERED)
