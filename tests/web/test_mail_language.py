"""The account's language for e-mails: the form on "Mein Konto", its checks, its relation to the
page language, and that mail sent after the change is written in the chosen language."""

import re

import pytest

from extensions import db as _db
from models import User
from tests.factories import (
    CitizenFactory,
    DepartmentFactory,
    ServiceFactory,
    StaffFactory,
    clerk_of,
    started_request,
)
from tests.support import Mailbox, body_of


@pytest.fixture
def mailbox(app, db):
    return Mailbox(app)


def _locale_of(user) -> str:
    _db.session.expire_all()
    return _db.session.get(User, user.id).locale


def _checked_value(html: str) -> str:
    """The value of the one checked radio on the page."""
    (tag,) = [tag for tag in re.findall(r"<input[^>]*>", html) if re.search(r"\bchecked\b", tag)]
    return re.search(r'value="(\w+)"', tag).group(1)


def test_account_page_shows_the_current_mail_language(client, login_as):
    login_as(CitizenFactory(locale="en"))
    html = client.get("/konto").get_data(as_text=True)
    assert re.search(r"Sprache für E-Mails</dt>\s*<dd[^>]*>English</dd>", html)
    assert _checked_value(html) == "en"
    # a fieldset whose legend asks the question, labels tied to their radios and in their own language
    assert re.search(r'<fieldset[^>]*id="language"[^>]*aria-describedby="language-hint"', html)
    assert "<legend" in html and "In welcher Sprache möchten Sie unsere E-Mails erhalten?" in html
    assert re.search(r'<input[^>]*id="language-1"[^>]*name="language"[^>]*type="radio"[^>]*value="en"', html)
    assert '<label class="kern-label" for="language-1" lang="en">English</label>' in html
    assert '<label class="kern-label" for="language-0" lang="de">Deutsch</label>' in html
    assert 'action="/konto/sprache"' in html


def test_mail_language_change_saves_and_says_so(client, login_as):
    user = login_as(CitizenFactory(locale="de"))
    resp = client.post("/konto/sprache", data={"language": "en"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/konto")
    assert _locale_of(user) == "en"
    html = client.get("/konto").get_data(as_text=True)
    assert "Ihre Sprache für E-Mails ist gespeichert: English." in html  # the page itself stays German
    assert 'role="status"' in html and _checked_value(html) == "en"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Bitte wählen Sie eine Sprache."),
        ({"language": ""}, "Bitte wählen Sie eine Sprache."),
        ({"language": "fr"}, "Bitte wählen Sie eine der angebotenen Sprachen."),
    ],
)
def test_mail_language_change_refuses_a_missing_or_unknown_language(client, login_as, data, message):
    user = login_as(CitizenFactory(locale="de"))
    resp = client.post("/konto/sprache", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and _locale_of(user) == "de"
    assert re.search(r"<title>\s*Fehler: Mein Konto", html)
    assert f'<a class="kern-link" href="#language">{message}</a>' in html  # the error summary
    assert re.search(r'<fieldset[^>]*aria-describedby="language-hint language-error"', html)
    assert html.count(message) == 2  # summary and at the field


def test_password_errors_keep_the_mail_language_shown(client, login_as):
    login_as(CitizenFactory(locale="en"))
    resp = client.post("/konto/passwort", data={"current_password": "falsch"})
    html = resp.get_data(as_text=True)
    assert "Bitte geben Sie ein Passwort ein." in html and _checked_value(html) == "en"


def test_staff_choose_their_mail_language_too(client, login_as):
    clerk = login_as(clerk_of(DepartmentFactory()))
    assert client.post("/konto/sprache", data={"language": "en"}).status_code == 303
    assert _locale_of(clerk) == "en"
    client.post("/abmelden")
    login_as(StaffFactory(is_platform_admin=True))
    assert _checked_value(client.get("/konto").get_data(as_text=True)) == "de"


def test_mail_language_change_needs_login(client):
    resp = client.post("/konto/sprache", data={"language": "en"})
    assert resp.status_code == 302 and "/anmelden" in resp.headers["Location"]


def test_switching_the_page_language_leaves_the_mail_language_alone(client, login_as):
    user = login_as(CitizenFactory(locale="de"))
    html = client.get("/konto?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html and "My account" in html
    assert re.search(r"Language for e-mails</dt>\s*<dd[^>]*>Deutsch</dd>", html)  # the choice, not the page's
    assert _checked_value(html) == "de" and _locale_of(user) == "de"
    client.get("/leistungen?lang=en")
    assert _locale_of(user) == "de"
    # …and saving it on English pages stores what was chosen, not the page language
    client.post("/konto/sprache", data={"language": "de"})
    assert _locale_of(user) == "de"


@pytest.fixture
def _no_notice_rendering(monkeypatch):
    """A question may ask for a notice; rendering and signing it is the notices area's."""
    monkeypatch.setattr("services.notices.request_notice", lambda *a, **k: None, raising=False)


@pytest.mark.usefixtures("_no_notice_rendering")
def test_mail_after_the_change_is_in_the_chosen_language(client, login_as, mailbox):
    dept = DepartmentFactory()
    req = started_request(service=ServiceFactory(department=dept), locale="de")
    req.applicant.locale = "de"
    _db.session.commit()
    citizen = req.applicant
    login_as(citizen)
    assert client.post("/konto/sprache", data={"language": "en"}).status_code == 303
    client.post("/abmelden")

    login_as(clerk_of(dept))
    url = f"/sachbearbeitung/antraege/{req.public_id}/aktion"
    resp = client.post(
        f"{url}/bearbeitung_beginnen", data={"t-bearbeitung_beginnen-row_version": req.row_version}
    )
    assert resp.status_code == 303
    _db.session.expire_all()
    req = _db.session.get(type(req), req.id)
    resp = client.post(
        f"{url}/rueckfrage_stellen",
        data={
            "t-rueckfrage_stellen-row_version": req.row_version,
            "t-rueckfrage_stellen-f_message": "Bitte senden Sie den Grundriss.",
        },
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]

    status, question = mailbox.deliver(citizen.email)[-2:]
    assert status["Subject"] == f"Your application {req.reference} is being processed"
    assert question["Subject"] == f"Request for information about your application {req.reference}"
    body = body_of(question)
    assert body.startswith(f"Dear {citizen.full_name},") and "Current status:" in body
    assert "Rückfrage" not in body and "Ihr Antrag" not in body


def test_an_outdated_stored_language_shows_as_the_one_mail_is_written_in(client, login_as):
    login_as(CitizenFactory(locale="fr"))  # e.g. a language since taken off LANGUAGES
    html = client.get("/konto").get_data(as_text=True)
    assert re.search(r"Sprache für E-Mails</dt>\s*<dd[^>]*>Deutsch</dd>", html)
    assert _checked_value(html) == "de"
