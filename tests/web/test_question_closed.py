"""Answering a question (Rückfrage) that stopped being open while the citizen typed: the answer is not
sent, but the typed text comes back; a visit goes to the request page; other ids stay 404."""

import html
import io

import pytest
from sqlalchemy import func, select

from extensions import db as _db
from models import Message
from services.messages import run_clerk_transition
from tests.factories import CitizenFactory, DepartmentFactory, ServiceFactory, clerk_of, started_request

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TYPED = "Der Lageplan liegt bei.\nZweite Zeile mit <Klammern> & Co."


@pytest.fixture(autouse=True)
def _no_notice_rendering(monkeypatch):
    monkeypatch.setattr("services.notices.request_notice", lambda *a, **k: None, raising=False)


@pytest.fixture
def dept(db):
    return DepartmentFactory(phone="0203 283-0", email="bauamt@example.org")


@pytest.fixture
def req(dept):
    req = started_request(service=ServiceFactory(department=dept))
    _db.session.commit()
    return req


def _fresh(req):
    _db.session.expire_all()
    return _db.session.get(type(req), req.id)


def _ask(req, message="Bitte senden Sie den Lageplan."):
    clerk = clerk_of(req.department)
    req = _fresh(req)
    if req.state == "eingegangen":
        run_clerk_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    run_clerk_transition(req, "rueckfrage_stellen", clerk, {"message": message}, req.row_version)
    _db.session.commit()
    return _db.session.scalar(select(Message).where(Message.request_id == req.id)
                              .order_by(Message.id.desc()).limit(1))


def _clerk_fires(req, name, data=None):
    req = _fresh(req)
    run_clerk_transition(req, name, clerk_of(req.department), data or {}, req.row_version)
    _db.session.commit()


def _url(req, message_id):
    return f"/antraege/{req.public_id}/rueckfrage/{message_id}"


def _answer(client, req, question, body=TYPED, files=()):
    data = {f"q{question.id}-body": body}
    if files:
        data[f"q{question.id}-files"] = [(io.BytesIO(PDF), name) for name in files]
    return client.post(_url(req, question.id), data=data, content_type="multipart/form-data")


def _citizen_messages(req):
    stmt = select(func.count()).select_from(Message).where(Message.request_id == req.id,
                                                           Message.from_citizen.is_(True))
    return _db.session.scalar(stmt)


def _assert_not_sent_page(resp, req, reason):
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "<title>Fehler: Ihre Antwort wurde nicht gesendet" in page
    assert page.count('role="alert"') == 1 and 'href="#ihr-text"' in page
    assert reason in html.unescape(page)
    assert f'readonly aria-describedby="ihr-text-hint">{html.escape(TYPED, quote=False)}</textarea>' in page
    assert f'href="/antraege/{req.public_id}">Zur Seite Ihres Antrags</a>' in page
    return page


def test_answer_to_a_question_answered_in_another_tab_comes_back_with_its_text(client, req, login_as):
    question = _ask(req)
    login_as(req.applicant)
    assert _answer(client, req, question, "Erste Antwort.").status_code == 303  # the other tab
    resp = _answer(client, req, question, files=["lageplan.pdf", "foto.png"])
    page = _assert_not_sent_page(resp, req, "Diese Rückfrage wurde bereits beantwortet")
    assert "Dateien können nicht aufbewahrt werden" in page
    assert "<li>lageplan.pdf</li>" in page and "<li>foto.png</li>" in page
    assert _citizen_messages(req) == 1 and _fresh(req).state == "in_bearbeitung"


def test_answer_after_the_clerk_resumed_without_it_is_not_sent(client, req, login_as):
    question = _ask(req)
    login_as(req.applicant)
    _clerk_fires(req, "bearbeitung_fortsetzen", {"comment": "Antwort kam per Post"})
    resp = _answer(client, req, question)
    page = _assert_not_sent_page(resp, req, "ohne Ihre Online-Antwort weiter")
    assert "Dateien können nicht aufbewahrt werden" not in page
    assert _citizen_messages(req) == 0 and _fresh(req).state == "in_bearbeitung"


def test_answer_after_the_request_was_decided_or_withdrawn_is_not_sent(client, req, login_as):
    question = _ask(req)
    login_as(req.applicant)
    _clerk_fires(req, "zurueckziehen_im_auftrag", {"comment": "Anruf der Antragstellerin"})
    _assert_not_sent_page(_answer(client, req, question), req, "weil er zurückgezogen oder abgeschlossen")
    assert _citizen_messages(req) == 0 and _fresh(req).state == "zurueckgezogen"


