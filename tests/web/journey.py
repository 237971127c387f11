"""Helpers and fixtures for the citizen-journey web tests (seeded demo data, a logged-in citizen)."""

import io
import re

import pytest

from forms.dynamic import page_item_counts, visible_pages
from forms.dynamic.builder import answers_to_formdata
from services.seed import seed_demo
from tests.factories import CitizenFactory

SEEDED_SERVICES = [
    "bewohnerparkausweis",
    "hundesteuer-anmeldung",
    "gewerbeanmeldung",
    "sondernutzungserlaubnis",
    "meldebescheinigung",
]
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")  # header + IHDR


@pytest.fixture
def seeded(db):
    """The demo catalog with its published forms and workflows."""
    seed_demo()
    db.session.commit()


@pytest.fixture
def seeded_citizen(seeded, db, login_as):
    """A confirmed citizen, logged in through the real login form."""
    user = CitizenFactory(full_name="Erika Mustermann")
    db.session.commit()
    return login_as(user)


def start_draft(client, slug) -> str:
    """Start a draft through the start page; returns its public id."""
    resp = client.post(f"/antrag/{slug}/starten")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    match = re.search(r"/antrag/([0-9a-f]{32})/", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return match.group(1)


def page_formdata(page, answers, files=None) -> dict:
    """What a browser posts on `page` to give `answers` (+ {field_key: [(bytes, name)]} uploads)."""
    data = answers_to_formdata(page, answers, page_item_counts(page, answers))
    form = {key: data.getlist(key) for key in data}
    for field in page.fields:
        for content, name in (files or {}).get(field.key, ()):
            form.setdefault(field.key, [])
            form[field.key] = [v for v in form[field.key] if v] + [(io.BytesIO(content), name)]
    form["weiter"] = "1"
    return form


def fill_all_pages(client, draft_id, spec, answers, files=None):
    """Post every page the answers make visible, in order; returns the last redirect target."""
    location = None
    for page in visible_pages(spec, answers):
        resp = client.post(
            f"/antrag/{draft_id}/{page.key}",
            data=page_formdata(page, answers, files),
            content_type="multipart/form-data",
        )
        assert resp.status_code == 302, (page.key, _errors(resp))
        location = resp.headers["Location"]
    return location


def _errors(resp) -> list[str]:
    return re.findall(r'<a class="kern-link" href="#[^"]*">([^<]*)</a>', resp.get_data(as_text=True))


# A small form that exercises every journey feature: a page condition, a repeating group, a file.
TEST_FORM = {
    "schema_version": 1,
    "title": {"de": "Testantrag", "en": "Test application"},
    "pages": [
        {
            "key": "person",
            "title": {"de": "Angaben zur Person", "en": "About you"},
            "fields": [
                {
                    "key": "vorname",
                    "type": "text",
                    "label": {"de": "Vorname", "en": "First name"},
                    "required": True,
                    "privacy": "personal",
                },
                {
                    "key": "nachname",
                    "type": "text",
                    "label": {"de": "Nachname", "en": "Last name"},
                    "required": True,
                    "privacy": "personal",
                },
                {
                    "key": "firmenwagen",
                    "type": "yesno",
                    "required": True,
                    "privacy": "public",
                    "label": {"de": "Ist es ein Firmenwagen?", "en": "Company car?"},
                },
            ],
        },
        {
            "key": "firma",
            "title": {"de": "Arbeitgeber", "en": "Employer"},
            "condition": {"==": [{"var": "firmenwagen"}, True]},
            "fields": [
                {
                    "key": "firma_name",
                    "type": "text",
                    "label": {"de": "Name des Arbeitgebers", "en": "Employer"},
                    "required": True,
                    "privacy": "personal",
                },
            ],
        },
        {
            "key": "hunde",
            "title": {"de": "Ihre Hunde", "en": "Your dogs"},
            "fields": [
                {
                    "key": "hunde",
                    "type": "group",
                    "label": {"de": "Hund", "en": "Dog"},
                    "required": True,
                    "privacy": "personal",
                    "min_items": 1,
                    "max_items": 3,
                    "fields": [
                        {
                            "key": "hundename",
                            "type": "text",
                            "label": {"de": "Name des Hundes", "en": "Dog's name"},
                            "required": True,
                            "privacy": "personal",
                        },
                        {
                            "key": "rasse",
                            "type": "text",
                            "label": {"de": "Rasse", "en": "Breed"},
                            "required": True,
                            "privacy": "public",
                        },
                    ],
                },
            ],
        },
        {
            "key": "nachweis",
            "title": {"de": "Nachweis", "en": "Proof"},
            "fields": [
                {
                    "key": "dokument",
                    "type": "file",
                    "label": {"de": "Nachweis (PDF)", "en": "Proof (PDF)"},
                    "required": True,
                    "privacy": "personal",
                    "accept": ["application/pdf"],
                    "max_size_mb": 1,
                },
            ],
        },
    ],
    "computed": {"fee_cents": {"*": [{"var": "_count.hunde"}, 1000]}},
}
TEST_ANSWERS = {
    "vorname": "Erika",
    "nachname": "Mustermann",
    "firmenwagen": True,
    "firma_name": "Stadtwerke Duisburg",
    "hunde": [{"hundename": "Bello", "rasse": "Dackel"}, {"hundename": "Luna", "rasse": "Pudel"}],
}


@pytest.fixture
def test_service(db):
    """A service with TEST_FORM published and the default workflow."""
    from models import FormDefinition
    from services.formdefs import publish_form
    from services.seed import SeedReport
    from services.seed.workflows import seed_workflows
    from tests.factories import ServiceFactory

    service = ServiceFactory(slug="testantrag", title_de="Testantrag", fee_cents=0)
    definition = FormDefinition(service_id=service.id, draft=TEST_FORM)
    db.session.add(definition)
    db.session.flush()
    publish_form(definition, None)
    seed_workflows(SeedReport())
    db.session.commit()
    return service


def _in_days(days: int) -> str:
    from datetime import date, timedelta

    return (date.today() + timedelta(days=days)).isoformat()


DUISBURG = {"street": "Sonnenwall", "number": "73", "postcode": "47051", "city": "Duisburg"}
PERSON = {
    "vorname": "Erika",
    "nachname": "Mustermann",
    "geburtsdatum": "1984-03-12",
    "email": "erika@example.org",
    "telefon": "0203 2830",
}

# Complete answers per seeded service, choosing the branches that make conditional fields appear;
# files per file field; the fee the form computes for them.
SEEDED_JOURNEYS = {
    "bewohnerparkausweis": (
        {
            **PERSON,
            "meldeadresse": DUISBURG,
            "wohnsitz": "haupt",
            "bewohnerparkgebiet": "d1",
            "kennzeichen": "DU-AB 1234",
            "fahrzeugart": "pkw",
            "halter_ist_antragsteller": False,
            "halter_name": "Max Mustermann",
            "firmenwagen": True,
            "gueltigkeit": "24",
        },
        {
            "fahrzeugschein": [(PDF, "fahrzeugschein.pdf")],
            "arbeitgeberbestaetigung": [(PNG, "bestaetigung.png")],
        },
        6140,
    ),
    "gewerbeanmeldung": (
        {
            **PERSON,
            "geburtsort": "Duisburg",
            "staatsangehoerigkeit": "andere",
            "wohnanschrift": DUISBURG,
            "rechtsform": "gmbh",
            "betriebsname": "Mustermann Bäckerei GmbH",
            "registergericht": "Amtsgericht Duisburg",
            "beschaeftigte_vollzeit": 3,
            "beschaeftigte_teilzeit": 2,
            "taetigkeit": "Herstellung und Verkauf von Backwaren",
            "art": ["handwerk", "handel"],
            "nebenerwerb": False,
            "betriebsstaette": DUISBURG,
            "art_betriebsstaette": "haupt",
            "beginn": _in_days(30),
            "grund": "neu",
            "erlaubnispflichtig": True,
            "handwerksrolle": True,
        },
        {"aufenthaltstitel": [(PDF, "aufenthaltstitel.pdf")], "erlaubnis": [(PDF, "erlaubnis.pdf")]},
        2600,
    ),
    "hundesteuer-anmeldung": (
        {
            **PERSON,
            "anschrift": DUISBURG,
            "hunde": [
                {
                    "name": "Bello",
                    "rasse": "Dackel",
                    "wurfdatum": "2020-04-01",
                    "haltungsbeginn": "2021-01-01",
                    "chipnummer": "276098106543210",
                    "gefaehrlich": False,
                },
                {
                    "name": "Rex",
                    "rasse": "Pitbull-Terrier",
                    "wurfdatum": "2019-05-05",
                    "haltungsbeginn": "2022-02-02",
                    "gefaehrlich": True,
                    "erlaubnis_aktenzeichen": "32-2024-17",
                    "sachkunde": True,
                },
            ],
            "lastschrift": True,
            "kontoinhaber": "Erika Mustermann",
            "iban": "DE89370400440532013000",
        },
        {},
        0,
    ),
    "meldebescheinigung": (
        {**PERSON, "anschrift": DUISBURG, "art": "erweitert", "zweck": "arbeitgeber", "anzahl": 2},
        {},
        2000,
    ),
    "sondernutzungserlaubnis": (
        {
            "ort": DUISBURG,
            "ort_beschreibung": "Gehweg vor dem Haus, 3 m breit",
            "flaeche": "12.50",
            "zweck": "sonstiges",
            "zweck_sonstiges": "Flohmarktstand",
            "von": _in_days(10),
            "bis": _in_days(12),
            "firma": "",
            "vorname": "Erika",
            "nachname": "Mustermann",
            "anschrift": DUISBURG,
            "email": "erika@example.org",
            "telefon": "0203 2830",
        },
        {"skizze": [(PDF, "skizze.pdf")]},
        5000,
    ),
}
