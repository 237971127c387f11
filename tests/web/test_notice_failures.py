"""A notice that could not be created: the clerk reads why and queues it again, the department's
admin overview points at it, the applicant is told it is being prepared or delayed."""

import pytest
from flask_babel import refresh
from sqlalchemy import select

from extensions import db as _db
from models import MembershipRole, Notice, NoticeState, OutboxJob, OutboxState, RequestEvent
from services.notices import request_notice
from tests.conftest import csrf_token_from
from tests.factories import (
    PASSWORD,
    CitizenFactory,
    DepartmentFactory,
    ServiceFactory,
    ServiceRequestFactory,
    clerk_of,
)
from tests.support import IsolatedClient

# What the worker records for a rejection template that prints a key this decision lacks.
FAILURE = {"code": "template_undefined", "template": {"owner": "city", "version": 2}, "line": 2,
           "name": "decision.nope"}
TRACEBACK = "Traceback (most recent call last):\n  …\nservices.notices.failures.NoticeFailed: …\n"
GERMAN = (
    "Vorlage „Bescheid – Ablehnung“ (stadtweit), Version 2: "
    "Die Vorlage verwendet „decision.nope“, das für diesen Antrag nicht gesetzt ist (Zeile 2)."
)
ENGLISH = (
    "Template “Notice – refusal” (city-wide), version 2: "
    "The template uses “decision.nope”, which is not set for this application (line 2)."
)
# A row that failed before reasons were recorded as data: only its error text says why.
LEGACY_REASON = (
    "Vorlage „Bescheid – Ablehnung“ (stadtweit), Version 2: Zeile 2: „nope“ gibt es bei diesem Wert nicht."
)
LEGACY_TRACEBACK = f"Traceback …\nservices.notices.NoticeTemplateFailed: {LEGACY_REASON}\n"


@pytest.fixture
def dept(db):
    return DepartmentFactory()


@pytest.fixture
def citizen(db):
    return CitizenFactory()


@pytest.fixture
def failed(dept, citizen):
    """A rejection notice whose job gave up because of its template."""
    req = ServiceRequestFactory(service=ServiceFactory(department=dept), applicant=citizen)
    notice = request_notice(req, "rejection", data={"reason": "zu spät"})
    notice.state, notice.error, notice.failure = NoticeState.FAILED, TRACEBACK, dict(FAILURE)
    _db.session.flush()
    job = _db.session.scalars(select(OutboxJob)).one()
    job.state, job.attempts = OutboxState.FAILED, 5
    _db.session.commit()
    return notice


def _detail(notice):
    return f"/sachbearbeitung/antraege/{notice.request.public_id}"


def _retry(notice):
    return f"{_detail(notice)}/bescheide/{notice.public_id}/erneut-erzeugen"


def test_clerk_reads_the_reason_and_queues_the_notice_again(client, login_as, dept, failed):
    clerk = login_as(clerk_of(dept))
    page = client.get(_detail(failed)).get_data(as_text=True)
    alert = page[page.index("Bescheid konnte nicht erstellt werden"):page.index('id="aktionen"')]
    assert "Bescheid – Ablehnung, Fassung 1" in alert
    assert f"Die Bescheidvorlage passt nicht zu den Daten dieses Antrags. {GERMAN}" in alert
    assert "Traceback" not in page and "NoticeFailed" not in page
    assert f'action="{_retry(failed)}"' in alert and "Bescheid erneut erzeugen" in alert

    resp = client.post(_retry(failed))

    assert resp.status_code == 303 and resp.headers["Location"].endswith("#bescheide")
    _db.session.expire_all()
    notice = _db.session.get(Notice, failed.id)
    assert notice.state == NoticeState.PENDING
    job = _db.session.scalars(select(OutboxJob)).one()
    assert job.state == OutboxState.PENDING and job.attempts == 0
    event = _db.session.scalars(select(RequestEvent).where(RequestEvent.kind == "notice_retried")).one()
    assert event.actor_id == clerk.id
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Bescheid konnte nicht erstellt werden" not in page
    assert "Der Bescheid wird erneut erzeugt" in page
    assert "Bescheid erneut in Auftrag gegeben" in page[page.index('id="verlauf"'):]

    again = client.post(_retry(failed))  # a second click (or a stale page)
    assert again.status_code == 400
    assert "Dieser Bescheid wird bereits erstellt oder ist schon ausgestellt." in again.get_data(as_text=True)


def test_english_speaking_clerk_reads_the_reason_in_english(client, login_as, dept, failed):
    login_as(clerk_of(dept))
    page = client.get(_detail(failed) + "?lang=en").get_data(as_text=True)
    alert = page[page.index("The notice could not be created"):page.index('id="aktionen"')]
    assert ENGLISH in alert and "Die Vorlage" not in alert and "stadtweit" not in alert
    assert "administrator can correct the template and publish it again" in alert


