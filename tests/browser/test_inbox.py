"""The Postfach in Chromium: 'Alle als gelesen markieren' by keyboard, axe-core before and after."""

import pytest
from playwright.sync_api import expect

from services.notifications import notify_citizen
from tests.factories import started_request

pytestmark = pytest.mark.browser


def test_mark_all_read_by_keyboard(page, db, browser_login, assert_no_axe_violations):
    req = started_request()
    for kind in ("in_progress", "information_requested", "approved"):
        notify_citizen(req, kind)
    browser_login(page, req.applicant)

    page.goto("/postfach/")
    assert_no_axe_violations(page)
    nav = page.get_by_role("navigation", name="Hauptnavigation")
    expect(nav.get_by_role("link", name="Postfach (3 ungelesene Nachrichten)")).to_be_visible()
    button = page.get_by_role("button", name="Alle als gelesen markieren")
    button.focus()  # a native button: Enter sends the form, no JavaScript needed
    page.keyboard.press("Enter")
    page.wait_for_load_state()

    expect(page.get_by_role("status")).to_have_text("3 Nachrichten als gelesen markiert.")
    expect(nav.get_by_role("link", name="Postfach", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Alle als gelesen markieren")).to_have_count(0)
    assert page.get_by_text("Ungelesen", exact=True).count() == 0
    assert_no_axe_violations(page)
