"""Public pages through HTTP: start page, catalog search and grouping, service pages, legal pages, health."""

import fakeredis
import pytest
from sqlalchemy.exc import OperationalError

from extensions import db as _db
from extensions import limiter
from tests.factories import DepartmentFactory, ServiceFactory, form_version_for
from tests.support import IsolatedClient


@pytest.fixture
def client(app, db, monkeypatch):
    """One app context per request, as in production: the locale and `g` never leak between requests."""
    limiter.reset()
    monkeypatch.setattr(app, "test_client_class", IsolatedClient)
    return app.test_client()


@pytest.fixture
def city(db):
    svo = DepartmentFactory(
        slug="strassenverkehrsamt",
        name_de="Straßenverkehrsamt",
        name_en="Road Traffic Office",
        address="Schifferstraße 190\n47059 Duisburg",
        phone="0203 283-4550",
        email="sva@stadt-duisburg.de",
    )
    steuer = DepartmentFactory(slug="steueramt", name_de="Steueramt", name_en="Municipal Tax Office")
    park = ServiceFactory(
        slug="bewohnerparkausweis",
        department=svo,
        topic="mobilitaet",
        fee_cents=3070,
        processing_days=10,
        title_de="Bewohnerparkausweis",
        title_en="Residents' parking permit",
        summary_de="Parken ohne Parkschein.",
        summary_en="Park without a ticket.",
        description_de="Erster Absatz.\n\nZweiter Absatz.",
        description_en="First paragraph.",
        audience_de="Bewohnerinnen und Bewohner.",
        audience_en="Residents.",
        requirements_de="Kennzeichen\nFahrzeugschein",
        requirements_en="Registration number\nVehicle papers",
        leika_key="99000000000001",
    )
    dog = ServiceFactory(
        slug="hundesteuer-anmeldung",
        department=steuer,
        topic="tiere",
        fee_cents=0,
        title_de="Hundesteuer-Anmeldung",
        title_en="Dog tax registration",
        summary_de="Hund anmelden.",
    )
    hidden = ServiceFactory(slug="alt", title_de="Abgeschaffte Leistung", active=False)
    _db.session.commit()  # requests run in their own app context and session
    return {"park": park, "dog": dog, "hidden": hidden}


def _html(resp):
    return resp.get_data(as_text=True)


def test_index_lists_services_by_topic(client, city):
    html = _html(client.get("/"))
    assert "Mobilität und Verkehr" in html and "Tiere" in html
    assert 'href="/leistungen/bewohnerparkausweis"' in html
    assert "Abgeschaffte Leistung" not in html
    assert '<label class="kern-label" for="q">' in html


def test_catalog_search_finds_matching_services_only(client, city):
    html = _html(client.get("/leistungen", query_string={"q": "PARKSCHEIN"}))
    assert "1 Leistung gefunden" in html
    assert "Bewohnerparkausweis" in html and "Hundesteuer-Anmeldung" not in html
    assert 'value="PARKSCHEIN"' in html  # the query stays in the search box


def test_catalog_search_in_english_texts_and_leika_key(client, city):
    assert "Hundesteuer-Anmeldung" in _html(client.get("/leistungen?q=dog"))
    assert "Bewohnerparkausweis" in _html(client.get("/leistungen?q=99000000000001"))


def test_catalog_without_results_says_so(client, city):
    resp = client.get("/leistungen?q=raumschiff")
    assert resp.status_code == 200
    assert "Keine Leistung passt zu Ihrer Suche" in _html(resp)


def test_catalog_groups_by_department(client, city):
    html = _html(client.get("/leistungen?gruppierung=behoerde"))
    assert html.index('id="gruppe-steueramt"') < html.index('id="gruppe-strassenverkehrsamt"')  # by name
    assert 'id="gruppe-tiere"' not in html
    assert 'aria-current="page">Behörde<' in html


def test_catalog_bad_parameters_fall_back_instead_of_failing(client, city):
    resp = client.get("/leistungen", query_string={"gruppierung": "<script>", "q": "x" * 5000})
    assert resp.status_code == 200
    assert 'aria-current="page">Thema<' in _html(resp)
    assert "<script>" not in _html(resp)


@pytest.mark.parametrize("query", ["slug=x", "endpoint=x", "_method=POST", "_external=1", "_anchor=a"])
def test_query_keys_that_clash_with_url_building_do_not_break_the_page(client, city, query):
    """The language switch rebuilds the current URL with its query: hostile keys must not 500."""
    resp = client.get(f"/leistungen/bewohnerparkausweis?q=Park&{query}")
    assert resp.status_code == 200
    assert 'href="/leistungen/bewohnerparkausweis?q=Park&amp;lang=en"' in _html(resp)


def test_catalog_in_english(client, city):
    html = _html(client.get("/leistungen?lang=en"))
    assert "Residents&#39; parking permit" in html and "Mobility and transport" in html
    assert '<html lang="en">' in html


def test_service_page_shows_what_who_needs_fee_duration_contact(client, city):
    resp = client.get("/leistungen/bewohnerparkausweis")
    html = _html(resp)
    assert resp.status_code == 200
    assert '<h1 class="kern-heading-large">Bewohnerparkausweis</h1>' in html
    assert '<p class="kern-body">Zweiter Absatz.</p>' in html
    assert "Bewohnerinnen und Bewohner." in html
    assert "<li>Kennzeichen</li><li>Fahrzeugschein</li>" in html
    assert "30,70\xa0€" in html
    assert "in der Regel 10 Tage" in html
    assert "Schifferstraße 190<br>47059 Duisburg" in html and 'href="tel:02032834550"' in html
    assert "mailto:sva@stadt-duisburg.de" in html