@pytest.mark.parametrize(
    ("code", "german", "english"),
    [
        ("signing", "Beim Siegeln ist ein technischer Fehler aufgetreten.",
         "A technical error occurred while sealing the notice."),
        ("unknown", "Beim Erstellen des Bescheids ist ein technischer Fehler aufgetreten.",
         "A technical error occurred while creating the notice."),
    ],
)
def test_technical_failure_is_explained_without_details(client, login_as, dept, failed, code, german,
                                                        english):
    failed.error, failed.failure = "Traceback …\nOSError: token not present\n", {"code": code}
    _db.session.commit()
    login_as(clerk_of(dept))
    page = client.get(_detail(failed)).get_data(as_text=True)
    assert f"{german} Der Betrieb sieht die Einzelheiten unter „Hintergrundaufträge“" in page
    assert "OSError" not in page and "Bescheidvorlage passt nicht" not in page
    assert "Bescheid erneut erzeugen" in page
    refresh()  # the tests share one app context, which caches the locale of the German page
    english_page = client.get(_detail(failed) + "?lang=en").get_data(as_text=True)
    assert f"{english} Operations see the details under “Background jobs”" in english_page


def test_old_failed_rows_show_the_reason_from_their_error_text(client, login_as, dept, failed):
    failed.error, failed.failure = LEGACY_TRACEBACK, None
    _db.session.commit()
    login_as(clerk_of(dept))
    page = client.get(_detail(failed)).get_data(as_text=True)
    assert f"Die Bescheidvorlage passt nicht zu den Daten dieses Antrags. {LEGACY_REASON}" in page
    failed.error = "Traceback …\nOSError: token not present\n"
    _db.session.commit()
    page = client.get(_detail(failed)).get_data(as_text=True)
    assert "Beim Erstellen des Bescheids ist ein technischer Fehler aufgetreten." in page
    assert "OSError" not in page


def test_other_departments_cannot_retry(client, login_as, failed):
    login_as(clerk_of(DepartmentFactory()))
    assert client.post(_retry(failed)).status_code == 404
    _db.session.expire_all()
    assert _db.session.get(Notice, failed.id).state == NoticeState.FAILED


def test_unknown_notice_is_a_404_not_a_500(client, login_as, dept, failed):
    login_as(clerk_of(dept))
    assert client.post(f"{_detail(failed)}/bescheide/nix/erneut-erzeugen").status_code == 404


def test_retry_needs_the_csrf_token(app, db, dept, failed, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", IsolatedClient)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = app.test_client()
    clerk = clerk_of(dept)
    _db.session.commit()
    token = csrf_token_from(client.get("/anmelden"))
    client.post("/anmelden", data={"email": clerk.email, "password": PASSWORD, "csrf_token": token})
    assert client.post(_retry(failed)).status_code == 400
    _db.session.expire_all()
    assert _db.session.get(Notice, failed.id).state == NoticeState.FAILED
    token = csrf_token_from(client.get(_detail(failed)))
    assert client.post(_retry(failed), data={"retry-csrf_token": token}).status_code == 303


def test_applicant_is_told_a_failed_notice_is_delayed_without_details(client, login_as, citizen, failed):
    login_as(citizen)
    page = client.get(f"/antraege/{failed.request.public_id}").get_data(as_text=True)
    section = page[page.index('id="dokumente"'):]
    assert "„Bescheid – Ablehnung“ verzögert sich. Die Verwaltung ist informiert" in section
    assert "nope" not in page and "Vorlage" not in section
    assert "Es liegen noch keine Dokumente vor." not in section


def test_applicant_is_told_a_pending_notice_is_being_prepared(client, login_as, citizen):
    req = ServiceRequestFactory(applicant=citizen)
    request_notice(req, "receipt")
    _db.session.commit()
    login_as(citizen)
    section = client.get(f"/antraege/{req.public_id}").get_data(as_text=True).split('id="dokumente"')[1]
    assert "„Eingangsbestätigung“ wird gerade erstellt." in section


def test_admin_overview_lists_failed_notices_of_its_services(client, login_as, dept, failed):
    login_as(clerk_of(dept, MembershipRole.ADMIN))
    page = client.get("/verwaltung/").get_data(as_text=True)
    block = page[page.index("Bescheide, die nicht erstellt werden konnten"):]
    assert f'href="{_detail(failed)}">{failed.request.reference}</a>' in block
    assert "Bescheid – Ablehnung, Fassung 1" in block and GERMAN in block

    other = clerk_of(DepartmentFactory(), MembershipRole.ADMIN)
    _db.session.commit()
    client.post("/abmelden")
    login_as(other)
    page = client.get("/verwaltung/").get_data(as_text=True)
    assert "Bescheide, die nicht erstellt werden konnten" not in page


def test_admin_overview_gives_the_reason_in_english(client, login_as, dept, failed):
    login_as(clerk_of(dept, MembershipRole.ADMIN))
    page = client.get("/verwaltung/?lang=en").get_data(as_text=True)
    block = page[page.index("Notices that could not be created"):]
    assert ENGLISH in block and "Die Vorlage" not in block
