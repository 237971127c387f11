"""Public pages in headless Chromium: axe-core (WCAG 2.1 AA) finds nothing, keyboard search works."""

import pytest

from extensions import db as _db
from models import Service
from services.seed import seed_demo
from tests.factories import form_version_for

PAGES = [
    "/",
    "/leistungen",
    "/leistungen?q=hund",
    "/leistungen?q=raumschiff",
    "/leistungen?gruppierung=behoerde",
    "/leistungen/bewohnerparkausweis",
    "/leistungen/hundesteuer-anmeldung?lang=en",
    "/seite/impressum",
    "/seite/datenschutz",
    "/seite/barrierefreiheit?lang=en",
    "/leistungen/gibt-es-nicht",
]


@pytest.fixture
def demo_city(db):
    seed_demo()
    park = _db.session.execute(_db.select(Service).filter_by(slug="bewohnerparkausweis")).scalar_one()
    form_version_for(park)  # so the page shows its "Antrag starten" button to axe
    _db.session.commit()  # the live server thread reads through its own session


@pytest.mark.parametrize("path", PAGES)
def test_public_page_has_no_axe_violations(page, demo_city, assert_no_axe_violations, path):
    page.goto(path)
    assert page.locator("h1").count() == 1
    assert_no_axe_violations(page)


def test_start_button_reaches_the_citizen_journey(page, demo_city):
    page.goto("/leistungen/bewohnerparkausweis")
    page.get_by_role("link", name="Antrag starten").click()
    page.wait_for_url("**/antrag/bewohnerparkausweis/starten")


def test_search_with_keyboard_only(page, demo_city):
    page.goto("/")
    page.keyboard.press("Tab")  # skip link first
    assert page.evaluate("document.activeElement.textContent.trim()") == "Zum Inhalt springen"
    page.get_by_label("Leistung suchen").fill("Gewerbe")
    page.keyboard.press("Enter")
    page.wait_for_url("**/leistungen?q=Gewerbe")
    assert page.get_by_role("link", name="Gewerbeanmeldung").is_visible()
    assert page.get_by_role("link", name="Bewohnerparkausweis").count() == 0
