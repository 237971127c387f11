"""A service switched off while citizens have drafts of it: kept, listed with a note, refused with a
clear page (not 404/500) until it is offered again; submitted requests carry on for the clerks."""

import re
from urllib.parse import quote

import pytest
from flask import g
from flask_babel import refresh
from sqlalchemy import func, select

from models import Draft, ServiceRequest
from services.formdefs import latest_version, load_spec
from tests.factories import PASSWORD, CitizenFactory, clerk_of
from tests.web.journey import PDF, TEST_ANSWERS, fill_all_pages, start_draft, test_service

FIXTURES = (test_service,)  # imported for pytest
NOT_OFFERED = "wird derzeit nicht online angeboten"


@pytest.fixture
def citizen(db, login_as):
    user = CitizenFactory(full_name="Erika Mustermann")
    db.session.commit()
    return login_as(user)


def _fill(client, service) -> str:
    draft_id = start_draft(client, service.slug)
    spec = load_spec(latest_version(service))
    location = fill_all_pages(client, draft_id, spec, TEST_ANSWERS, {"dokument": [(PDF, "nachweis.pdf")]})
    assert location.endswith(f"/antrag/{draft_id}/pruefen")
    return draft_id


def _switch(db, service, active: bool, what: str = "service"):
    target = service if what == "service" else service.department
    target.active = active
    db.session.commit()


def _draft(db, draft_id):
    db.session.expire_all()
    return db.session.scalar(select(Draft).where(Draft.public_id == draft_id))


def _requests(db) -> int:
    return db.session.scalar(select(func.count(ServiceRequest.id)))


def _submit(client, draft_id, **extra):
    return client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y", **extra})


def test_no_new_draft_and_no_public_page_for_a_service_not_offered(client, citizen, db, test_service):
    _switch(db, test_service, False)
    assert client.get("/antrag/testantrag/starten").status_code == 404
    assert client.post("/antrag/testantrag/starten").status_code == 404
    assert client.get("/leistungen/testantrag").status_code == 404
    assert "Testantrag" not in client.get("/leistungen").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Draft.id))) == 0


def test_my_requests_keeps_the_draft_with_a_note_and_the_departments_contact(
    client, citizen, db, test_service
):
    draft_id = _fill(client, test_service)
    test_service.department.phone = "0203 283-0"
    _switch(db, test_service, False)
    html = client.get("/meine-antraege").get_data(as_text=True)
    assert "Testantrag" in html and NOT_OFFERED in html
    assert "fortsetzen und absenden, sobald die Leistung wieder online angeboten wird" in html
    assert test_service.department.name_de in html and "tel:02032830" in html
    assert f"mailto:{test_service.department.email}" in html
    assert f"/antrag/{draft_id}/pruefen" in html and "Gespeicherte Angaben ansehen" in html
    assert ">Fortsetzen<" not in html
    assert f"/antrag/{draft_id}/loeschen" in html  # discarding it stays possible


@pytest.mark.parametrize("what", ["service", "department"])
def test_resuming_and_checking_answers_show_the_refusal_page(client, citizen, db, test_service, what):
    draft_id = _fill(client, test_service)
    _switch(db, test_service, False, what)
    for url in (f"/antrag/{draft_id}/person", f"/antrag/{draft_id}/pruefen"):
        resp = client.get(url)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 409, url
        assert "<title>Antrag derzeit nicht möglich – Testantrag" in html
        assert "Diese Leistung wird derzeit nicht online angeboten</h1>" in html
        assert "weder fortsetzen noch absenden" in html
        assert "bleibt mit allen bisher gespeicherten Angaben in Ihrem Benutzerkonto" in html
        assert "Mustermann" in html and "Stadtwerke Duisburg" in html  # the saved answers, read only
        assert test_service.department.email in html
        assert 'name="declaration"' not in html and 'name="weiter"' not in html


def test_a_page_posted_after_deactivation_changes_nothing(client, citizen, db, test_service):
    draft_id = _fill(client, test_service)
    saved = _draft(db, draft_id).answers
    _switch(db, test_service, False)
    resp = client.post(
        f"/antrag/{draft_id}/person",
        data={"vorname": "Max", "nachname": "Muster", "firmenwagen": "nein", "weiter": "1"},
    )
    assert resp.status_code == 409
    assert "Ihre Eingaben auf dieser Seite wurden nicht gespeichert." in resp.get_data(as_text=True)
    assert _draft(db, draft_id).answers == saved


def test_submit_racing_the_deactivation_is_refused_and_keeps_the_answers(client, citizen, db, test_service):
    draft_id = _fill(client, test_service)
    review = client.get(f"/antrag/{draft_id}/pruefen").get_data(as_text=True)
    stamp = re.search(r'name="checked" value="([0-9a-f]{64})"', review).group(1)
    _switch(db, test_service, False)  # while the check-answers page is open
    resp = _submit(client, draft_id, checked=stamp)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "Ihr Antrag wurde nicht abgesendet." in html and NOT_OFFERED in html
    assert _requests(db) == 0
    draft = _draft(db, draft_id)
    assert draft.submitted_at is None and draft.answers["nachname"] == "Mustermann"


