"""Department self-service: services, staff, configuration log; access matrix for /verwaltung."""

import re

import pytest

from extensions import db
from models import ConfigChange, MembershipRole, Service
from tests.factories import CitizenFactory, DepartmentFactory, ServiceFactory, StaffFactory, clerk_of


@pytest.fixture
def dept():
    return DepartmentFactory()


@pytest.fixture
def admin(dept):
    return clerk_of(dept, MembershipRole.ADMIN)


def _service_data(**overrides):
    data = {
        "title_de": "Baumfällgenehmigung",
        "title_en": "Tree felling permit",
        "summary_de": "",
        "summary_en": "",
        "description_de": "",
        "description_en": "",
        "leika_key": "99050012104000",
        "fee": "30,70",
        "processing_days": "21",
        "retention_years": "10",
        "login_required": "y",
        "active": "y",
    }
    data.update(overrides)
    return data


def test_admin_index_lists_only_own_departments_services(client, login_as, dept, admin):
    own = ServiceFactory(department=dept, title_de="Eigene Leistung")
    ServiceFactory(title_de="Fremde Leistung")
    login_as(admin)
    html = client.get("/verwaltung/").get_data(as_text=True)
    assert own.title_de in html
    assert "Fremde Leistung" not in html


def test_admin_new_service_starts_inactive_until_the_city_switches_it_on(client, login_as, dept, admin):
    """Not in the catalogue before its form exists: the box "aktiv" starts unticked."""
    login_as(admin)
    html = client.get(f"/verwaltung/aemter/{dept.id}/leistungen/neu").get_data(as_text=True)
    checkbox = re.search(r'<input[^>]*name="active"[^>]*>', html).group(0)
    assert "checked" not in checkbox
    data = _service_data()
    data.pop("active")  # as the browser posts the untouched form
    resp = client.post(f"/verwaltung/aemter/{dept.id}/leistungen/neu", data=data)
    assert resp.status_code == 303
    assert "sobald Sie sie aktivieren" in client.get(resp.headers["Location"]).get_data(as_text=True)
    service = db.session.query(Service).filter_by(title_de="Baumfällgenehmigung").one()
    assert service.active is False
    assert "Baumfällgenehmigung" not in client.get("/leistungen").get_data(as_text=True)


def test_admin_service_create_validates_leika_and_logs_change(client, login_as, dept, admin):
    login_as(admin)
    resp = client.post(f"/verwaltung/aemter/{dept.id}/leistungen/neu", data=_service_data(leika_key="123"))
    assert resp.status_code == 400
    assert "genau 14 Ziffern" in resp.get_data(as_text=True)
    resp = client.post(f"/verwaltung/aemter/{dept.id}/leistungen/neu", data=_service_data())
    assert resp.status_code == 303
    service = db.session.query(Service).filter_by(title_de="Baumfällgenehmigung").one()
    assert (service.fee_cents, service.processing_days, service.leika_key) == (3070, 21, "99050012104000")
    assert service.topic == "allgemein"
    assert service.form_definition is not None
    change = db.session.query(ConfigChange).filter_by(object_type="service").one()
    assert change.actor_id == admin.id and change.department_id == dept.id


def test_admin_service_overview_formats_the_fee_for_the_locale(client, login_as, dept, admin):
    from flask_babel import refresh

    service = ServiceFactory(department=dept, fee_cents=3070)
    login_as(admin)
    html = client.get(f"/verwaltung/leistungen/{service.id}").get_data(as_text=True)
    assert "30,70\xa0€" in html and "30.7 €" not in html
    refresh()  # the test's app context outlives the request: forget its German locale
    assert "€30.70" in client.get(f"/verwaltung/leistungen/{service.id}?lang=en").get_data(as_text=True)


def test_admin_change_log_is_shown_in_the_readers_language(client, login_as, dept, admin):
    from flask_babel import refresh

    from services.config_log import record_change

    login_as(admin)
    client.post(f"/verwaltung/aemter/{dept.id}/leistungen/neu", data=_service_data())
    record_change(dept, admin, "form", "baumfaellgenehmigung", "edit", "Alter Eintrag ohne Textschlüssel")
    db.session.commit()
    url = f"/verwaltung/aemter/{dept.id}/aenderungen"
    html = client.get(url).get_data(as_text=True)
    assert "Leistung „Baumfällgenehmigung“ angelegt" in html
    assert "Leistung: Baumfällgenehmigung" in html and "service baumfaellgenehmigung" not in html
    assert "Formular: Baumfällgenehmigung" in html and "Alter Eintrag ohne Textschlüssel" in html
    refresh()  # the test's app context outlives the request: forget its German locale
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert "Service “Tree felling permit” created" in html and "Service: Tree felling permit" in html
    assert "Form: Tree felling permit" in html and "Alter Eintrag ohne Textschlüssel" in html


def test_admin_service_edit_changes_fields(client, login_as, dept, admin):
    service = ServiceFactory(department=dept)
    login_as(admin)
    resp = client.post(
        f"/verwaltung/leistungen/{service.id}/bearbeiten",
        data=_service_data(title_de="Neu", fee="0", active=""),
    )
    assert resp.status_code == 303
    db.session.refresh(service)
    assert (service.title_de, service.fee_cents, service.active, service.topic) == (
        "Neu",
        0,
        False,
        "mobilitaet",
    )


