"""The applicant's answer to a question is marked for the clerks until one of them acts on the request."""

import pytest
from sqlalchemy import select

from extensions import db as _db
from models import OutboxJob
from services import messages
from services.mail import render_mail
from services.queue import QueueFilter, list_queue, parse_queue_args
from services.workflow import apply_transition
from tests.factories import clerk_of, started_request


@pytest.fixture(autouse=True)
def _no_notice_rendering(monkeypatch):
    monkeypatch.setattr("services.notices.request_notice", lambda *a, **k: None, raising=False)


@pytest.fixture
def answered(db):
    """A request whose clerk asked a question that the applicant has just answered."""
    req = started_request()
    clerk = clerk_of(req.department)
    apply_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)  # takes it on
    messages.run_clerk_transition(req, "rueckfrage_stellen", clerk, {"message": "Bitte Lageplan senden."},
                                  req.row_version)
    _db.session.expire(req, ["messages"])
    question = req.messages[-1]
    _db.session.query(OutboxJob).delete()
    messages.answer_question(req, question, req.applicant, "Anbei.", [])
    return req, clerk


def _queue(req, clerk, **flt):
    return [r for r in list_queue([req.department_id], QueueFilter(**flt), clerk.id).rows if r.id == req.id]


def test_the_answer_is_marked_in_the_queue_and_the_assignee_gets_an_email(answered):
    req, clerk = answered
    assert req.assignee_id == clerk.id and req.citizen_replied_at is not None
    [row] = _queue(req, clerk)
    assert row.citizen_replied_at == req.citizen_replied_at
    assert _queue(req, clerk, replied=True) == [row]
    mails = _db.session.scalars(select(OutboxJob).where(OutboxJob.kind == "send_email")).all()
    staff_mails = [job.payload for job in mails if job.payload["template"] == "staff_citizen_replied"]
    assert staff_mails == [{"template": "staff_citizen_replied", "user_id": clerk.id, "params": {},
                            "request_id": req.id}]


def test_staff_acting_on_the_request_clear_the_mark_without_making_open_forms_stale(answered):
    req, clerk = answered
    version = req.row_version
    messages.add_note(req, clerk_of(req.department), "Antwort gelesen, Lageplan fehlt noch.")
    _db.session.commit()
    _db.session.expire_all()
    assert req.citizen_replied_at is None and req.row_version == version
    assert _queue(req, clerk, replied=True) == []


def test_the_staff_email_names_the_request_and_links_the_clerk_page(app, answered):
    req, clerk = answered
    subject, text, _html, _files = render_mail("staff_citizen_replied", clerk, request=req)
    assert subject == f"Antwort auf Ihre Rückfrage zu {req.reference}"
    assert f"/sachbearbeitung/antraege/{req.public_id}" in text and req.service.title("de") in text
    clerk.locale = "en"
    subject, text, _html, _files = render_mail("staff_citizen_replied", clerk, request=req)
    assert subject == f"Reply to your question about {req.reference}"


def test_the_replied_filter_is_read_from_the_query_string():
    assert parse_queue_args({"replied": "1"}).replied is True
    assert parse_queue_args({}).args() == {"sort": "due", "assignee": "anyone"}
    assert parse_queue_args({"replied": "1"}).args()["replied"] == "1"
