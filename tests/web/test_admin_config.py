"""Routing rules editor + tester, workflow choice/copy/edit/publish, notice template editor (web)."""

import json
import subprocess

import pytest

from extensions import db
from models import (
    ConfigChange,
    MembershipRole,
    NoticeTemplate,
    RoutingRule,
    ServiceWorkflow,
    WorkflowDefinition,
)
from services import admin_services, designer
from tests.factories import DepartmentFactory, ServiceFactory, clerk_of, published_workflow

ADDRESS_FORM = {
    "schema_version": 1,
    "title": {"de": "Antrag", "en": "Application"},
    "pages": [{"key": "angaben", "title": {"de": "Angaben", "en": "Details"}, "fields": [
        {"key": "art", "type": "choice", "label": {"de": "Art", "en": "Kind"}, "required": True,
         "privacy": "public", "options": [
             {"value": "privat", "label": {"de": "Privat", "en": "Private"}},
             {"value": "gewerblich", "label": {"de": "Gewerblich", "en": "Business"}}]},
    ]}],
}  # fmt: skip


@pytest.fixture
def dept():
    return DepartmentFactory(slug="ordnungsamt")


@pytest.fixture
def north():
    return DepartmentFactory(slug="bezirksamt-nord", name_de="Bezirksamt Nord")


@pytest.fixture
def service(dept):
    service = ServiceFactory(department=dept)
    admin_services.ensure_definition(service).draft = ADDRESS_FORM
    return service


@pytest.fixture
def admin(client, login_as, dept):
    return login_as(clerk_of(dept, MembershipRole.ADMIN))


def url(service, path):
    return f"/verwaltung/leistungen/{service.id}{path}"


