"""A clerk works a request from the queue to a decision in headless Chromium; axe-core finds no
WCAG 2.1 AA violations on the queue and detail pages (also with a validation error)."""

from extensions import db as _db
from tests.factories import PASSWORD, DepartmentFactory, ServiceFactory, clerk_of, started_request


def _login(page, user):
    _db.session.commit()
    page.goto("/anmelden")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/anmelden" not in page.url


def _fire(page, name, **fields):
    details = page.locator(f"form[action$='/aktion/{name}']").locator("xpath=..")
    if not details.evaluate("d => d.open"):
        details.locator("summary").click()
    form = page.locator(f"form[action$='/aktion/{name}']")
    for key, value in fields.items():
        form.locator(f"[name='t-{name}-{key}']").fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_clerk_works_request_from_queue_to_decision(page, assert_no_axe_violations):
    dept = DepartmentFactory(name_de="Ordnungsamt")
    req = started_request(service=ServiceFactory(department=dept, title_de="Sondernutzung"))
    clerk = clerk_of(dept)
    _login(page, clerk)

    page.goto("/sachbearbeitung/")
    assert page.locator("h1").inner_text() == "Arbeitskorb"
    assert req.reference in page.content()
    assert_no_axe_violations(page)

    page.get_by_role("button", name="Nächsten Antrag übernehmen").click()
    page.wait_for_load_state()
    assert req.public_id in page.url
    assert_no_axe_violations(page)

    _fire(page, "bearbeitung_beginnen")
    assert "wurde ausgeführt" in page.content()
    _fire(page, "ablehnen")  # the reason is required: error summary, field error
    assert page.title().startswith("Fehler:")
    assert page.locator(".aw-error-summary a").count() >= 1
    assert_no_axe_violations(page)

    _fire(page, "ablehnen", f_reason="Die Fläche ist bereits vergeben.")
    _db.session.expire_all()
    assert _db.session.get(type(req), req.id).state == "abgelehnt"
    assert "Die Fläche ist bereits vergeben." in page.content()  # in the history
    assert_no_axe_violations(page)

    page.goto("/sachbearbeitung/uebersicht")
    assert_no_axe_violations(page)
    page.goto("/sachbearbeitung/freigaben")
    assert_no_axe_violations(page)


def test_citizen_answers_question_and_sees_timeline(page, assert_no_axe_violations):
    from services.messages import run_clerk_transition

    dept = DepartmentFactory()
    req = started_request(service=ServiceFactory(department=dept))
    clerk = clerk_of(dept)
    run_clerk_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    data = {"message": "Bitte senden Sie den Lageplan.", "documents": ["Lageplan"]}
    run_clerk_transition(req, "rueckfrage_stellen", clerk, data, req.row_version)
    _login(page, req.applicant)

    page.goto(f"/antraege/{req.public_id}")
    assert "Bitte senden Sie den Lageplan." in page.content()
    assert "Verlauf Ihres Antrags" in page.content()
    assert_no_axe_violations(page)

    page.get_by_role("button", name="Antwort senden").click()  # empty answer: error page
    page.wait_for_load_state()
    assert page.title().startswith("Fehler:")
    assert_no_axe_violations(page)

    page.locator("textarea").fill("Der Lageplan kommt per Post.")
    page.get_by_role("button", name="Antwort senden").click()
    page.wait_for_load_state()
    assert "Ihre Antwort wurde übermittelt" in page.content()
    _db.session.expire_all()
    assert _db.session.get(type(req), req.id).state == "in_bearbeitung"

    page.get_by_role("link", name="Antrag zurückziehen").click()
    page.wait_for_load_state()
    assert_no_axe_violations(page)
    page.get_by_label("Ja, ich möchte diesen Antrag zurückziehen.").check()
    page.get_by_role("button", name="Antrag zurückziehen").click()
    page.wait_for_load_state()
    _db.session.expire_all()
    assert _db.session.get(type(req), req.id).state == "zurueckgezogen"
