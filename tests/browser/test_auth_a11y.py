"""Account and ops pages in headless Chromium: no axe-core (WCAG 2.1 AA) or CSP violations."""

import re

import pytest
from playwright.sync_api import expect

from extensions import db as _db
from tests.factories import PASSWORD, CitizenFactory, DepartmentFactory, StaffFactory, clerk_of

ANONYMOUS = [
    "/anmelden",
    "/registrieren",
    "/passwort-vergessen",
    "/registrieren/postfach",
    "/passwort-vergessen/gesendet",
    "/passwort-neu/kaputt",
    "/bestaetigen/kaputt",
    "/anmelden?lang=en",
    "/antraege/statuslink",
    "/antraege/statuslink/gesendet",
]


ERROR_TITLE = re.compile(r"^Fehler: ")  # a re-rendered form with errors


def _login_in_browser(page, user):
    """Through the real form: a cookie copied from the test client would fail Flask-Login's
    "strong" session protection (different user agent)."""
    _db.session.commit()
    page.goto("/anmelden")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/anmelden" not in page.url


@pytest.mark.parametrize("path", ANONYMOUS)
def test_auth_page_has_no_axe_violations(page, assert_no_axe_violations, path):
    page.goto(path)
    assert page.locator("h1").count() == 1
    assert_no_axe_violations(page)


@pytest.mark.parametrize(
    "path", ["/anmelden", "/registrieren", "/passwort-vergessen", "/antraege/statuslink"]
)
def test_auth_form_errors_have_no_axe_violations(page, assert_no_axe_violations, path):
    page.goto(path)
    page.locator("main button[type=submit]").first.click()
    expect(page).to_have_title(ERROR_TITLE)  # waits for the answer to load
    assert page.locator(".aw-error-summary a").count() >= 1
    assert_no_axe_violations(page)


def test_account_page_unconfirmed_has_no_axe_violations(page, assert_no_axe_violations):
    _login_in_browser(page, CitizenFactory(email_confirmed_at=None))
    page.goto("/konto")
    assert "noch nicht bestätigt" in page.content()
    assert_no_axe_violations(page)
    page.locator("#password-heading ~ form button[type=submit]").click()
    expect(page).to_have_title(ERROR_TITLE)  # waits for the answer to load
    assert_no_axe_violations(page)


def test_mail_language_form_saves_and_shows_errors_without_axe_violations(page, assert_no_axe_violations):
    user = CitizenFactory(locale="de")
    _login_in_browser(page, user)
    page.goto("/konto?lang=en")  # the page in English does not change the mail language
    expect(page.get_by_label("Deutsch")).to_be_checked()
    page.get_by_label("English").check()
    page.locator("#language-heading ~ form button[type=submit]").click()
    expect(page.locator("main .kern-alert--success")).to_contain_text("English")
    expect(page.get_by_label("English")).to_be_checked()
    assert_no_axe_violations(page)
    # No radio chosen (only possible by tampering): the error summary and the field's error
    page.evaluate("document.querySelectorAll('input[name=language]').forEach(r => { r.checked = false; })")
    page.locator("#language-heading ~ form button[type=submit]").click()
    expect(page).to_have_title(re.compile(r"^Error: "))  # the pages are still in English
    assert page.locator(".aw-error-summary a[href='#language']").count() == 1
    assert_no_axe_violations(page)


def test_ops_pages_have_no_axe_violations(page, assert_no_axe_violations):
    dept = DepartmentFactory(name_de="Bürgeramt")
    clerk = clerk_of(dept)
    StaffFactory(is_active_account=False)
    _db.session.commit()
    _login_in_browser(page, StaffFactory(is_platform_admin=True))
    for path in (
        "/betrieb/",
        "/betrieb/mitarbeitende",
        "/betrieb/aemter",
        f"/betrieb/mitarbeitende/{clerk.id}",
        "/betrieb/mitarbeitende/neu",
    ):
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        assert_no_axe_violations(page)
    page.locator("main button[type=submit]").click()  # empty form: errors
    expect(page).to_have_title(ERROR_TITLE)  # waits for the answer to load
    assert_no_axe_violations(page)


def test_account_deletion_pages_have_no_axe_violations(page, assert_no_axe_violations):
    from tests.factories import started_request

    citizen = CitizenFactory()
    req = started_request(applicant=citizen)
    _login_in_browser(page, citizen)
    page.goto("/konto")
    assert_no_axe_violations(page)
    page.locator("#delete-heading ~ p a").click()
    page.wait_for_load_state()
    assert req.reference in page.content()
    assert_no_axe_violations(page)
    page.locator("#confirm-heading ~ form button[type=submit]").click()  # nothing filled in: errors
    expect(page).to_have_title(ERROR_TITLE)
    assert page.locator(".aw-error-summary a").count() == 2
    assert_no_axe_violations(page)
    page.fill("#password", PASSWORD)
    page.check("#confirm")
    page.locator("#confirm-heading ~ form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/konto/geloescht$"))
    assert req.reference in page.content()
    assert_no_axe_violations(page)
    assert page.csp_violations == []