def test_admin_routing_rule_builder_and_tester(client, service, north, admin):
    resp = client.post(
        url(service, "/zustaendigkeit/regeln/neu"),
        data={
            "label": "Gewerbe nach Nord",
            "department": "bezirksamt-nord",
            "modus": "baukasten",
            "combinator": "and",
            "field_0": "art",
            "op_0": "is",
            "value_0": "gewerblich",
        },
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    rule = db.session.query(RoutingRule).one()
    assert rule.condition == {"==": [{"var": "art"}, "gewerblich"]} and rule.department_id == north.id
    page = client.get(url(service, "/zustaendigkeit")).get_data(as_text=True)
    assert "Gewerbe nach Nord" in page and "Nach oben" in page
    result = client.post(url(service, "/zustaendigkeit/test"), data={"answers": '{"art": "gewerblich"}'})
    assert "Zuständig: Bezirksamt Nord" in result.get_data(as_text=True)
    result = client.post(url(service, "/zustaendigkeit/test"), data={"answers": '{"art": "privat"}'})
    assert "keine Regel trifft zu" in result.get_data(as_text=True)
    bad = client.post(url(service, "/zustaendigkeit/test"), data={"answers": "[1"})
    assert bad.status_code == 400 and "kein gültiges JSON" in bad.get_data(as_text=True)
    assert db.session.query(ConfigChange).filter_by(object_type="routing").count() == 1


def test_admin_routing_rule_json_errors_and_order(client, service, north, dept, admin):
    resp = client.post(
        url(service, "/zustaendigkeit/regeln/neu"),
        data={"label": "x", "department": "bezirksamt-nord", "modus": "json", "rule": '{"nope": [1]}'},
    )
    assert resp.status_code == 400 and "Bedingung ist ungültig" in resp.get_data(as_text=True)
    for label, slug in (("eins", "bezirksamt-nord"), ("zwei", "ordnungsamt")):
        client.post(
            url(service, "/zustaendigkeit/regeln/neu"),
            data={
                "label": label,
                "department": slug,
                "modus": "json",
                "rule": '{"==": [{"var": "art"}, "privat"]}',
            },
        )
    rules = db.session.query(RoutingRule).order_by(RoutingRule.position).all()
    client.post(url(service, f"/zustaendigkeit/regeln/{rules[1].id}/aktion"), data={"aktion": "hoch"})
    db.session.expire_all()
    assert [r.label for r in db.session.query(RoutingRule).order_by(RoutingRule.position)] == ["zwei", "eins"]
    client.post(url(service, f"/zustaendigkeit/regeln/{rules[0].id}/aktion"), data={"aktion": "loeschen"})
    assert [r.label for r in db.session.query(RoutingRule)] == ["zwei"]


def test_admin_workflow_choose_copy_edit_publish(client, service, dept, admin):
    shared = published_workflow("standard", key="genehmigung-standard").definition
    resp = client.post(url(service, "/ablauf"), data={"modus": "waehlen", "workflow": shared.id})
    assert resp.status_code == 303
    assert db.session.get(ServiceWorkflow, service.id).workflow_id == shared.id
    resp = client.post(
        url(service, "/ablauf"), data={"modus": "kopieren", "workflow": shared.id, "name": "Unser Ablauf"}
    )
    assert resp.status_code == 303
    copy = db.session.query(WorkflowDefinition).filter_by(department_id=dept.id).one()
    edit_url = url(service, f"/ablauf/{copy.id}")
    form = {
        "name": "Unser Ablauf",
        "due_soon_days": "3",
        "document": json.dumps(copy.draft, ensure_ascii=False, indent=2),
    }
    for tr in copy.draft["transitions"]:
        form[f"roles-{tr['name']}"] = tr["roles"]
    form["four-genehmigen"] = "1"
    form["state-in_bearbeitung"] = "In Prüfung"
    resp = client.post(edit_url, data=form)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    db.session.refresh(copy)
    assert copy.draft["due_soon_days"] == 3 and copy.draft["approval_state"] == "zur_freigabe"
    assert (
        next(s for s in copy.draft["states"] if s["key"] == "in_bearbeitung")["label"]["de"] == "In Prüfung"
    )
    assert next(t for t in copy.draft["transitions"] if t["name"] == "genehmigen")["second_approver"] is True
    for name in ("zurueckziehen", "zurueckziehen_im_auftrag"):  # withdrawal stays possible meanwhile
        assert "zur_freigabe" in next(t for t in copy.draft["transitions"] if t["name"] == name)["from"]
    bad = client.post(edit_url, data={"name": "Unser Ablauf", "document": '{"states": ['})
    assert bad.status_code == 400 and "Zeile 1" in bad.get_data(as_text=True)
    broken = dict(copy.draft, transitions=[dict(copy.draft["transitions"][0], to="gibtsnicht")])
    resp = client.post(edit_url, data={"name": "Unser Ablauf", "document": json.dumps(broken)})
    assert resp.status_code == 400 and "gibtsnicht" in resp.get_data(as_text=True)
    resp = client.post(edit_url + "/veroeffentlichen", data={"change_note": "kaputt"})
    assert resp.status_code == 400 and copy.latest is None
    client.post(edit_url, data=form)  # valid again
    resp = client.post(edit_url + "/veroeffentlichen", data={"change_note": "Vier Augen"})
    assert resp.status_code == 303
    db.session.refresh(copy)
    assert copy.latest.number == 1
    assert "Vier Augen" in client.get(edit_url).get_data(as_text=True)


def test_admin_rule_and_workflow_problems_are_worded_for_admins(client, service, north, dept, admin):
    resp = client.post(
        url(service, "/zustaendigkeit/regeln/neu"),
        data={"label": "x", "department": "bezirksamt-nord", "modus": "json", "rule": '{"or": [{"foo": 1}]}'},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Unbekannter Operator „foo“." in html
    assert "unknown operator" not in html and ".or[0]" not in html
    copy = WorkflowDefinition(key="eigen", name="Eigen", draft={"transitions": []}, department_id=dept.id)
    db.session.add(copy)
    db.session.flush()
    document = dict(published_workflow("standard").definition.draft, states=[])
    data = {"name": "Eigen", "document": json.dumps(document)}
    resp = client.post(url(service, f"/ablauf/{copy.id}"), data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Zustände: Mindestens ein Eintrag ist nötig." in html
    assert "/states" not in html and "Einträge." not in html


def test_admin_workflow_decision_only_for_the_applicant_is_refused(client, service, admin):
    shared = published_workflow("standard", key="genehmigung-standard").definition
    client.post(url(service, "/ablauf"), data={"modus": "kopieren", "workflow": shared.id, "name": "Eigen"})
    copy = db.session.query(WorkflowDefinition).filter_by(name="Eigen").one()
    edit_url = url(service, f"/ablauf/{copy.id}")
    form = {"name": "Eigen", "due_soon_days": "2"}
    for tr in copy.draft["transitions"]:
        form[f"roles-{tr['name']}"] = ["citizen"] if tr["name"] == "genehmigen" else tr["roles"]
    resp = client.post(edit_url, data=form)
    assert resp.status_code == 400 and "entscheidet das Amt" in resp.get_data(as_text=True)
    resp = client.post(edit_url + "/veroeffentlichen", data={"change_note": "Bürger genehmigt"})
    assert resp.status_code == 400 and copy.latest is None


def test_admin_workflow_of_other_department_is_404(client, service, admin):
    other = WorkflowDefinition(key="fremd", name="Fremd", draft={}, department_id=DepartmentFactory().id)
    db.session.add(other)
    db.session.flush()
    assert client.get(url(service, f"/ablauf/{other.id}")).status_code == 404


def test_admin_notice_template_preview_and_publish(client, service, admin):
    page = client.get(url(service, "/bescheide/receipt"))
    assert page.status_code == 200 and "notice.reference" in page.get_data(as_text=True)
    html = "<h1>{{ notice.title }}</h1><p>{{ applicant.name }}</p>"
    resp = client.post(
        url(service, "/bescheide/receipt"), data={"html": html, "css": "", "modus": "vorschau"}
    )
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    broken = "<h1>{{ notice.title </h1>"
    resp = client.post(
        url(service, "/bescheide/receipt"),
        data={"html": broken, "css": "", "modus": "veroeffentlichen", "change_note": "kaputt"},
    )
    assert resp.status_code == 400 and "nicht veröffentlicht" in resp.get_data(as_text=True)
    template = db.session.query(NoticeTemplate).filter_by(service_id=service.id, kind="receipt").one()
    assert template.latest is None and template.draft_html == broken  # draft kept
    resp = client.post(
        url(service, "/bescheide/receipt"),
        data={"html": html, "css": "", "modus": "veroeffentlichen", "change_note": "Kürzer"},
    )
    assert resp.status_code == 303
    db.session.refresh(template)
    assert template.latest.number == 1 and template.latest.html == html
    assert "Kürzer" in client.get(url(service, "/bescheide/receipt")).get_data(as_text=True)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("{{ 1/0 }}", "Division durch null"),
        ("{% include 'approval.html' %}", "include/import"),
        ("{{ ''.__class__ }}", "__class__"),
        ("{{ range(3) }}", "range"),
    ],
)
def test_admin_notice_template_errors_are_shown_not_500(client, service, admin, html, expected):
    for mode in ("vorschau", "veroeffentlichen"):
        resp = client.post(
            url(service, "/bescheide/rejection"),
            data={"html": html, "css": "", "modus": mode, "change_note": "x"},
        )
        assert resp.status_code == 400 and expected in resp.get_data(as_text=True), mode
    template = db.session.query(NoticeTemplate).filter_by(service_id=service.id, kind="rejection").one()
    assert template.draft_html == html and template.latest is None


def test_admin_config_pages_404_for_other_admin(client, login_as, service):
    login_as(clerk_of(DepartmentFactory(), MembershipRole.ADMIN))
    for path in (
        "/zustaendigkeit",
        "/zustaendigkeit/regeln/neu",
        "/ablauf",
        "/bescheide",
        "/bescheide/receipt",
    ):
        assert client.get(url(service, path)).status_code == 404, path


@pytest.mark.parametrize(
    "document", ['{"transitions": "x", "states": 5}', "[1, 2]", '{"transitions": [1, {"name": 2}]}']
)
def test_admin_workflow_editor_survives_malformed_json(client, service, dept, admin, document):
    copy = WorkflowDefinition(key="eigen", name="Eigen", draft={"transitions": []}, department_id=dept.id)
    db.session.add(copy)
    db.session.flush()
    edit_url = url(service, f"/ablauf/{copy.id}")
    resp = client.post(edit_url, data={"name": "Eigen", "document": document})
    assert resp.status_code == 400
    assert client.get(edit_url).status_code == 200
    resp = client.post(edit_url, data={"name": "Eigen", "due_soon_days": "2", "four-x": "1"})
    assert resp.status_code in (303, 400)
    assert client.post(edit_url + "/veroeffentlichen", data={"change_note": "x"}).status_code == 400


def test_admin_workflow_json_refuses_deep_nesting(client, service, dept, admin):
    copy = WorkflowDefinition(key="eigen", name="Eigen", draft={"transitions": []}, department_id=dept.id)
    db.session.add(copy)
    db.session.flush()
    resp = client.post(url(service, f"/ablauf/{copy.id}"), data={"name": "Eigen", "document": '{"a":' * 5000})
    assert resp.status_code == 400 and "zu tief verschachtelt" in resp.get_data(as_text=True)
    assert copy.draft == {"transitions": []}


def test_admin_routing_rule_postcode_range(client, service, north, admin):
    doc = dict(ADDRESS_FORM)
    doc["pages"] = [
        dict(
            ADDRESS_FORM["pages"][0],
            fields=[
                *ADDRESS_FORM["pages"][0]["fields"],
                {
                    "key": "anschrift",
                    "type": "address",
                    "label": {"de": "Anschrift", "en": "Address"},
                    "required": True,
                },
            ],
        )
    ]
    service.form_definition.draft = doc
    data = {
        "label": "Nord",
        "department": "bezirksamt-nord",
        "modus": "baukasten",
        "combinator": "or",
        "field_0": "anschrift.postcode",
        "op_0": "between",
        "value_0": "47051 bis 47139",
    }
    bad = client.post(url(service, "/zustaendigkeit/regeln/neu"), data={**data, "value_0": "Nord"})
    assert bad.status_code == 400 and "z. B. 47051-47139" in bad.get_data(as_text=True)
    assert client.post(url(service, "/zustaendigkeit/regeln/neu"), data=data).status_code == 303
    rule = db.session.query(RoutingRule).one()
    assert rule.condition == {"<=": [47051, {"var": "anschrift.postcode"}, 47139]}
    result = client.post(
        url(service, "/zustaendigkeit/test"), data={"answers": '{"anschrift": {"postcode": "47057"}}'}
    )
    assert "Zuständig: Bezirksamt Nord" in result.get_data(as_text=True)
    edit = client.get(url(service, f"/zustaendigkeit/regeln/{rule.id}")).get_data(as_text=True)
    assert 'value="47051-47139"' in edit


PLZ_FORM = {
    "schema_version": 1,
    "title": {"de": "Antrag", "en": "Application"},
    "pages": [{"key": "angaben", "title": {"de": "Angaben", "en": "Details"}, "fields": [
        {"key": "plz", "type": "postcode", "label": {"de": "PLZ", "en": "Postcode"}, "required": True,
         "privacy": "public"},
        {"key": "name", "type": "text", "label": {"de": "Name", "en": "Name"}, "privacy": "personal"},
    ]}],
}  # fmt: skip


def _publish_plz_form(service, dept):
    definition = admin_services.ensure_definition(service)
    definition.draft = json.loads(json.dumps(PLZ_FORM))
    admin_services.publish_definition(definition, clerk_of(dept, MembershipRole.ADMIN), "v1")
    db.session.commit()
    return definition


def _plz_rule(client, service):
    return client.post(
        url(service, "/zustaendigkeit/regeln/neu"),
        data={"label": "Norden", "department": "bezirksamt-nord", "modus": "baukasten", "combinator": "and",
              "field_0": "plz", "op_0": "between", "value_0": "47051-47139"},
    )  # fmt: skip


def test_admin_routing_rules_follow_a_field_renamed_in_the_designer(client, service, north, dept, admin):
    definition = _publish_plz_form(service, dept)
    assert _plz_rule(client, service).status_code == 303
    page = client.get(url(service, "/zustaendigkeit")).get_data(as_text=True)
    assert "Wenn" in page and "„plz“ im Bereich 47051-47139 liegt" in page and "Nur sichtbar" not in page
    field = designer.field_to_data(designer.find_field(definition.draft, "plz")[1])
    resp = client.post(url(service, "/formular/felder/plz"), data={**field, "key": "postleitzahl"})
    assert resp.status_code == 303
    rule = db.session.query(RoutingRule).one()
    assert rule.condition == {"<=": [47051, {"var": "plz"}, 47139]}  # the published form still asks "plz"
    page = client.get(url(service, "/zustaendigkeit")).get_data(as_text=True)
    assert "beim Veröffentlichen umgestellt" in page and "„plz“ → „postleitzahl“" in page
    publish_page = client.get(url(service, "/formular/veroeffentlichen")).get_data(as_text=True)
    assert "Norden: „plz“ → „postleitzahl“" in publish_page and "nie zu" not in publish_page
    resp = client.post(url(service, "/formular/veroeffentlichen"), data={"change_note": "PLZ umbenannt"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(RoutingRule, rule.id).condition == {"<=": [47051, {"var": "postleitzahl"}, 47139]}
    result = client.post(url(service, "/zustaendigkeit/test"), data={"answers": '{"postleitzahl": "47057"}'})
    assert "Zuständig: Bezirksamt Nord" in result.get_data(as_text=True)


def test_admin_routing_warns_about_rules_on_a_removed_field(client, service, north, dept, admin):
    _publish_plz_form(service, dept)
    assert _plz_rule(client, service).status_code == 303
    client.post(url(service, "/formular/felder/plz/aktion"), data={"aktion": "loeschen"})
    publish_page = client.get(url(service, "/formular/veroeffentlichen")).get_data(as_text=True)
    assert "Regel „Norden“: Feld „plz“ fehlt" in publish_page
    routing_page = client.get(url(service, "/zustaendigkeit")).get_data(as_text=True)
    assert "Das Formular hat kein Feld" not in routing_page  # the published form still has "plz"
    client.post(url(service, "/formular/veroeffentlichen"), data={"change_note": "PLZ entfernt"})
    page = client.get(url(service, "/zustaendigkeit")).get_data(as_text=True)
    assert "1 Regel bezieht sich auf ein Feld" in page and "Das Formular hat kein Feld „plz“" in page


def test_admin_routing_rule_on_an_unknown_field_is_refused(client, service, north, admin):
    resp = client.post(
        url(service, "/zustaendigkeit/regeln/neu"),
        data={"label": "x", "department": "bezirksamt-nord", "modus": "json",
              "rule": '{"==": [{"var": "gibtsnicht"}, "x"]}'},
    )  # fmt: skip
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "<title>Fehler: " in html
    assert "Die Bedingung bezieht sich auf „gibtsnicht“" in html
    assert db.session.query(RoutingRule).count() == 0


def test_admin_routing_builder_maps_labels_and_refuses_reversed_ranges(client, service, north, admin):
    data = {"label": "Gewerbe", "department": "bezirksamt-nord", "modus": "baukasten", "combinator": "and",
            "field_0": "art", "op_0": "is", "value_0": "Gewerblich"}  # fmt: skip
    assert client.post(url(service, "/zustaendigkeit/regeln/neu"), data=data).status_code == 303
    assert db.session.query(RoutingRule).one().condition == {"==": [{"var": "art"}, "gewerblich"]}
    for value, expected in (("Sonstiges", "Möglich sind: „privat“ (Privat)"), ("5-3", "verkehrt herum")):
        op = "between" if "-" in value else "is"
        resp = client.post(
            url(service, "/zustaendigkeit/regeln/neu"), data={**data, "op_0": op, "value_0": value}
        )
        assert resp.status_code == 400 and expected in resp.get_data(as_text=True), value
    assert db.session.query(RoutingRule).count() == 1


def test_publishing_the_form_of_an_inactive_service_says_how_it_goes_live(client, service, dept, admin):
    definition = admin_services.ensure_definition(service)
    definition.draft = json.loads(json.dumps(PLZ_FORM))
    service.active = False
    db.session.commit()
    resp = client.post(url(service, "/formular/veroeffentlichen"), data={"change_note": "Erste Fassung"})
    assert resp.status_code == 303, resp.get_data(as_text=True)[-2000:]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "ist veröffentlicht" in page and "noch nicht aktiv" in page
    definition.draft = {**definition.draft, "title": {"de": "Neu", "en": "New"}}
    service.active = True
    db.session.commit()
    resp = client.post(url(service, "/formular/veroeffentlichen"), data={"change_note": "Zweite Fassung"})
    assert resp.status_code == 303, resp.get_data(as_text=True)[-2000:]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "ist veröffentlicht" in page and "noch nicht aktiv" not in page


def test_a_services_notice_preview_shows_its_department_and_its_own_form(client, service, dept, admin,
                                                                         tmp_path):
    dept.address = "Sonnenwall 73\n47051 Duisburg"
    admin_services.publish_definition(admin_services.ensure_definition(service), None, "v1")
    db.session.commit()
    page = client.get(url(service, "/bescheide/rejection")).get_data(as_text=True)
    assert "Sonnenwall 73" in page  # the editor's variable list shows the service's own data
    html = (
        "<p>{{ department.name }} · {{ service.title }}</p>"
        "{% for row in relevant_answers %}<p>{{ row.label }}: {{ row.value }}</p>{% endfor %}"
    )
    data = {"html": html, "css": "", "modus": "vorschau"}
    resp = client.post(url(service, "/bescheide/rejection"), data=data)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    (tmp_path / "v.pdf").write_bytes(resp.data)
    text = subprocess.run(["pdftotext", str(tmp_path / "v.pdf"), "-"], capture_output=True, text=True).stdout
    assert dept.name("de") in text and service.title("de") in text
    assert "Art: Privat" in text  # a typical answer of this service's form, not the parking permit's
    assert "Kennzeichen" not in text


def test_the_routing_page_warns_about_a_rule_comparing_a_choice_with_its_label(client, service, north, admin):
    admin_services.publish_definition(admin_services.ensure_definition(service), None, "v1")
    db.session.add(RoutingRule(service_id=service.id, position=0, label="alt", department_id=north.id,
                               condition={"==": [{"var": "art"}, "Gewerblich"]}))  # saved before the check
    db.session.commit()
    page = client.get(url(service, "/zustaendigkeit")).get_data(as_text=True)
    assert "1 Regel vergleicht ein Auswahlfeld mit einem Wert" in page
    assert "Bedingungen vergleichen mit ihrem Wert „gewerblich“" in page