def test_service_page_fee_in_english_locale(client, city):
    html = _html(client.get("/leistungen/bewohnerparkausweis?lang=en"))
    assert "€30.70" in html and "Residents&#39; parking permit" in html


def test_service_page_without_fee_says_free(client, city):
    assert "gebührenfrei" in _html(client.get("/leistungen/hundesteuer-anmeldung"))


def test_service_page_start_button_only_with_published_form(client, city):
    form_version_for(city["park"])
    _db.session.commit()
    html = _html(client.get("/leistungen/bewohnerparkausweis"))
    assert 'class="kern-btn kern-btn--primary" href="/antrag/bewohnerparkausweis/starten"' in html
    assert "Antrag starten" in html
    html = _html(client.get("/leistungen/hundesteuer-anmeldung"))  # no form published yet
    assert "Antrag starten" not in html and "gerade nicht verfügbar" in html


def test_service_page_speaks_to_the_visitor_as_they_are_logged_in(client, city, login_as):
    from tests.factories import CitizenFactory

    form_version_for(city["park"])
    unconfirmed = CitizenFactory(email_confirmed_at=None)
    confirmed = CitizenFactory()
    _db.session.commit()
    assert city["park"].login_required
    assert "brauchen Sie ein Benutzerkonto" in _html(client.get("/leistungen/bewohnerparkausweis"))
    login_as(unconfirmed)
    html = _html(client.get("/leistungen/bewohnerparkausweis"))
    assert "bestätigen Sie bitte zuerst Ihre E-Mail-Adresse" in html and "Benutzerkonto" not in html
    client.post("/abmelden")
    login_as(confirmed)
    html = _html(client.get("/leistungen/bewohnerparkausweis"))
    assert "Sie sind angemeldet" in html and "brauchen Sie ein Benutzerkonto" not in html


def test_service_page_without_description_has_no_empty_section(client, city):
    html = _html(client.get("/leistungen/hundesteuer-anmeldung"))  # no description
    assert "Worum geht es?" not in html and 'aria-labelledby="was"' not in html
    assert "Worum geht es?" in _html(client.get("/leistungen/bewohnerparkausweis"))


@pytest.mark.parametrize("slug", ["alt", "gibt-es-nicht"])
def test_inactive_or_unknown_service_is_404(client, city, slug):
    resp = client.get(f"/leistungen/{slug}")
    assert resp.status_code == 404 and "Seite nicht gefunden" in _html(resp)
    assert 'href="/leistungen">Alle Leistungen anzeigen' in _html(resp)


@pytest.mark.parametrize(
    ("name", "de", "en"),
    [
        ("impressum", "Burgplatz 19", "Publisher"),
        ("datenschutz", "Art. 15 DSGVO", "Art. 15 GDPR"),
        ("barrierefreiheit", "Durchsetzungsverfahren", "Enforcement procedure"),
    ],
)
def test_legal_pages_exist_in_both_languages(client, db, name, de, en):
    resp = client.get(f"/seite/{name}")
    assert resp.status_code == 200 and de in _html(resp)
    assert en in _html(client.get(f"/seite/{name}?lang=en"))


def test_unknown_legal_page_is_404(client, db):
    assert client.get("/seite/geheim").status_code == 404
    assert client.get("/seite/..%2Fbase").status_code == 404


def test_healthz_answers_without_touching_the_database(client, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("healthz must not query the database")

    monkeypatch.setattr(_db.session, "execute", boom)
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}


def test_readyz_ok_when_database_and_redis_answer(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://redis.invalid:6379/0")  # served by fakeredis
    monkeypatch.setattr("services.health.get_redis", lambda: fakeredis.FakeRedis())
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_readyz_with_real_redis(app, client, real_redis_url, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", real_redis_url)
    assert client.get("/readyz").status_code == 200


def test_readyz_503_names_redis_when_it_is_down(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["checks"] == {"database": "ok", "redis": "unavailable"}


def test_readyz_503_names_database_when_it_is_down(app, client, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setitem(app.config, "REDIS_URL", "redis://redis.invalid:6379/0")  # served by fakeredis
    monkeypatch.setattr("services.health.get_redis", lambda: fakeredis.FakeRedis())
    monkeypatch.setattr(_db.session, "execute", down)
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "unavailable", "checks": {"database": "unavailable", "redis": "ok"}}


def test_readyz_embedded_mode_probes_without_starting_redis(app, client, monkeypatch, tmp_path):
    from services.redis_conn import EmbeddedRedis

    monkeypatch.setitem(app.config, "REDIS_URL", "")
    monkeypatch.setitem(app.config, "INSTANCE_PATH", str(tmp_path))
    embedded = EmbeddedRedis(tmp_path)
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["checks"]["redis"] == "unavailable"
    assert not embedded.socket.exists()  # the probe did not start a server
    try:
        embedded.ensure_running()
        assert client.get("/readyz").status_code == 200
    finally:
        embedded.stop()
