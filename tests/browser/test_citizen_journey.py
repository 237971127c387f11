"""One citizen journey clicked through in Chromium, with axe-core (WCAG 2.1 AA) on every page.

Bewohnerparkausweis: dates (three inputs), address, radios, select, yes/no, a conditional field and
a file upload; the error state of a form page and of the check page are checked too.
"""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Service, ServiceRequest
from services.seed import seed_demo
from tests.factories import CitizenFactory, started_request
from tests.web.journey import PDF

pytestmark = pytest.mark.browser


ERROR_TITLE = re.compile(r"^Fehler: ")  # a re-rendered form with errors


@pytest.fixture
def citizen(db):
    seed_demo()
    user = CitizenFactory(full_name="Erika Mustermann")
    db.session.commit()
    return user


def _weiter(page):
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_load_state()  # "load": amtsweg.js has run (it focuses the error summary)


def _date(page, name, day, month, year):
    page.fill(f'[name="{name}-day"]', day)
    page.fill(f'[name="{name}-month"]', month)
    page.fill(f'[name="{name}-year"]', year)


def test_citizen_journey_clicked_through_without_axe_violations(
    page, citizen, browser_login, db, assert_no_axe_violations
):
    browser_login(page, citizen)
    page.goto("/antrag/bewohnerparkausweis/starten")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Antrag starten").click()

    # Page 1, first sent empty: error summary focused, title "Fehler: ", inline messages
    page.wait_for_url(re.compile(r"/antragsteller$"))
    assert "Schritt 1 von 4" in page.content()
    assert_no_axe_violations(page)
    _weiter(page)
    expect(page).to_have_title(ERROR_TITLE)
    assert page.evaluate("document.activeElement.classList.contains('aw-error-summary')")
    assert_no_axe_violations(page)
    page.fill('[name="vorname"]', "Erika")
    page.fill('[name="nachname"]', "Mustermann")
    _date(page, "geburtsdatum", "12", "3", "1984")
    page.fill('[name="email"]', "erika@example.org")
    _weiter(page)

    page.wait_for_url(re.compile(r"/meldeadresse$"))
    assert_no_axe_violations(page)
    page.fill('[name="meldeadresse-street"]', "Sonnenwall")
    page.fill('[name="meldeadresse-number"]', "73")
    page.fill('[name="meldeadresse-postcode"]', "47051")
    page.fill('[name="meldeadresse-city"]', "Duisburg")
    page.check('[name="wohnsitz"][value="haupt"]')
    page.select_option('[name="bewohnerparkgebiet"]', "d1")
    _weiter(page)

    page.wait_for_url(re.compile(r"/fahrzeug$"))
    assert_no_axe_violations(page)
    page.fill('[name="kennzeichen"]', "DU-AB 1234")
    page.check('[name="fahrzeugart"][value="pkw"]')
    page.check('[name="halter_ist_antragsteller"][value="yes"]')
    page.check('[name="firmenwagen"][value="no"]')
    page.check('[name="gueltigkeit"][value="12"]')
    _weiter(page)

    page.wait_for_url(re.compile(r"/nachweise$"))
    assert_no_axe_violations(page)
    page.set_input_files(
        '[name="fahrzeugschein"]',
        files=[{"name": "fahrzeugschein.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    _weiter(page)

    page.wait_for_url(re.compile(r"/pruefen$"))
    assert "fahrzeugschein.pdf" in page.content() and "DU-AB 1234" in page.content()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Antrag verbindlich absenden").click()
    expect(page).to_have_title(ERROR_TITLE)  # waits for the answer; the declaration was not ticked
    assert_no_axe_violations(page)
    page.get_by_label("Ich versichere, dass meine Angaben vollständig und richtig sind.").check()
    page.get_by_role("button", name="Antrag verbindlich absenden").click()

    page.wait_for_url(re.compile(r"/bestaetigung$"))
    reference = db.session.scalar(select(ServiceRequest.reference))
    assert reference and reference in page.content()
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Antrag ansehen").click()
    page.wait_for_url(re.compile(r"/antraege/[0-9a-f]{32}$"))
    assert "Sonnenwall" in page.content()
    assert_no_axe_violations(page)
    page.goto("/meine-antraege")
    assert reference in page.content()
    assert_no_axe_violations(page)
    from services.notifications import notify_citizen

    notify_citizen(db.session.scalar(select(ServiceRequest)), "in_progress")  # as when a clerk starts
    db.session.commit()
    page.goto("/postfach/")
    assert page.locator("h1").inner_text() == "Postfach" and reference in page.content()
    assert_no_axe_violations(page)

    # A request the same person submitted earlier without an account is offered to the account.
    earlier = started_request(applicant=None, applicant_name="Erika Mustermann", reference="DU-2025-000777",
                              contact_email=citizen.email, access_token_hash="0" * 64)
    db.session.commit()
    page.goto("/meine-antraege")
    assert earlier.reference in page.content()
    assert_no_axe_violations(page)
    page.get_by_role("button", name=re.compile(f"Meinem Konto zuordnen.*{earlier.reference}")).click()
    page.wait_for_load_state()
    assert "jetzt Ihrem Benutzerkonto zugeordnet" in page.content()
    assert_no_axe_violations(page)


def test_axe_check_reports_a_real_violation(page, db):
    """The fixture must be able to fail: an unlabeled input is found."""
    from tests.browser.conftest import axe_violations

    page.goto("/meine-antraege")  # redirects to the login page
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>')")
    assert "label" in [v["id"] for v in axe_violations(page)]


def test_enter_in_a_group_field_continues_instead_of_removing_an_item(
    page, citizen, browser_login, db, assert_no_axe_violations
):
    """Enter submits with the first submit button: that must be "Weiter", not an item's "Entfernen".

    (The hidden default button comes from macros/dynamic_fields.html; this checks the whole page.)
    """
    from models import Draft
    from services.drafts import save_answers, start_draft
    from tests.web.journey import SEEDED_JOURNEYS

    service = db.session.scalar(select(Service).where(Service.slug == "hundesteuer-anmeldung"))
    draft = start_draft(service, citizen)
    save_answers(draft, SEEDED_JOURNEYS["hundesteuer-anmeldung"][0], "halter")
    db.session.commit()
    browser_login(page, citizen)
    page.goto(f"/antrag/{draft.public_id}/hunde")
    assert_no_axe_violations(page)
    page.locator('[name="hunde-1-name"]').press("Enter")
    page.wait_for_url(re.compile(r"/zahlung$"))
    db.session.expire_all()
    assert len(db.session.get(Draft, draft.id).answers["hunde"]) == 2


def test_anonymous_start_and_form_page_without_axe_violations(page, citizen, db, assert_no_axe_violations):
    page.goto("/antrag/bewohnerparkausweis/starten")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Ohne Anmeldung starten").click()
    page.wait_for_url(re.compile(r"/antragsteller$"))
    assert "nur für diesen Besuch gespeichert" in page.content()
    assert page.get_by_role("button", name="Speichern und später fortsetzen").count() == 0
    assert_no_axe_violations(page)


def test_anonymous_review_pages_without_axe_violations(page, citizen, db, assert_no_axe_violations):
    """Both anonymous variants of "Angaben prüfen": login prompt; contact address and its error state."""
    page.goto("/antrag/bewohnerparkausweis/starten")  # needs an account to submit
    page.get_by_role("button", name="Ohne Anmeldung starten").click()
    page.wait_for_url(re.compile(r"/antragsteller$"))
    page.goto(page.url.rsplit("/", 1)[0] + "/pruefen")
    assert page.get_by_role("heading", name="Zum Absenden anmelden").count() == 1
    assert_no_axe_violations(page)

    page.goto("/antrag/sondernutzungserlaubnis/starten")  # may be submitted without an account
    page.get_by_role("button", name="Ohne Anmeldung starten").click()
    page.wait_for_load_state()
    page.goto(re.sub(r"/[^/]+$", "/pruefen", page.url))
    assert page.get_by_label(re.compile("E-Mail")).count() >= 1
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Antrag verbindlich absenden").click()
    page.wait_for_load_state()
    expect(page).to_have_title(ERROR_TITLE)
    assert_no_axe_violations(page)


def test_status_link_page_and_its_renewal_without_axe_violations(page, citizen, db, assert_no_axe_violations):
    """A request submitted without an account, opened through its personal link, the link renewed."""
    from services.tokens import request_access_token, token_digest

    req = started_request(applicant=None, applicant_name="Erika Mustermann", reference="DU-2025-000888",
                          contact_email="erika@example.org")
    req.access_token_hash = token_digest(request_access_token(req.public_id))
    db.session.commit()
    page.goto(f"/antraege/{req.public_id}/zugang/{request_access_token(req.public_id)}")
    page.wait_for_url(re.compile(rf"/antraege/{req.public_id}$"))
    assert page.get_by_role("heading", name="Ihr persönlicher Link zum Antrag").count() == 1
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Link erneuern").click()
    page.wait_for_load_state()
    assert "bisheriger persönlicher Link gilt nicht mehr" in page.content()
    assert request_access_token(req.public_id, 1) in page.content()
    assert_no_axe_violations(page)


def test_draft_of_a_service_not_offered_without_axe_violations(
    page, citizen, browser_login, db, assert_no_axe_violations
):
    """A draft whose service was switched off: the note on "Meine Anträge" and the refusal page."""
    browser_login(page, citizen)
    page.goto("/antrag/bewohnerparkausweis/starten")
    page.get_by_role("button", name="Antrag starten").click()
    page.wait_for_url(re.compile(r"/antragsteller$"))
    draft_page = page.url
    service = db.session.scalar(select(Service).where(Service.slug == "bewohnerparkausweis"))
    service.active = False
    db.session.commit()
    page.goto("/meine-antraege")
    assert "wird derzeit nicht online angeboten" in page.content()
    assert_no_axe_violations(page)
    page.goto(draft_page)
    assert page.get_by_role("heading", name="Diese Leistung wird derzeit nicht online angeboten").count() == 1
    assert_no_axe_violations(page)
