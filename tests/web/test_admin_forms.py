"""Form designer, preview, scenarios, publish/versions/diff and JSON import/export (web)."""

import io
import json

import pytest

from extensions import db
from models import Draft, FormScenario, FormVersion, MembershipRole, ServiceRequest
from services import admin_services, designer
from tests.factories import DepartmentFactory, ServiceFactory, clerk_of


@pytest.fixture
def dept():
    return DepartmentFactory(slug="strassenverkehrsamt")


@pytest.fixture
def service(dept):
    service = ServiceFactory(department=dept, fee_cents=0)
    admin_services.ensure_definition(service)
    return service


@pytest.fixture
def admin(client, login_as, dept):
    return login_as(clerk_of(dept, MembershipRole.ADMIN))


def base(service):
    return f"/verwaltung/leistungen/{service.id}/formular"


def field_data(**kw):
    data = {"key": "", "type": "text", "label_de": "", "label_en": "", "privacy": "personal", "required": "y"}
    data.update(kw)
    for name in [k[:-3] for k in data if k.endswith("_de")]:  # publishing needs the English texts
        data[f"{name}_en"] = data.get(f"{name}_en") or data[f"{name}_de"]
    return data


def test_admin_designer_add_fields_condition_and_publish(client, service, admin):
    url = base(service)
    assert client.get(url + "/").status_code == 200
    resp = client.post(
        url + "/seiten/angaben/felder/neu",
        data=field_data(
            key="art",
            type="choice",
            label_de="Art",
            options="privat | Privat | Private\ngewerblich | Gewerblich | Commercial",
        ),
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    resp = client.post(url + "/seiten/angaben/felder/neu", data=field_data(key="firma", label_de="Firma"))
    assert resp.status_code == 303
    resp = client.post(
        url + "/feld/firma/bedingung",
        data={
            "modus": "baukasten",
            "combinator": "and",
            "field_0": "art",
            "op_0": "is",
            "value_0": "gewerblich",
        },
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    draft = service.form_definition.draft
    firma = next(f for f in draft["pages"][0]["fields"] if f["key"] == "firma")
    assert firma["condition"] == {"==": [{"var": "art"}, "gewerblich"]}
    html = client.get(url + "/feld/firma/bedingung").get_data(as_text=True)
    assert 'value="gewerblich"' in html
    resp = client.post(url + "/veroeffentlichen", data={"change_note": "Erste Fassung"})
    assert resp.status_code == 303
    version = db.session.query(FormVersion).one()
    assert version.number == 1 and version.change_note == "Erste Fassung"
    versions = client.get(url + "/versionen").get_data(as_text=True)
    assert "Erste Fassung" in versions


def test_admin_designer_invalid_field_is_saved_and_error_shown_at_field(client, service, admin):
    url = base(service)
    resp = client.post(
        url + "/seiten/angaben/felder/neu",
        data=field_data(key="anzahl", type="integer", label_de="Anzahl", min="zwei"),
    )
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "keine gültige Zahl" in html and 'href="#min"' in html
    keys = [f["key"] for f in service.form_definition.draft["pages"][0]["fields"]]
    assert "anzahl" in keys  # saved as draft even though invalid
    resp = client.post(url + "/veroeffentlichen", data={"change_note": "kaputt"})
    assert resp.status_code == 400
    assert db.session.query(FormVersion).count() == 0


def test_admin_designer_duplicate_key_refused(client, service, admin):
    resp = client.post(
        base(service) + "/seiten/angaben/felder/neu", data=field_data(key="name", label_de="X")
    )
    assert resp.status_code == 400
    assert "schon ein Feld" in resp.get_data(as_text=True)


def test_admin_designer_pages_move_and_delete(client, service, admin):
    url = base(service)
    client.post(url + "/seiten", data={"key": "zwei", "title_de": "Zwei", "title_en": ""})
    client.post(url + "/seiten/zwei/felder/neu", data=field_data(key="b", label_de="B"))
    client.post(url + "/seiten/zwei/aktion", data={"aktion": "hoch"})
    assert [p["key"] for p in service.form_definition.draft["pages"]] == ["zwei", "angaben"]
    client.post(url + "/felder/b/aktion", data={"aktion": "runter"})  # moves to the next page
    pages = service.form_definition.draft["pages"]
    assert pages[1]["fields"][0]["key"] == "b" and pages[0]["fields"] == []
    client.post(url + "/seiten/zwei/aktion", data={"aktion": "loeschen"})
    assert [p["key"] for p in service.form_definition.draft["pages"]] == ["angaben"]


def test_admin_preview_never_creates_drafts_or_requests(client, service, admin):
    url = base(service)
    resp = client.get(url + "/vorschau")
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Vorschau des Entwurfs" in html and "Vor- und Nachname" in html
    resp = client.post(url + "/vorschau/seite/angaben", data={"name": ""})
    assert resp.status_code == 400
    resp = client.post(url + "/vorschau/seite/angaben", data={"name": "Erika Mustermann"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/vorschau/pruefen")
    review = client.get(url + "/vorschau/pruefen").get_data(as_text=True)
    assert "Erika Mustermann" in review
    resp = client.post(url + "/vorschau/pruefen", data={"name": "Standardfall"})
    assert resp.status_code == 303
    scenario = db.session.query(FormScenario).one()
    assert scenario.answers == {"name": "Erika Mustermann"}
    assert scenario.expected == {"pages": ["angaben"], "fee_cents": 0, "department": "strassenverkehrsamt"}
    assert db.session.query(Draft).count() == 0 and db.session.query(ServiceRequest).count() == 0


def test_admin_failing_scenario_blocks_publish(client, service, admin):
    url = base(service)
    resp = client.post(
        url + "/szenarien",
        data={
            "name": "Gebühr",
            "answers": '{"name": "A"}',
            "pages": "angaben",
            "fee_cents": "500",
            "department": "",
        },
    )
    assert resp.status_code == 303
    assert "fehlgeschlagen" in client.get(url + "/szenarien").get_data(as_text=True)
    designer_page = client.get(url + "/").get_data(as_text=True)
    assert "Szenarien: 0 von 1 bestanden." in designer_page and "Gebühr: erwartet 500 Cent" in designer_page
    resp = client.post(url + "/veroeffentlichen", data={"change_note": "x"})
    assert resp.status_code == 400
    assert "Szenario" in resp.get_data(as_text=True) and db.session.query(FormVersion).count() == 0
    resp = client.post(url + "/szenarien", data={"name": "kaputt", "answers": "{nope", "department": ""})
    assert resp.status_code == 400 and "kein gültiges JSON" in resp.get_data(as_text=True)


def test_admin_export_import_and_diff(client, service, admin):
    url = base(service)
    client.post(url + "/veroeffentlichen", data={"change_note": "v1"})
    exported = client.get(url + "/export?version=1")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    doc = json.loads(exported.data)
    doc["pages"][0]["fields"].append(
        {
            "key": "ort",
            "type": "text",
            "label": {"de": "Ort", "en": "Town"},
            "required": False,
            "privacy": "personal",
        }
    )
    resp = client.post(
        url + "/import",
        data={"file": (io.BytesIO(json.dumps(doc).encode()), "form.json")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303
    client.post(url + "/veroeffentlichen", data={"change_note": "Ort ergänzt"})
    diff = client.get(url + "/versionen/vergleich?von=1&bis=2").get_data(as_text=True)
    assert "Feld hinzugefügt" in diff and "ort" in diff
    resp = client.post(url + "/import", data={"text": '{"a": '})
    assert resp.status_code == 400 and "Zeile 1" in resp.get_data(as_text=True)


def test_admin_designer_404_for_other_department(client, login_as, service):
    login_as(clerk_of(DepartmentFactory(), MembershipRole.ADMIN))
    for path in (
        "/",
        "/vorschau",
        "/versionen",
        "/szenarien",
        "/export",
        "/import",
        "/felder/name",
        "/seite/angaben/bedingung",
    ):
        assert client.get(base(service) + path).status_code == 404, path


MALFORMED = [
    {},
    {"pages": "nope"},
    {"schema_version": 1, "title": "x", "pages": [{"key": 5, "title": [], "fields": "x"}]},
    {"schema_version": 1, "title": {"de": "A", "en": "A"}, "pages": [
        {"key": "a", "title": {"de": "A", "en": "A"}, "condition": {"bogus": 1}, "fields": [
            {"key": "f", "type": ["text"], "label": "x", "options": "y", "condition": [1, 2]},
            {"key": "g", "type": "group", "label": {"de": "G", "en": "G"}, "fields": [{"type": "text"}, 3]},
            7,
        ]},
    ], "computed": {"fee_cents": {"+": [1]}}},
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"pages": 5}', "$.pages: muss eine Liste sein."),
        ('{"pages": [{"key": "a", "fields": [{"key": "f"}, 7]}]}', "fields[1]: muss ein JSON-Objekt"),
        ('{"pages": [{"key": 5, "fields": []}]}', "$.pages[0].key: braucht einen Schlüssel"),
    ],
)
def test_admin_import_refuses_documents_the_designer_cannot_show(client, service, admin, text, expected):
    url = base(service)
    before = admin_services.ensure_definition(service).draft
    resp = client.post(url + "/import", data={"text": text})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Nicht importiert" in page and expected in page
    assert admin_services.ensure_definition(service).draft == before
    assert client.get(url + "/").status_code == 200


def test_admin_import_keeps_fixable_problems_for_the_designer(client, service, admin):
    doc = {"title": "x", "pages": [{"key": "a", "title": [], "fields": [{"key": "f", "type": ["text"]}]}]}
    resp = client.post(base(service) + "/import", data={"text": json.dumps(doc)})
    assert resp.status_code == 303 and admin_services.ensure_definition(service).draft == doc
    assert "Problem" in client.get(base(service) + "/").get_data(as_text=True)


STORED_ONLY = [  # refused by the import, but a stored draft like this must not break the designer
    {"pages": 5},
    {"pages": [None, {"key": None}, {"key": "a", "fields": 5}, {"key": "b", "fields": [{"key": []}]}]},
    {"title": 3, "computed": [1], "pages": [{"key": "a", "title": "A", "condition": 5, "fields": [
        {"key": "g", "type": "group", "label": 1, "fields": 5},
        {"key": "f", "type": {"x": 1}, "required": "ja", "fields": [{"key": "h"}]},
    ]}]},
]  # fmt: skip


@pytest.mark.parametrize("doc", MALFORMED + STORED_ONLY)
def test_admin_designer_survives_malformed_drafts(client, service, admin, doc):
    url = base(service)
    client.post(url + "/veroeffentlichen", data={"change_note": "v1"})
    admin_services.ensure_definition(service).draft = doc
    db.session.flush()
    for path in (
        "/",
        "/einstellungen",
        "/vorschau",
        "/veroeffentlichen",
        "/versionen",
        "/versionen/vergleich?von=1&bis=entwurf",
        "/szenarien",
        "/export",
        "/felder/f",
        "/felder/g",
        "/feld/f/bedingung",
        "/seite/a/bedingung",
        "/seiten/a",
    ):
        assert client.get(url + path).status_code in (200, 302, 400, 404), path
    assert client.post(url + "/veroeffentlichen", data={"change_note": "x"}).status_code == 400
    posts = [
        ("/felder/f", field_data(key="f", label_de="F")),
        ("/felder/f/aktion", {"aktion": "runter"}),
        ("/seiten/a/aktion", {"aktion": "hoch"}),
        ("/seiten", {"key": "neu", "title_de": "Neu"}),
        ("/feld/f/bedingung", {"modus": "json", "rule": "{}"}),
    ]
    for path, data in posts:
        assert client.post(url + path, data=data).status_code in (200, 303, 400, 404), path


def test_admin_preview_upload_is_described_not_stored(client, service, admin):
    from models import Attachment

    url = base(service)
    resp = client.post(
        url + "/seiten/angaben/felder/neu",
        data=field_data(key="nachweis", type="file", label_de="Nachweis", accept="application/pdf"),
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    resp = client.post(
        url + "/vorschau/seite/angaben",
        data={"name": "Erika", "nachweis": (io.BytesIO(pdf), "nachweis.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    review = client.get(url + "/vorschau/pruefen").get_data(as_text=True)
    assert "nachweis.pdf" in review
    assert db.session.query(Attachment).count() == 0
    resp = client.post(
        url + "/vorschau/seite/angaben",
        data={"name": "Erika", "nachweis": (io.BytesIO(b"just text"), "nachweis.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400  # the same type check as for citizens


def test_admin_field_type_switch_shows_new_settings_without_saving(client, service, admin):
    url = base(service)
    before = json.dumps(service.form_definition.draft, sort_keys=True)
    resp = client.post(
        url + "/felder/name", data=field_data(key="name", label_de="Name", type="choice", typ_wechseln="1")
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'name="options"' in html and 'name="max_length"' not in html
    assert json.dumps(service.form_definition.draft, sort_keys=True) == before
    page = client.get(url + "/seiten/angaben/felder/neu?typ=file").get_data(as_text=True)
    assert 'value="application/pdf"' in page and 'name="max_files"' in page


def test_admin_group_children_are_edited_in_the_designer(client, service, admin):
    url = base(service)
    resp = client.post(
        url + "/seiten/angaben/felder/neu",
        data=field_data(
            key="hunde", type="group", label_de="Hunde", min_items="1", max_items="3", item_label_de="Hund"
        ),
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)[-4000:]
    resp = client.post(
        url + "/seiten/angaben/felder/neu?gruppe=hunde", data=field_data(key="rasse", label_de="Rasse")
    )
    assert resp.status_code == 303
    group = service.form_definition.draft["pages"][0]["fields"][1]
    assert [c["key"] for c in group["fields"]] == ["rasse"] and group["max_items"] == 3
    html = client.get(url + "/").get_data(as_text=True)
    assert "in der Gruppe hunde" in html


@pytest.mark.parametrize("require_latest", [False, True])
def test_admin_publish_keeps_draft_versions_unless_latest_required(
    client, login_as, dept, service, require_latest
):
    from tests.factories import CitizenFactory, published_workflow

    published_workflow("standard", key="genehmigung-standard")
    service.fee_cents = 0
    admin_user = clerk_of(dept, MembershipRole.ADMIN)
    citizen = CitizenFactory()
    url = base(service)
    login_as(admin_user)
    assert client.post(url + "/veroeffentlichen", data={"change_note": "v1"}).status_code == 303
    client.post("/abmelden")
    login_as(citizen)
    resp = client.post(f"/antrag/{service.slug}/starten")
    draft_id = resp.headers["Location"].split("/")[2]
    client.post(f"/antrag/{draft_id}/angaben", data={"name": "Erika", "weiter": "1"})
    client.post("/abmelden")
    login_as(admin_user)
    client.post(url + "/seiten/angaben/felder/neu", data=field_data(key="ort", label_de="Ort", required=""))
    client.post(
        url + "/einstellungen",
        data={
            "title_de": "Antrag",
            "title_en": "Application",
            "fee_rule": "",
            **({"require_latest": "y"} if require_latest else {}),
        },
    )
    assert client.post(url + "/veroeffentlichen", data={"change_note": "v2"}).status_code == 303
    client.post("/abmelden")
    login_as(citizen)
    resp = client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y"})
    requests = db.session.query(ServiceRequest).all()
    if require_latest:
        assert not requests and "/pruefen" not in resp.headers["Location"]  # sent back to the form
        assert db.session.query(Draft).one().form_version.number == 2
    else:
        assert "/bestaetigung" in resp.headers["Location"]
        assert [r.form_version.number for r in requests] == [1]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/import", {"text": '{"a":' * 5000}),
        ("/seite/angaben/bedingung", {"modus": "json", "rule": "[" * 5000}),
    ],
)
def test_admin_form_json_editors_refuse_deep_nesting(client, service, admin, path, data):
    before = admin_services.ensure_definition(service).draft
    resp = client.post(base(service) + path, data=data)
    assert resp.status_code == 400 and "zu tief verschachtelt" in resp.get_data(as_text=True)
    assert admin_services.ensure_definition(service).draft == before


def test_admin_field_renamed_with_problems_posts_to_its_new_key(client, service, admin):
    url = base(service)
    renamed = field_data(key="vorname", label_de="Vorname", min_length="x")
    resp = client.post(url + "/felder/name", data=renamed)
    assert resp.status_code == 400 and f'action="{url}/felder/vorname"' in resp.get_data(as_text=True)
    assert designer.find_field(admin_services.ensure_definition(service).draft, "vorname")  # kept as draft
    resp = client.post(url + "/felder/vorname", data=dict(renamed, min_length="2"))
    assert resp.status_code == 303
    draft = admin_services.ensure_definition(service).draft
    assert designer.find_field(draft, "vorname")[1]["min_length"] == 2
    assert designer.find_field(draft, "name") is None


def test_admin_new_field_with_problems_posts_to_its_edit_page(client, service, admin):
    url = base(service)
    new = field_data(key="ort", label_de="Ort", max_length="y")
    resp = client.post(url + "/seiten/angaben/felder/neu", data=new)
    assert resp.status_code == 400 and f'action="{url}/felder/ort"' in resp.get_data(as_text=True)
    resp = client.get(url + "/seiten/angaben/felder/neu?gruppe=g")
    assert f'action="{url}/seiten/angaben/felder/neu?gruppe=g"' in resp.get_data(as_text=True)


def test_field_form_offers_only_the_prefill_its_type_can_hold(client, service, admin):
    """An e-mail field offers the account's address only; a text field never the address."""
    for ftype, offered, absent in (("email", "account.email", "account.given_name"),
                                   ("text", "account.given_name", "account.email")):  # fmt: skip
        html = client.get(f"{base(service)}/seiten/angaben/felder/neu?typ={ftype}").get_data(as_text=True)
        assert f'value="{offered}"' in html and f'value="{absent}"' not in html


def test_publish_page_lists_each_problem_with_a_link_to_its_field(client, service, admin):
    url = base(service)
    data = {**field_data(key="abbau", label_de="Abbau am"), "label_en": ""}  # saved as a draft with a problem
    client.post(url + "/seiten/angaben/felder/neu", data=data)
    html = client.get(url + "/veroeffentlichen").get_data(as_text=True)
    assert f'href="{url}/#feld-abbau">Feld „abbau“</a> (<code>label.en</code>)' in html


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('"abc"', "Der Betrag „fee_cents“ muss eine Zahl in Cent ab 0 sein"),
        ("-500", "Der Betrag „fee_cents“ darf nicht negativ sein (-500 Cent)"),
        ('{"/": [1250, 0]}', "ergibt bei keiner Beispielantwort eine Zahl"),
    ],
)
def test_settings_refuse_a_fee_rule_that_would_make_the_service_free(client, service, admin, rule, message):
    url = base(service)
    data = {"title_de": "Antrag", "title_en": "Application", "fee_rule": rule}
    resp = client.post(url + "/einstellungen", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and message in html and 'href="#fee_rule"' in html
    draft = admin_services.ensure_definition(service).draft
    assert draft["computed"]["fee_cents"] == json.loads(rule)  # saved as typed: nothing is lost
    designer_html = client.get(url + "/").get_data(as_text=True)
    assert "Der Entwurf ist gültig." not in designer_html and message in designer_html
    assert client.post(url + "/veroeffentlichen", data={"change_note": "x"}).status_code == 400


def test_field_editor_shows_the_fields_own_problems_while_another_field_is_malformed(client, service, admin):
    """Another field's structural problem (max_length "abc") no longer hides this field's min > max:
    the editor stays on the field with the error at its input instead of saying "ist gespeichert"."""
    url = base(service)
    anzahl = field_data(key="anzahl", type="integer", label_de="Anzahl")
    client.post(url + "/seiten/angaben/felder/neu", data=anzahl)
    client.get(url + "/")  # shows (and so clears) the "ist gespeichert" message of the new field
    definition = admin_services.ensure_definition(service)
    draft = json.loads(json.dumps(definition.draft))
    draft["pages"][0]["fields"][0]["max_length"] = "abc"  # e.g. from an import
    definition.draft = draft
    db.session.flush()
    resp = client.post(url + "/felder/anzahl", data=dict(anzahl, min="5", max="1"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "ist gespeichert." not in html
    assert "Der Mindestwert darf nicht größer als der Höchstwert sein." in html and 'href="#min"' in html
    assert "hat aber noch Fehler" in html
    saved = designer.find_field(admin_services.ensure_definition(service).draft, "anzahl")[1]
    assert (saved["min"], saved["max"]) == (5, 1)  # saved as typed: nothing is lost
