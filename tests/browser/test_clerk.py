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
