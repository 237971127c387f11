"""Accounts through HTTP: register + confirm by emailed link, login/logout, sessions, reset, limits."""

import time

import itsdangerous
import pytest

from extensions import db as _db
from extensions import limiter
from models import OutboxJob, User
from services.passwords import verify_password
from tests.factories import PASSWORD, CitizenFactory, StaffFactory
from tests.support import IsolatedClient, Mailbox, body_of, link_path

NEW_PASSWORD = "a brand new passphrase 42"
WRONG = "E-Mail-Adresse oder Passwort ist nicht richtig."


@pytest.fixture
def mailbox(app, db):
    return Mailbox(app)


@pytest.fixture
def client(app, db, monkeypatch):
    """Overrides conftest's client: one app context per request (see tests.support)."""
    limiter.reset()
    monkeypatch.setattr(app, "test_client_class", IsolatedClient)
    return app.test_client()


def _register(client, email="neu@example.org", password="lang genug und geheim", **extra):  # noqa: S107
    data = {"full_name": "Erika Neu", "email": email, "password": password, "password_confirm": password}
    return client.post("/registrieren", data={**data, **extra})


def _login(client, email, password=PASSWORD, **kw):
    return client.post("/anmelden", data={"email": email, "password": password}, **kw)


def _user(email):
    return _db.session.scalar(_db.select(User).where(User.email == email))


def test_register_then_confirm_by_emailed_link(client, mailbox):
    resp = _register(client, email="Neu@Example.org ")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/registrieren/postfach")
    user = _user("neu@example.org")
    assert user is not None and not user.email_confirmed and user.locale == "de"
    assert verify_password(user.password_hash, "lang genug und geheim")
    assert user.password_hash.startswith("$argon2id$")

    msg = mailbox.last("neu@example.org")
    assert msg["Subject"] == "Bitte bestätigen Sie Ihre E-Mail-Adresse"
    path = link_path(msg, "/bestaetigen/")
    assert client.get(path).status_code == 200
    resp = client.post(path)
    assert resp.status_code == 303
    _db.session.expire_all()
    assert _user("neu@example.org").email_confirmed
    # single use: once confirmed, the same link is dead
    assert client.get(path).status_code == 400
    assert client.post(path).status_code == 400


def test_register_stores_ui_language(client):
    client.get("/anmelden?lang=en")
    _register(client, email="en@example.org")
    assert _user("en@example.org").locale == "en"


def test_register_rejects_short_password_and_mismatch(client):
    resp = _register(client, password="zu kurz")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Fehler:" in page and "zwischen 12 und 256 Zeichen" in page
    assert _user("neu@example.org") is None
    resp = _register(client, password_confirm="etwas ganz anderes")
    assert "stimmen nicht überein" in resp.get_data(as_text=True)
    assert _user("neu@example.org") is None


def test_register_existing_address_looks_the_same_and_mails_the_owner(client, mailbox):
    owner = CitizenFactory(email="da@example.org")
    _db.session.commit()
    resp = _register(client, email="da@example.org")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/registrieren/postfach")
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(User)) == 1
    msg = mailbox.last(owner.email)
    assert "bereits ein Konto" in msg["Subject"]
    assert "/passwort-vergessen" in body_of(msg)


def test_unconfirmed_user_can_log_in_and_resend_confirmation(client, mailbox):
    user = CitizenFactory(email_confirmed_at=None)
    _db.session.commit()
    assert _login(client, user.email).status_code == 303
    page = client.get("/konto").get_data(as_text=True)
    assert "noch nicht bestätigt" in page
    resp = client.post("/konto/bestaetigung")
    assert resp.status_code == 303
    assert link_path(mailbox.last(user.email), "/bestaetigen/")