@pytest.mark.parametrize("who", ["other_admin", "clerk", "citizen"])
def test_admin_pages_are_404_for_others(client, login_as, dept, who):
    service = ServiceFactory(department=dept)
    user = {
        "other_admin": lambda: clerk_of(DepartmentFactory(), MembershipRole.ADMIN),
        "clerk": lambda: clerk_of(dept),
        "citizen": CitizenFactory,
    }[who]()
    login_as(user)
    for url in (
        f"/verwaltung/leistungen/{service.id}",
        f"/verwaltung/leistungen/{service.id}/bearbeiten",
        f"/verwaltung/aemter/{dept.id}/mitarbeitende",
        f"/verwaltung/aemter/{dept.id}/aenderungen",
    ):
        assert client.get(url).status_code == 404, url
    if who != "other_admin":
        assert client.get("/verwaltung/").status_code == 404


def test_admin_anonymous_goes_to_login(client, dept):
    resp = client.get("/verwaltung/")
    assert resp.status_code in (302, 401)


def test_admin_platform_admin_sees_every_department(client, login_as, dept):
    service = ServiceFactory(department=dept)
    platform = StaffFactory(is_platform_admin=True)
    login_as(platform)
    assert client.get(f"/verwaltung/leistungen/{service.id}").status_code == 200


def test_admin_staff_add_role_remove(client, login_as, dept, admin):
    person = StaffFactory(full_name="Max Sachbearbeiter")
    login_as(admin)
    resp = client.post(
        f"/verwaltung/aemter/{dept.id}/mitarbeitende", data={"email": "niemand@duisburg.de", "role": "clerk"}
    )
    assert resp.status_code == 400 and "kein Mitarbeitendenkonto" in resp.get_data(as_text=True)
    resp = client.post(f"/verwaltung/aemter/{dept.id}/mitarbeitende", data={"email": "", "role": "clerk"})
    html = resp.get_data(as_text=True)
    assert "Bitte geben Sie die E-Mail-Adresse der Person ein." in html and "Ihre E-Mail-Adresse" not in html
    resp = client.post(
        f"/verwaltung/aemter/{dept.id}/mitarbeitende", data={"email": person.email, "role": "clerk"}
    )
    assert resp.status_code == 303
    membership = next(m for m in person.memberships if m.department_id == dept.id)
    assert membership.role == "clerk"
    client.post(
        f"/verwaltung/aemter/{dept.id}/mitarbeitende/{membership.id}/rolle",
        data={f"m{membership.id}-role": "admin"},
    )
    db.session.refresh(membership)
    assert membership.role == "admin"
    client.post(f"/verwaltung/aemter/{dept.id}/mitarbeitende/{membership.id}/entfernen")
    db.session.expire_all()
    assert dept.id not in person.department_ids()
    log = client.get(f"/verwaltung/aemter/{dept.id}/aenderungen").get_data(as_text=True)
    assert "Max Sachbearbeiter aus dem Amt entfernt" in log
    assert "Max Sachbearbeiter gehört zum Amt (Rolle: Amtsadministration)" in log


def test_admin_cannot_demote_or_remove_themselves_as_last_admin(client, login_as, dept, admin):
    login_as(admin)
    [own] = admin.memberships
    base = f"/verwaltung/aemter/{dept.id}/mitarbeitende"
    for path, data in ((f"/{own.id}/rolle", {f"m{own.id}-role": "clerk"}), (f"/{own.id}/entfernen", {})):
        resp = client.post(base + path, data=data, follow_redirects=True)
        assert resp.status_code == 200 and "mindestens eine Person" in resp.get_data(as_text=True), path
    db.session.expire_all()
    assert own.role == "admin" and dept.id in admin.department_ids()
    clerk_of(dept, MembershipRole.ADMIN)  # with a second admin, stepping down is fine and lands on a page
    resp = client.post(base + f"/{own.id}/rolle", data={f"m{own.id}-role": "clerk"}, follow_redirects=True)
    assert resp.status_code == 200 and "Die Rolle ist gespeichert" in resp.get_data(as_text=True)


@pytest.mark.parametrize("value", ["0", "31", "zehn", ""])
def test_admin_service_retention_years_must_be_1_to_30(client, login_as, dept, admin, value):
    service = ServiceFactory(department=dept, retention_years=10)
    login_as(admin)
    resp = client.post(
        f"/verwaltung/leistungen/{service.id}/bearbeiten", data=_service_data(retention_years=value)
    )
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "Fehler: " in html and "Aufbewahrungsfrist" in html
    assert ("zwischen 1 und 30 Jahren" in html) or ("Bitte geben Sie die Aufbewahrungsfrist" in html)
    db.session.expire_all()
    assert service.retention_years == 10


def test_admin_service_retention_years_saved_logged_and_shown(client, login_as, dept, admin):
    service = ServiceFactory(department=dept, retention_years=10)
    login_as(admin)
    form = client.get(f"/verwaltung/leistungen/{service.id}/bearbeiten").get_data(as_text=True)
    assert re.search(r'name="retention_years"[^>]*value="10"', form)
    assert "endgültig gelöscht" in form  # the hint says what the period does
    resp = client.post(
        f"/verwaltung/leistungen/{service.id}/bearbeiten", data=_service_data(retention_years="6")
    )
    assert resp.status_code == 303
    db.session.expire_all()
    assert service.retention_years == 6
    change = db.session.query(ConfigChange).filter_by(object_type="service", action="update").one()
    assert change.details["changed"]["retention_years"] == [10, 6]
    page = client.get(f"/verwaltung/leistungen/{service.id}").get_data(as_text=True)
    assert "Aufbewahrungsfrist" in page and "6 Jahre nach Abschluss, danach wird der Antrag gelöscht" in page


def test_admin_service_retention_years_checked_by_the_service_too(db, dept, admin):
    from services.admin_services import update_service
    from services.errors import ValidationFailed

    service = ServiceFactory(department=dept)
    data = {"title_de": service.title_de, "retention_years": 0}
    with pytest.raises(ValidationFailed) as caught:
        update_service(service, data, admin)
    assert caught.value.details["field"] == "retention_years"