def test_reactivating_the_service_makes_the_draft_usable_again(client, citizen, db, test_service):
    draft_id = _fill(client, test_service)
    _switch(db, test_service, False)
    assert _submit(client, draft_id).status_code == 409
    _switch(db, test_service, True)
    assert ">Fortsetzen<" in client.get("/meine-antraege").get_data(as_text=True)
    assert client.get(f"/antrag/{draft_id}/pruefen").status_code == 200
    resp = _submit(client, draft_id)
    assert resp.status_code == 302 and "/bestaetigung" in resp.headers["Location"]
    assert _requests(db) == 1


def test_anonymous_draft_is_refused_and_offers_to_keep_it_in_an_account(app, client, db, test_service):
    draft_id = _fill(client, test_service)
    _switch(db, test_service, False)
    resp = client.get(f"/antrag/{draft_id}/pruefen")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and NOT_OFFERED in html
    assert "nur für diesen Besuch gespeichert" in html and "Anmelden und Antrag aufbewahren" in html
    review_url = f"/antrag/{draft_id}/pruefen"
    assert f'href="/anmelden?next={review_url}"' in html
    refused = _submit(client, draft_id)  # a service that needs an account: log in first, then the page
    assert refused.status_code == 302 and "/anmelden" in refused.headers["Location"]
    assert _requests(db) == 0
    user = CitizenFactory()
    db.session.commit()
    login = client.post(
        f"/anmelden?next={quote(review_url)}", data={"email": user.email, "password": PASSWORD}
    )
    assert login.status_code == 303 and login.headers["Location"].endswith(review_url)
    assert _draft(db, draft_id).user_id == user.id  # adopted: now kept in the account
    assert NOT_OFFERED in client.get("/meine-antraege").get_data(as_text=True)
    assert client.get(review_url).status_code == 409


def test_anonymous_submit_of_a_service_without_login_is_refused(client, db, test_service):
    test_service.login_required = False
    db.session.commit()
    draft_id = _fill(client, test_service)
    _switch(db, test_service, False)
    resp = _submit(client, draft_id, email="erika@example.org")
    assert resp.status_code == 409 and "Ihr Antrag wurde nicht abgesendet." in resp.get_data(as_text=True)
    assert _requests(db) == 0


def test_refusal_page_and_note_in_english(client, citizen, db, test_service):
    draft_id = _fill(client, test_service)
    _switch(db, test_service, False)
    refresh()  # the test's app context outlives the requests: forget their German locale
    html = client.get(f"/antrag/{draft_id}/pruefen?lang=en").get_data(as_text=True)
    assert "This service is currently not offered online</h1>" in html
    assert "stays in your account with all the answers saved so far" in html and NOT_OFFERED not in html
    listing = client.get("/meine-antraege?lang=en").get_data(as_text=True)
    assert "This service is currently not offered online. Your application stays saved" in listing


def test_requests_submitted_before_deactivation_are_processed_normally(
    app, client, citizen, db, test_service
):
    draft_id = _fill(client, test_service)
    assert _submit(client, draft_id).status_code == 302
    _switch(db, test_service, False)
    req = db.session.scalar(select(ServiceRequest))
    page = client.get(f"/antraege/{req.public_id}")
    assert page.status_code == 200 and req.reference in page.get_data(as_text=True)
    g.pop("_login_user", None)
    clerk_client = app.test_client()
    clerk = clerk_of(test_service.department)
    db.session.commit()
    clerk_client.post("/anmelden", data={"email": clerk.email, "password": PASSWORD})
    url = f"/sachbearbeitung/antraege/{req.public_id}"
    assert clerk_client.get(url).status_code == 200
    resp = clerk_client.post(
        url + "/aktion/bearbeitung_beginnen", data={"t-bearbeitung_beginnen-row_version": req.row_version}
    )
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(ServiceRequest, req.id).state == "in_bearbeitung"


def test_deactivating_tells_the_department_how_many_drafts_wait(client, db, login_as, test_service):
    from models import MembershipRole
    from services import drafts
    from services.tokens import random_token

    drafts.start_draft(test_service, CitizenFactory())
    drafts.start_draft(test_service, None, session_token=random_token())
    admin = clerk_of(test_service.department, MembershipRole.ADMIN)
    db.session.commit()
    login_as(admin)
    url = f"/verwaltung/leistungen/{test_service.id}/bearbeiten"
    waiting = "2 angefangene Anträge dieser Leistung können nicht fortgesetzt oder abgesendet werden"
    assert waiting in client.get(url).get_data(as_text=True)  # said next to the box before unticking it
    data = {
        "title_de": "Testantrag",
        "title_en": "Test application",
        "fee": "0",
        "processing_days": "14",
        "retention_years": "10",
        "topic": "allgemein",
        "login_required": "y",
    }  # "active" left unticked
    resp = client.post(url, data=data)
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert waiting in page and "2 (warten, bis die Leistung wieder aktiv ist)" in page
    db.session.expire_all()
    assert test_service.active is False
    assert waiting not in client.get(url).get_data(as_text=True)  # inactive already: nothing to warn of