def test_not_sent_page_points_to_the_question_asked_since_and_to_the_office(client, req, dept, login_as):
    question = _ask(req)
    login_as(req.applicant)
    assert _answer(client, req, question, "Erste Antwort.").status_code == 303
    follow_up = _ask(req, "Noch die Skizze bitte.")
    page = _assert_not_sent_page(_answer(client, req, question), req, "bereits beantwortet")
    assert f'href="{_url(req, follow_up.id)}">Offene Rückfrage beantworten</a>' in page
    assert 'href="tel:02032830">0203 283-0</a>' in page
    assert 'href="mailto:bauamt@example.org">bauamt@example.org</a>' in page
    assert _citizen_messages(req) == 1  # the follow-up is still waiting for its own answer


def test_an_empty_answer_to_a_closed_question_still_explains_why(client, req, login_as):
    question = _ask(req)
    login_as(req.applicant)
    _clerk_fires(req, "bearbeitung_fortsetzen", {"comment": "Antwort kam per Post"})
    resp = _answer(client, req, question, body="")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "ohne Ihre Online-Antwort weiter" in page
    assert 'id="ihr-text"' not in page and 'href="#so-geht-es-weiter"' in page


def test_visiting_a_closed_question_goes_to_the_request_page_with_the_reason(client, req, login_as):
    question = _ask(req)
    login_as(req.applicant)
    assert client.get(_url(req, question.id)).status_code == 200
    _clerk_fires(req, "bearbeitung_fortsetzen", {"comment": "Antwort kam per Post"})
    resp = client.get(_url(req, question.id))
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/antraege/{req.public_id}")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Diese Rückfrage ist nicht mehr offen: Die Verwaltung bearbeitet Ihren Antrag" in page


def test_visiting_an_answered_question_says_it_was_answered(client, req, login_as):
    question = _ask(req)
    login_as(req.applicant)
    assert _answer(client, req, question, "Erste Antwort.").status_code == 303
    client.get(f"/antraege/{req.public_id}")  # the success message is shown once
    resp = client.get(_url(req, question.id), follow_redirects=True)
    assert "Diese Rückfrage wurde bereits beantwortet" in resp.get_data(as_text=True)


def test_ids_that_are_no_question_of_this_request_stay_404(client, req, login_as):
    question = _ask(req)
    own_other = started_request(service=req.service, applicant=req.applicant)
    _db.session.commit()
    foreign_question = _ask(own_other, "Frage zu einem anderen Antrag.")
    login_as(req.applicant)
    assert _answer(client, req, question, "Erste Antwort.").status_code == 303
    own_answer = _db.session.scalar(select(Message.id).where(Message.from_citizen.is_(True)))
    for message_id in (foreign_question.id, own_answer, foreign_question.id + 1000):
        assert client.get(_url(req, message_id)).status_code == 404
        assert client.post(_url(req, message_id), data={f"q{message_id}-body": TYPED}).status_code == 404
    # the foreign question itself is open and answerable on its own request
    assert client.get(_url(own_other, foreign_question.id)).status_code == 200


def test_another_citizen_gets_404_for_a_closed_question(client, req, login_as):
    question = _ask(req)
    _clerk_fires(req, "bearbeitung_fortsetzen", {"comment": "Antwort kam per Post"})
    login_as(CitizenFactory())
    assert client.get(_url(req, question.id)).status_code == 404
    assert _answer(client, req, question).status_code == 404


def test_answer_losing_the_race_to_another_tab_comes_back_with_its_text(client, req, login_as, monkeypatch):
    from models.base import utcnow
    from services.errors import StaleObject

    question = _ask(req)
    login_as(req.applicant)

    def answered_elsewhere(req_, question_, *args, **kwargs):
        question_.answered_at = utcnow()  # the other tab's answer, committed first
        _db.session.commit()
        raise StaleObject("raced")

    monkeypatch.setattr("services.messages.answer_question", answered_elsewhere)
    _assert_not_sent_page(_answer(client, req, question), req, "bereits beantwortet")


def test_not_sent_page_in_english(client, req, login_as):
    from flask_babel import refresh

    question = _ask(req)
    login_as(req.applicant)
    _clerk_fires(req, "bearbeitung_fortsetzen", {"comment": "Antwort kam per Post"})
    refresh()  # the tests share one app context: forget the German locale of earlier requests
    resp = client.post(_url(req, question.id) + "?lang=en", data={f"q{question.id}-body": "My reply"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "<title>Error: Your reply was not sent" in page
    assert "Your reply was not sent" in page and "without your online reply" in page
    assert ">My reply</textarea>" in page
