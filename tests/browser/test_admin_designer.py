"""A department admin builds a small service in the designer (3 fields, 1 condition), previews and
publishes it; a citizen then submits it. axe-core finds no WCAG 2.1 AA violations on the admin pages."""

from sqlalchemy import select

from extensions import db as _db
from models import MembershipRole, Service, ServiceRequest
from tests.factories import CitizenFactory, DepartmentFactory, clerk_of, published_workflow


def _click(page, name):
    page.get_by_role("button", name=name, exact=True).first.click()
    page.wait_for_load_state()


def _add_field(page, page_key, type_label, values):
    page.select_option(f"#typ-{page_key}", label=type_label)
    page.get_by_role("button", name=f"Feld hinzufügen – Seite {page_key}").click()
    page.wait_for_load_state()
    for selector, value in values.items():
        page.fill(selector, value)
    _click(page, "Feld speichern")


def test_admin_builds_publishes_and_citizen_submits(page, browser_login, assert_no_axe_violations):
    dept = DepartmentFactory(name_de="Umweltamt", slug="umweltamt")
    published_workflow("standard", key="genehmigung-standard")
    admin = clerk_of(dept, MembershipRole.ADMIN)
    browser_login(page, admin)

    page.goto("/verwaltung/")
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Neue Leistung anlegen").click()
    _click(page, "Speichern")  # no title: error summary
    assert page.title().startswith("Fehler:")
    assert_no_axe_violations(page)
    page.fill("#title_de", "Baumfällgenehmigung")
    page.fill("#title_en", "Tree felling permit")
    page.fill("#leika_key", "99050012104000")
    page.fill("#fee", "25,00")
    page.check("#active")  # new services start inactive; this one goes live with its first form
    _click(page, "Speichern")
    assert page.locator("h1").inner_text() == "Formular gestalten"
    assert_no_axe_violations(page)

    _add_field(
        page,
        "angaben",
        "Auswahl (eine Antwort)",
        {
            "#key": "art",
            "#label_de": "Art des Antrags",
            "#label_en": "Type of application",  # publishing needs every text in English too
            "#options": "privat | Privat | Private\ngewerblich | Gewerblich | Commercial",
        },
    )
    assert "ist gespeichert" in page.content()
    page.select_option("#typ-angaben", label="Text (einzeilig)")
    page.get_by_role("button", name="Feld hinzufügen – Seite angaben").click()
    page.wait_for_load_state()
    assert_no_axe_violations(page)  # the field form
    page.fill("#key", "firma")
    page.fill("#label_de", "Name der Firma")
    page.fill("#label_en", "Company name")
    _click(page, "Feld speichern")

    page.goto(page.url.split("#")[0])
    page.get_by_role("link", name="Bedingung – firma").click()
    page.wait_for_load_state()
    assert_no_axe_violations(page)
    page.select_option("#field_0", "art")
    page.fill("#value_0", "gewerblich")
    _click(page, "Bedingung speichern")
    assert "Nur sichtbar, wenn" in page.content()
    assert "Der Entwurf ist gültig." in page.content()
    assert_no_axe_violations(page)

    page.get_by_role("link", name="Vorschau", exact=True).click()
    page.wait_for_load_state()
    assert "Vorschau des Entwurfs" in page.content()
    assert_no_axe_violations(page)
    page.get_by_label("Vor- und Nachname").fill("Probe")
    page.get_by_label("Gewerblich").check()
    page.get_by_label("Name der Firma").fill("Probe GmbH")
    _click(page, "Weiter")
    assert "Probe GmbH" in page.content()
    assert_no_axe_violations(page)

    page.get_by_role("link", name="Zurück zum Formular").first.click()
    page.get_by_role("link", name="Versionen").click()
    page.get_by_role("link", name="Entwurf veröffentlichen").click()
    page.wait_for_load_state()
    assert_no_axe_violations(page)
    page.fill("#change_note", "Erste Fassung")
    _click(page, "Jetzt veröffentlichen")
    assert "Version 1 ist veröffentlicht" in page.content()
    assert "Erste Fassung" in page.content()
    assert_no_axe_violations(page)

    _click(page, "Abmelden")
    citizen = CitizenFactory()
    browser_login(page, citizen)
    slug = _db.session.scalar(select(Service.slug).where(Service.title_de == "Baumfällgenehmigung"))
    page.goto(f"/antrag/{slug}/starten")
    page.get_by_role("button", name="Antrag starten").click()
    page.wait_for_load_state()
    page.get_by_label("Vor- und Nachname").fill("Erika Mustermann")
    page.get_by_label("Gewerblich").check()
    page.get_by_label("Name der Firma").fill("Mustermann Baumpflege GmbH")
    _click(page, "Weiter")
    page.get_by_label("Ich versichere, dass meine Angaben vollständig und richtig sind.").check()
    page.get_by_role("button", name="Antrag verbindlich absenden").click()
    page.wait_for_load_state()
    assert "/bestaetigung" in page.url
    _db.session.expire_all()
    req = _db.session.scalar(select(ServiceRequest))
    assert req.answers == {
        "name": "Erika Mustermann",
        "art": "gewerblich",
        "firma": "Mustermann Baumpflege GmbH",
    }


def test_admin_config_pages_have_no_axe_violations(page, browser_login, assert_no_axe_violations):
    from services import admin_services

    dept = DepartmentFactory(name_de="Ordnungsamt", slug="ordnungsamt")
    DepartmentFactory(name_de="Bezirksamt Nord", slug="bezirksamt-nord")
    shared = published_workflow("standard", key="genehmigung-standard").definition
    from tests.factories import ServiceFactory

    service = ServiceFactory(department=dept, title_de="Sondernutzung")
    admin_services.ensure_definition(service)
    admin = clerk_of(dept, MembershipRole.ADMIN)
    clerk_of(dept)
    browser_login(page, admin)
    base = f"/verwaltung/leistungen/{service.id}"

    for path in (
        "",
        "/bearbeiten",
        "/formular/einstellungen",
        "/formular/seiten/angaben",
        "/formular/felder/name",
        "/formular/import",
        "/formular/szenarien",
        "/formular/versionen",
        "/zustaendigkeit",
        "/zustaendigkeit/regeln/neu",
        "/ablauf",
        "/bescheide",
        "/bescheide/receipt",
    ):
        page.goto(base + path)
        assert page.locator("h1").count() == 1, path
        assert_no_axe_violations(page)
    for path in ("mitarbeitende", "aenderungen"):
        page.goto(f"/verwaltung/aemter/{dept.id}/{path}")
        assert_no_axe_violations(page)

    page.goto(base + "/zustaendigkeit/regeln/neu")
    _click(page, "Regel mit dem Baukasten speichern")  # no department, no condition
    assert page.title().startswith("Fehler:")
    assert_no_axe_violations(page)
    page.goto(base + "/zustaendigkeit")
    page.fill("#answers", "{nope")
    _click(page, "Prüfen")
    assert page.title().startswith("Fehler:")
    assert_no_axe_violations(page)
    page.goto(base + "/ablauf")
    page.fill("#name", "Unser Ablauf")
    page.select_option("#copy-workflow", str(shared.id))
    _click(page, "Kopie anlegen")
    assert "Ablauf „Unser Ablauf“ bearbeiten" in page.content()
    assert_no_axe_violations(page)