def test_login_success_redirects_to_safe_next_only(client):
    user = CitizenFactory()
    _db.session.commit()
    resp = _login(client, user.email, query_string={"next": "/konto?x=1"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/konto?x=1"
    client.post("/abmelden")
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        resp = _login(client, user.email, query_string={"next": evil})
        assert resp.status_code == 303 and "evil" not in resp.headers["Location"], evil
        client.post("/abmelden")


def test_login_same_message_for_unknown_user_and_wrong_password(client):
    user = CitizenFactory()
    _db.session.commit()
    wrong = _login(client, user.email, "falsches passwort!!")
    unknown = _login(client, "niemand@example.org", "falsches passwort!!")
    assert wrong.status_code == unknown.status_code == 200
    assert WRONG in wrong.get_data(as_text=True) and WRONG in unknown.get_data(as_text=True)
    assert client.get("/konto").status_code == 302  # still anonymous


def test_deactivated_user_cannot_log_in(client):
    user = CitizenFactory(is_active_account=False)
    _db.session.commit()
    resp = _login(client, user.email)
    assert resp.status_code == 200 and WRONG in resp.get_data(as_text=True)


def test_login_starts_a_new_session(client):
    user = CitizenFactory()
    _db.session.commit()
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
        sess["lang"] = "en"
    _login(client, user.email)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["lang"] == "en"
        assert sess["_user_id"] == f"{user.id}:{user.session_version}"


def test_login_rehashes_outdated_password_hash(app, client, monkeypatch):
    user = CitizenFactory()
    _db.session.commit()
    old_hash = user.password_hash
    monkeypatch.setitem(app.config, "ARGON2_TIME_COST", 2)
    _login(client, user.email)
    _db.session.expire_all()
    assert user.password_hash != old_hash and "t=2" in user.password_hash


def test_logout_is_post_only_and_ends_other_sessions(app, client):
    user = CitizenFactory()
    _db.session.commit()
    other = app.test_client()
    _login(client, user.email)
    _login(other, user.email)
    assert client.get("/abmelden").status_code == 405
    resp = client.post("/abmelden")
    assert resp.status_code == 303
    assert client.get("/konto").status_code == 302
    assert other.get("/konto").status_code == 302  # session version bumped


def test_password_change_kills_other_sessions_keeps_this_one(app, client, mailbox):
    user = CitizenFactory()
    _db.session.commit()
    other = app.test_client()
    _login(client, user.email)
    _login(other, user.email)
    assert other.get("/konto").status_code == 200
    resp = client.post(
        "/konto/passwort",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert resp.status_code == 303
    assert client.get("/konto").status_code == 200
    assert other.get("/konto").status_code == 302
    assert "geändert" in mailbox.last(user.email)["Subject"]
    client.post("/abmelden")
    assert _login(client, user.email, NEW_PASSWORD).status_code == 303


def test_password_change_wrong_current_password(client):
    user = CitizenFactory()
    _db.session.commit()
    _login(client, user.email)
    data = {"current_password": "nicht das passwort", "password": NEW_PASSWORD}
    data["password_confirm"] = NEW_PASSWORD
    resp = client.post("/konto/passwort", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Fehler:" in page
    assert "Das aktuelle Passwort ist nicht richtig." in page
    _db.session.expire_all()
    assert verify_password(user.password_hash, PASSWORD)


def _request_reset(client, mailbox, email):
    resp = client.post("/passwort-vergessen", data={"email": email})
    assert resp.status_code == 303
    return link_path(mailbox.last(email), "/passwort-neu/")


def test_password_reset_link_works_once(client, mailbox):
    user = CitizenFactory(email_confirmed_at=None)
    _db.session.commit()
    path = _request_reset(client, mailbox, user.email)
    assert client.get(path).status_code == 200
    data = {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    assert client.post(path, data=data).status_code == 303
    _db.session.expire_all()
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert user.email_confirmed  # following the link proved the mailbox
    assert client.post(path, data=data).status_code == 400
    assert "ungültig oder abgelaufen" in client.get(path).get_data(as_text=True)
    assert _login(client, user.email, NEW_PASSWORD).status_code == 303


def test_password_reset_unknown_address_looks_the_same(client, mailbox):
    resp = client.post("/passwort-vergessen", data={"email": "niemand@example.org"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/passwort-vergessen/gesendet")
    assert mailbox.deliver() == []
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(OutboxJob)) == 0


def test_password_reset_link_expires(client, mailbox, monkeypatch):
    user = CitizenFactory()
    _db.session.commit()
    issued = int(time.time()) - 3601  # signed just over an hour ago
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: issued)
    path = _request_reset(client, mailbox, user.email)
    monkeypatch.undo()
    resp = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert resp.status_code == 400
    _db.session.expire_all()
    assert verify_password(user.password_hash, PASSWORD)


def test_password_reset_link_dies_after_password_change(client, mailbox):
    user = CitizenFactory()
    _db.session.commit()
    path = _request_reset(client, mailbox, user.email)
    _login(client, user.email)
    client.post(
        "/konto/passwort",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert client.get(path).status_code == 400


def test_tampered_token_is_rejected(client, mailbox):
    user = CitizenFactory()
    _db.session.commit()
    path = _request_reset(client, mailbox, user.email)
    assert client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 400
    assert client.get("/bestaetigen/kein-token").status_code == 400


def test_login_rate_limit_per_ip(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    user = CitizenFactory()
    _db.session.commit()
    for email in (user.email, "niemand@example.org", user.email):
        resp = _login(client, email, "falsches passwort!!")
        assert resp.status_code == 200 and WRONG in resp.get_data(as_text=True)
    assert _login(client, "wieder-jemand@example.org", "falsch").status_code == 429
    assert _login(client, user.email).status_code == 429  # even the right password waits now


def test_login_rate_limit_per_email_across_ips(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    user = CitizenFactory()
    _db.session.commit()
    for n in range(3):
        resp = _login(client, user.email, "falsch!", environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
        assert resp.status_code == 200
    resp = _login(client, user.email, "falsch!", environ_base={"REMOTE_ADDR": "10.0.0.99"})
    assert resp.status_code == 429
    assert "Zu viele Versuche" in resp.get_data(as_text=True)
    # another address from a fresh IP is not affected
    resp = _login(client, "x@example.org", "falsch!", environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert resp.status_code == 200


def test_successful_logins_do_not_count_against_the_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    user = CitizenFactory()
    _db.session.commit()
    for _ in range(4):
        assert _login(client, user.email).status_code == 303
        client.post("/abmelden")


def test_account_requires_login(client):
    resp = client.get("/konto")
    assert resp.status_code == 302 and "/anmelden?next=" in resp.headers["Location"]


def test_staff_login_goes_to_their_start_page(client):
    staff = StaffFactory()
    _db.session.commit()
    resp = _login(client, staff.email)
    assert resp.status_code == 303


def test_resend_confirmation_is_rate_limited(app, client, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    user = CitizenFactory(email_confirmed_at=None)
    _db.session.commit()
    _login(client, user.email)
    assert [client.post("/konto/bestaetigung").status_code for _ in range(3)] == [303, 303, 429]
    assert len(mailbox.deliver(user.email)) == 2


def test_login_required_page_returns_after_login(client):
    user = CitizenFactory()
    _db.session.commit()
    location = client.get("/konto").headers["Location"]
    resp = client.post(location, data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 303 and resp.headers["Location"] == "/konto"


def test_rotated_secret_key_keeps_sessions_and_mailed_links_while_the_old_key_is_a_fallback(
    app, client, monkeypatch
):
    from services.errors import InvalidToken
    from services.tokens import load_token, make_token

    user = CitizenFactory(email_confirmed_at=None)
    _db.session.commit()
    _login(client, user.email)
    away = app.test_client()  # logged in too, but not seen again until the old key is gone
    _login(away, user.email)
    token = make_token("confirm", user)
    old_key = app.config["SECRET_KEY"]
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-secret-key-after-rotation-0123456789")
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [old_key])
    assert client.get("/konto").status_code == 200  # still logged in; the cookie is re-signed
    assert load_token("confirm", token).id == user.id  # the mailed link still works
    assert load_token("confirm", make_token("confirm", user)).id == user.id  # new links: the new key
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [])
    with pytest.raises(InvalidToken):
        load_token("confirm", token)
    assert client.get("/konto").status_code == 200  # its cookie carries the new key by now
    resp = away.get("/konto")
    assert resp.status_code == 302 and "/anmelden" in resp.headers["Location"]
