"""The mail sender: outbox payloads, rendering in the user's language, file and SMTP backends."""

import email
from email import policy
from pathlib import Path

import pytest
from flask_babel import get_locale

from models import OutboxJob
from services import mail
from tests.factories import CitizenFactory
from tests.support import Mailbox, body_of


@pytest.fixture
def mailbox(app, db):
    return Mailbox(app)


def test_send_mail_file_backend_writes_rfc5322_eml(app, mailbox):
    attachment = ("bescheid.pdf", b"%PDF-1.7 test", "application/pdf")
    mail.send_mail(
        "a@example.org", "Betreff mit Ümlaut", "Hallo Welt", html="<p>Hallo</p>", attachments=[attachment]
    )
    files = list(Path(app.config["MAIL_DIR"]).glob("*.eml"))
    assert len(files) == 1
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["To"] == "a@example.org" and msg["Subject"] == "Betreff mit Ümlaut"
    assert msg["From"] == app.config["MAIL_FROM"] and msg["Message-ID"] and msg["Date"]
    assert body_of(msg).strip() == "Hallo Welt"
    assert msg.get_body(preferencelist=("html",)).get_content().strip() == "<p>Hallo</p>"
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == "bescheid.pdf" and part.get_content() == b"%PDF-1.7 test"


class FakeSMTP:
    sent: list = []
    calls: list = []

    def __init__(self, host, port, timeout):
        FakeSMTP.calls.append(("connect", host, port))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        FakeSMTP.calls.append(("quit",))

    def starttls(self):
        FakeSMTP.calls.append(("starttls",))

    def login(self, user, password):
        FakeSMTP.calls.append(("login", user, password))

    def send_message(self, msg):
        FakeSMTP.sent.append(msg)


def test_send_mail_smtp_backend_uses_starttls_and_login(app, db, monkeypatch):
    FakeSMTP.sent, FakeSMTP.calls = [], []
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    for key, value in {
        "MAIL_BACKEND": "smtp",
        "MAIL_HOST": "smtp.example.org",
        "MAIL_PORT": 587,
        "MAIL_USERNAME": "amtsweg",
        "MAIL_PASSWORD": "pw",
        "MAIL_STARTTLS": True,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    mail.send_mail("b@example.org", "Test", "Text")
    assert FakeSMTP.calls == [
        ("connect", "smtp.example.org", 587),
        ("starttls",),
        ("login", "amtsweg", "pw"),
        ("quit",),
    ]
    assert FakeSMTP.sent[0]["To"] == "b@example.org"


def test_send_mail_smtp_without_tls_or_login(app, db, monkeypatch):
    FakeSMTP.sent, FakeSMTP.calls = [], []
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    for key, value in {"MAIL_BACKEND": "smtp", "MAIL_USERNAME": None, "MAIL_STARTTLS": False}.items():
        monkeypatch.setitem(app.config, key, value)
    mail.send_mail("b@example.org", "Test", "Text")
    assert [c[0] for c in FakeSMTP.calls] == ["connect", "quit"] and len(FakeSMTP.sent) == 1


def test_queue_mail_records_ids_only_and_no_token(db, mailbox):
    user = CitizenFactory(email_confirmed_at=None)
    mail.queue_mail(user, "auth_confirm", foo=1)
    (job,) = db.session.scalars(db.select(OutboxJob)).all()
    assert job.kind == "send_email"
    assert job.payload == {"template": "auth_confirm", "user_id": user.id, "params": {"foo": 1}}
    assert mailbox.messages() == []  # nothing is sent before the worker runs
    db.session.commit()
    (msg,) = mailbox.deliver(user.email)
    assert "/bestaetigen/" in body_of(msg)
    assert msg["Subject"] == "Bitte bestätigen Sie Ihre E-Mail-Adresse"
    assert body_of(msg).startswith("Guten Tag")


def test_links_in_mails_point_to_base_url(app, db, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://amtsweg.duisburg.example")
    user = CitizenFactory()
    mail.queue_mail(user, "auth_reset")
    db.session.commit()
    assert "https://amtsweg.duisburg.example/passwort-neu/" in body_of(mailbox.last(user.email))


def test_mail_is_rendered_in_the_users_language(app, db, monkeypatch):
    seen = []
    real_render = mail.render_template

    def spy(name, **context):
        seen.append((name, str(get_locale())))
        return real_render(name, **context)

    monkeypatch.setattr(mail, "render_template", spy)
    mail.render_mail("auth_reset", CitizenFactory(locale="en"))
    mail.render_mail("auth_reset", CitizenFactory(locale="de"))
    assert [s for s in seen if s[0].endswith(".txt")] == [
        ("email/auth_reset.txt", "en"),
        ("email/auth_reset.txt", "de"),
    ]


def test_deliver_skips_deleted_user(db, mailbox):
    mail.deliver_outbox_mail({"template": "auth_confirm", "user_id": 987654, "params": {}})
    assert mailbox.messages() == []


def test_mail_locale_is_the_stored_language_while_it_is_offered(app, db, monkeypatch):
    assert mail.mail_locale(CitizenFactory(locale="en")) == "en"
    assert mail.mail_locale(mail.Contact("a@example.org", "", "en")) == "en"
    assert mail.mail_locale(mail.Contact("a@example.org", "", None)) == "de"  # rows from before the column
    assert mail.mail_locale(CitizenFactory(locale="fr")) == "de"
    monkeypatch.setitem(app.config, "LANGUAGES", ("de",))  # a language taken off the list
    assert mail.mail_locale(CitizenFactory(locale="en")) == "de"


def test_mail_templates_get_the_mail_language(db):
    from tests.factories import ServiceFactory, ServiceRequestFactory

    req = ServiceRequestFactory(service=ServiceFactory(title_de="Hundesteuer", title_en="Dog tax"))
    req.applicant_id, req.contact_email, req.locale = None, "anonym@example.org", "en"
    _subject, body, _html, _ = mail.render_mail("request_access_link", mail.request_contact(req), request=req)
    assert "“Dog tax”" in body and "Hundesteuer" not in body
