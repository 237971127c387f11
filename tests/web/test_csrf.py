"""CSRF protection (Flask-WTF) on state-changing routes: no token → 400 with a friendly page."""

import re

import pytest

from extensions import db as _db
from extensions import limiter
from models import User
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, CitizenFactory, StaffFactory
from tests.support import IsolatedClient
from tests.unit.test_submissions import service  # noqa: F401  (fixture: a published test form)


@pytest.fixture
def client(app, db, monkeypatch):
    limiter.reset()
    monkeypatch.setattr(app, "test_client_class", IsolatedClient)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    return app.test_client()


def _assert_rejected(resp):
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert re.search(r"<title>\s*Fehler: Formular abgelaufen", page)  # an error state like the others
    assert "Die Angaben aus diesem Formular wurden nicht gespeichert" in page


def test_expired_form_leads_back_to_the_page_it_came_from_on_this_site_only(client):
    data = {"email": "a@example.org", "password": "x"}
    page = client.post("/anmelden", data=data, headers={"Referer": "http://localhost/anmelden?next=/konto"})
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert 'href="/anmelden?next=/konto">Zurück zur Seite mit dem Formular' in html
    assert "Öffnen Sie die Seite erneut" in html and 'href="/"' in html
    for foreign in ("https://evil.example/anmelden", "http://localhost.evil.example/", "javascript:x", ""):
        html = client.post("/anmelden", data=data, headers={"Referer": foreign}).get_data(as_text=True)
        assert "Zurück zur Seite mit dem Formular" not in html and "evil" not in html
        assert "Bitte laden Sie die Seite mit dem Formular neu" in html and 'href="/"' in html


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        ("http://localhost/antrag/x/person?zurueck=pruefen", "/antrag/x/person?zurueck=pruefen"),
        ("https://localhost/", "/"),
        ("http://localhost:8080/konto", None),  # another port is another site
        ("http://evil.example/konto", None),
        ("http://localhost//evil.example/konto", None),
        ("ftp://localhost/konto", None),
        ("/konto", None),
        ("http://[::1/", None),  # unparsable
        (None, None),
    ],
)
def test_same_site_referrer(referrer, expected):
    from views.auth import same_site_referrer

    assert same_site_referrer(referrer, "localhost") == expected


