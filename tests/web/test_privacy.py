"""/konto: "Meine Daten herunterladen" (a JSON file) and "Konto löschen" (page, confirmation), in both
languages."""

import re

import pytest

from extensions import db as _db
from extensions import limiter
from models import User
from services.access import status_token
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD
from tests.support import IsolatedClient, Mailbox, body_of, link_path
from tests.unit.test_privacy import NOTE, world  # noqa: F401  (fixture: Erika's account and requests)


@pytest.fixture
def client(app, db, monkeypatch):
    """One app context per request, as a real server has (see tests.support)."""
    limiter.reset()
    monkeypatch.setattr(app, "test_client_class", IsolatedClient)
    return app.test_client()


def _login(client, user, lang="de"):
    client.get(f"/anmelden?lang={lang}")
    resp = client.post("/anmelden", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 303


def _title(page: str) -> str:
    return re.search(r"<title>\s*(.*?)\s*</title>", page, re.S).group(1)


@pytest.mark.parametrize(("lang", "texts"), [
    ("de", ["Meine Daten herunterladen", "Konto löschen"]),
    ("en", ["Download my data", "Delete account"]),
])
def test_account_page_offers_the_data_download_and_the_deletion(client, world, lang, texts):  # noqa: F811
    _login(client, world["erika"], lang)
    page = client.get("/konto").get_data(as_text=True)
    for text in texts:
        assert text in page
    assert 'href="/konto/daten"' in page and 'href="/konto/loeschen"' in page


def test_data_export_is_a_json_file_of_the_own_account(client, world):  # noqa: F811
    _login(client, world["erika"])
    resp = client.get("/konto/daten")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert re.fullmatch(r'attachment; filename="amtsweg-meine-daten-\d{4}-\d{2}-\d{2}\.json"',
                        resp.headers["Content-Disposition"])
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["X-Content-Type-Options"] == "nosniff"
    data = resp.get_json()
    assert data["account"]["email"] == "erika@example.org" and data["language"] == "de"
    assert {r["reference"] for r in data["requests"]} == {world["open"].reference, world["closed"].reference}
    assert NOTE not in resp.get_data(as_text=True)


def test_data_export_in_english_and_only_when_logged_in(client, world):  # noqa: F811
    resp = client.get("/konto/daten")
    assert resp.status_code == 302 and "/anmelden" in resp.headers["Location"]
    _login(client, world["erika"], "en")
    data = client.get("/konto/daten").get_json()
    assert data["language"] == "en"
    assert {r["service"] for r in data["requests"]} == {world["open"].service.title_en}


def test_data_export_is_rate_limited_per_account(app, client, world, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "DATA_EXPORT_RATE_LIMIT", "2 per hour")
    _login(client, world["erika"])
    assert [client.get("/konto/daten").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize(("lang", "texts"), [
    ("de", ["Was gelöscht wird", "Was die Verwaltung aufbewahrt", "Aufbewahrungspflichten",
            "Zurzeit haben Sie 1 Entwurf.", "Konto endgültig löschen"]),
    ("en", ["What is deleted", "What the administration keeps", "retention obligations",
            "You currently have 1 draft.", "Delete account permanently"]),
])
def test_delete_page_explains_what_goes_and_what_stays(client, world, lang, texts):  # noqa: F811
    _login(client, world["erika"], lang)
    page = client.get("/konto/loeschen").get_data(as_text=True)
    for text in texts:
        assert text in page, text
    assert world["open"].reference in page  # continues with a personal link to …
    assert "erika@example.org" in page
    assert world["closed"].reference not in page
    assert 'autocomplete="current-password"' in page and 'type="checkbox"' in page


@pytest.mark.parametrize(("lang", "wrong", "untick"), [
    ("de", "Das Passwort ist nicht richtig.", "Bestätigen Sie, dass Sie Ihr Benutzerkonto löschen möchten."),
    ("en", "The password is not correct.", "Confirm that you want to delete your user account."),
])
def test_delete_account_refuses_a_wrong_password_or_a_missing_tick(client, world, lang, wrong,  # noqa: F811
                                                                    untick):
    _login(client, world["erika"], lang)
    resp = client.post("/konto/loeschen", data={"password": "falsch", "confirm": "y"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and _title(page).startswith(("Fehler: ", "Error: "))
    assert wrong in page and 'href="#password"' in page and 'aria-invalid="true"' in page
    resp = client.post("/konto/loeschen", data={"password": PASSWORD})
    assert resp.status_code == 400 and untick in resp.get_data(as_text=True)
    assert client.get("/konto").status_code == 200  # still logged in, nothing deleted
    _db.session.expire_all()
    assert _db.session.get(User, world["erika"].id).deleted_at is None


def test_delete_account_logs_out_confirms_and_mails_the_status_links(app, client, world):  # noqa: F811
    mailbox = Mailbox(app)
    _login(client, world["erika"])
    resp = client.post("/konto/loeschen", data={"password": PASSWORD, "confirm": "y"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/konto/geloescht"

    page = client.get("/konto/geloescht").get_data(as_text=True)
    assert "Ihr Konto wurde gelöscht" in page and world["open"].reference in page
    assert "abgeschlossenen Anträge bewahrt die Verwaltung" in page
    assert client.get("/konto").status_code == 302  # logged out
    again = client.post("/anmelden", data={"email": "erika@example.org", "password": PASSWORD})
    assert again.status_code == 200  # the old credentials open nothing

    mail = mailbox.last("erika@example.org")  # the personal link of the request still being handled
    opened = client.get(link_path(mail, f"/antraege/{world['open'].public_id}/zugang/"))
    assert opened.status_code in (302, 303)
    detail = client.get(f"/antraege/{world['open'].public_id}").get_data(as_text=True)
    assert "Benutzerkonto gelöscht" in detail and "Rückfrage" in detail
    _db.session.expire_all()
    assert status_token(_db.session.get(type(world["open"]), world["open"].id)) in body_of(mail)

    assert app.test_client().get("/konto/geloescht").status_code == 302  # nothing to confirm elsewhere


def test_delete_account_confirmation_in_english(client, world):  # noqa: F811
    _login(client, world["erika"], "en")
    client.post("/konto/loeschen", data={"password": PASSWORD, "confirm": "y"})
    page = client.get("/konto/geloescht").get_data(as_text=True)
    assert "Your account has been deleted" in page and world["open"].reference in page
    assert "Ihr Konto" not in page


def test_staff_cannot_delete_their_account_here(client, world):  # noqa: F811
    clerk = world["clerk"]
    _login(client, clerk)
    page = client.get("/konto").get_data(as_text=True)
    assert "Konten von Mitarbeitenden können nicht selbst gelöscht werden" in page
    assert 'href="/konto/loeschen"' not in page
    page = client.get("/konto/loeschen").get_data(as_text=True)
    assert "Plattformadministration" in page and 'name="password"' not in page
    assert client.post("/konto/loeschen", data={"password": PASSWORD, "confirm": "y"}).status_code == 403
    _db.session.expire_all()
    assert _db.session.get(User, clerk.id).is_active_account


def test_delete_account_needs_the_csrf_token(app, client, world, monkeypatch):  # noqa: F811
    _login(client, world["erika"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    resp = client.post("/konto/loeschen", data={"password": PASSWORD, "confirm": "y"})
    assert resp.status_code == 400 and "Formular abgelaufen" in resp.get_data(as_text=True)
    token = csrf_token_from(client.get("/konto/loeschen"))
    resp = client.post("/konto/loeschen", data={"password": PASSWORD, "confirm": "y", "csrf_token": token})
    assert resp.status_code == 303


def test_clerks_see_the_applicant_not_the_placeholder_of_a_deleted_account(client, world):  # noqa: F811
    from services import privacy

    privacy.delete_account(world["erika"], PASSWORD)
    _db.session.commit()
    _login(client, world["clerk"])
    page = client.get(f"/sachbearbeitung/antraege/{world['open'].public_id}").get_data(as_text=True)
    assert privacy.DELETED_EMAIL_DOMAIN not in page
    assert "Antragsteller:in" in page and "erika@example.org" in page  # the contact address now
    assert "Benutzerkonto gelöscht, die Antragsteller:in erreicht den Antrag jetzt" in page