def test_login_without_token_is_rejected_and_with_token_succeeds(client):
    user = CitizenFactory()
    _db.session.commit()
    _assert_rejected(client.post("/anmelden", data={"email": user.email, "password": PASSWORD}))
    _assert_rejected(
        client.post("/anmelden", data={"email": user.email, "password": PASSWORD, "csrf_token": "forged"})
    )
    token = csrf_token_from(client.get("/anmelden"))
    resp = client.post("/anmelden", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 303


def _logged_in(client, user):
    token = csrf_token_from(client.get("/anmelden"))
    client.post("/anmelden", data={"email": user.email, "password": PASSWORD, "csrf_token": token})


def test_logout_and_password_change_need_the_token(client):
    user = CitizenFactory()
    _db.session.commit()
    _logged_in(client, user)
    _assert_rejected(client.post("/abmelden"))
    data = {"current_password": PASSWORD, "password": "x" * 12 + "neu", "password_confirm": "x" * 12 + "neu"}
    _assert_rejected(client.post("/konto/passwort", data=data))
    assert client.get("/konto").status_code == 200  # still logged in, nothing changed
    token = csrf_token_from(client.get("/konto"))
    assert client.post("/konto/passwort", data={**data, "csrf_token": token}).status_code == 303
    token = csrf_token_from(client.get("/konto"))
    assert client.post("/abmelden", data={"csrf_token": token}).status_code == 303
    assert client.get("/konto").status_code == 302


def test_mail_language_change_needs_the_token(client):
    user = CitizenFactory(locale="de")
    _db.session.commit()
    _logged_in(client, user)
    _assert_rejected(client.post("/konto/sprache", data={"language": "en"}))
    _db.session.expire_all()
    assert _db.session.get(User, user.id).locale == "de"
    token = csrf_token_from(client.get("/konto"))
    assert client.post("/konto/sprache", data={"language": "en", "csrf_token": token}).status_code == 303
    _db.session.expire_all()
    assert _db.session.get(User, user.id).locale == "en"


def test_registration_without_token_creates_nothing(client):
    data = {"full_name": "A", "email": "a@example.org", "password": "p" * 12, "password_confirm": "p" * 12}
    _assert_rejected(client.post("/registrieren", data=data))
    assert _db.session.scalar(_db.select(User).where(User.email == "a@example.org")) is None


def test_token_from_another_session_is_rejected(app, client):
    admin = StaffFactory(is_platform_admin=True)
    _db.session.commit()
    _logged_in(client, admin)
    stranger = app.test_client()
    foreign_token = csrf_token_from(stranger.get("/anmelden"))
    data = {"full_name": "Eve", "email": "eve@example.org", "role": "platform-admin"}
    data["csrf_token"] = foreign_token
    _assert_rejected(client.post("/betrieb/mitarbeitende/neu", data=data))
    assert _db.session.scalar(_db.select(User).where(User.email == "eve@example.org")) is None


def test_submit_needs_the_token_and_nothing_is_submitted_without_it(client, service):  # noqa: F811
    """The submit form leaves its token to CSRFProtect (forms/citizen.py): that check must hold."""
    from models import ServiceRequest
    from tests.unit.test_submissions import _draft

    user = CitizenFactory()
    draft_id = _draft(service, user).public_id
    _db.session.commit()
    _logged_in(client, user)
    _assert_rejected(client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y"}))
    forged = {"declaration": "y", "csrf_token": "forged"}
    _assert_rejected(client.post(f"/antrag/{draft_id}/absenden", data=forged))
    assert _db.session.scalar(_db.select(_db.func.count(ServiceRequest.id))) == 0
    token = csrf_token_from(client.get(f"/antrag/{draft_id}/pruefen"))
    resp = client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y", "csrf_token": token})
    assert resp.status_code == 302 and "/bestaetigung" in resp.headers["Location"]
    resp = client.post(f"/antrag/{draft_id}/absenden", data={"csrf_token": token})  # no declaration
    assert resp.status_code == 302  # already submitted: to the request, never a second one
    assert _db.session.scalar(_db.select(_db.func.count(ServiceRequest.id))) == 1


def test_mark_all_read_in_the_postfach_needs_the_token(client):
    from models import InboxItem
    from services.notifications import notify_citizen
    from tests.factories import started_request

    req = started_request()
    item_id = notify_citizen(req, "approved").id
    _db.session.commit()
    _logged_in(client, req.applicant)
    data = {"newest_id": str(item_id)}
    _assert_rejected(client.post("/postfach/alle-gelesen", data=data))
    _assert_rejected(client.post("/postfach/alle-gelesen", data={**data, "csrf_token": "forged"}))
    assert _db.session.get(InboxItem, item_id).read_at is None
    page = client.get("/postfach/")
    token = csrf_token_from(page)
    assert f'name="csrf_token" value="{token}"' in page.get_data(as_text=True).split("alle-gelesen", 1)[1]
    assert client.post("/postfach/alle-gelesen", data={**data, "csrf_token": token}).status_code == 303
    _db.session.expire_all()
    assert _db.session.get(InboxItem, item_id).read_at is not None


def test_form_opened_before_a_key_rotation_can_still_be_sent(app, client, monkeypatch):
    """Forms opened under the old SECRET_KEY stay valid while it is a fallback (docs/operations.md)."""
    from config import itsdangerous_keys

    user = CitizenFactory()
    _db.session.commit()
    token = csrf_token_from(client.get("/anmelden"))  # signed with the old key
    old_key = app.config["SECRET_KEY"]
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-secret-key-after-rotation-0123456789")
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [old_key])
    data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    # Flask-WTF alone knows only SECRET_KEY: the session survives, the form would not
    _assert_rejected(client.post("/anmelden", data=data))
    monkeypatch.setitem(app.config, "WTF_CSRF_SECRET_KEY", itsdangerous_keys(app.config))
    assert client.post("/anmelden", data=data).status_code == 303
