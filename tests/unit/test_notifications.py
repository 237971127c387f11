"""Citizen notifications: inbox entry + queued email, rendered in the applicant's language."""

import pytest
from sqlalchemy import select

from models import InboxItem, OutboxJob
from services.mail import render_mail
from services.notifications import NOTIFICATION_KINDS, inbox_text, notify_citizen
from services.workflow import apply_transition
from tests.factories import clerk_of, started_request


def test_notify_citizen_creates_inbox_item_and_outbox_mail(db):
    req = started_request()
    item = notify_citizen(req, "in_progress")
    assert (item.user_id, item.request_id, item.kind) == (req.applicant_id, req.id, "in_progress")
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.kind == "send_email"))
    assert job.payload == {"template": "request_in_progress", "user_id": req.applicant_id,
                           "request_id": req.id, "params": {}}  # fmt: skip
    assert inbox_text(item, "de") == f"Ihr Antrag {req.reference} wird bearbeitet."


def test_notify_citizen_rejects_unknown_kind(db):
    with pytest.raises(ValueError, match="unknown notification kind"):
        notify_citizen(started_request(), "party")


@pytest.mark.parametrize("kind", sorted(NOTIFICATION_KINDS))
@pytest.mark.parametrize("locale", ["de", "en"])
def test_every_notification_mail_renders(db, kind, locale):
    req = started_request()
    req.applicant.locale = locale
    subject, body, _html, _attachments = render_mail(f"request_{kind}", req.applicant, request=req)
    assert req.reference in subject and "\n" not in subject
    assert req.reference in body and req.applicant.full_name in body
    assert f"/antraege/{req.public_id}" in body
    assert ("Eingegangen" if locale == "de" else "Received") in body  # the plain-language state label


def test_workflow_mail_shows_new_state(db):
    req = started_request()
    apply_transition(req, "bearbeitung_beginnen", clerk_of(req.department), {}, req.row_version)
    _subject, body, _html, _ = render_mail("request_in_progress", req.applicant, request=req)
    assert "Aktueller Stand: In Bearbeitung" in body
    assert db.session.scalar(select(InboxItem.kind)) == "in_progress"


@pytest.mark.parametrize("anonymous", [False, True])
def test_mail_footer_promises_only_answers_to_questions_online(db, anonymous):
    req = started_request()
    req.department.email, req.department.phone = "strasse@stadt.example", "0203 283-0"
    if anonymous:
        req.applicant_id, req.contact_email = None, "anonym@example.org"
    _subject, body, _html, _ = render_mail("request_in_progress", req.applicant, request=req)
    assert "Nachrichten zu Ihrem Antrag senden Sie" not in body  # only open questions can be answered
    assert "Rückfragen der Verwaltung beantworten Sie auf der Seite Ihres Antrags" in body
    assert ("in Ihrem Servicekonto" in body) is not anonymous
    office = f"{req.reference} an: {req.department.name_de}, strasse@stadt.example, 0203 283-0"
    assert f"Andere Anliegen zu Ihrem Antrag richten Sie bitte mit dem Aktenzeichen {office}" in body


@pytest.mark.parametrize("kind", sorted(NOTIFICATION_KINDS))
@pytest.mark.parametrize("locale", ["de", "en"])
def test_mails_without_account_never_point_to_a_postfach(db, kind, locale):
    req = started_request()
    req.applicant.locale = locale
    req.applicant_id, req.contact_email = None, "anonym@example.org"
    for state in ("genehmigt", "abgelehnt"):  # the state hints are part of every mail
        req.state = state
        _subject, body, _html, _ = render_mail(f"request_{kind}", req.applicant, request=req)
        assert "Postfach" not in body and "inbox" not in body, body


def test_seeded_state_hints_hold_with_and_without_account():
    from services.workflow.definitions import default_document

    states = [s for variant in ("standard", "vier_augen") for s in default_document(variant)["states"]]
    hints = " ".join(text for s in states for text in s.get("citizen_hint", {}).values())
    assert "Postfach" not in hints and "inbox" not in hints


@pytest.mark.parametrize("kind", ["receipt", "information_request"])
def test_bundled_notices_point_to_a_postfach_only_with_an_account(db, kind):
    from services.notices.context import bundled_source
    from services.notices.templates import sample_context
    from services.notices.templates_env import render_template

    context = sample_context(kind)
    context["applicant"]["has_account"] = False
    assert "Postfach" not in render_template(bundled_source(kind), context)
    context["applicant"]["has_account"] = True
    html = render_template(bundled_source(kind), context)
    assert "Postfach" in html or "Meine Anträge" in html


def test_mark_read_keeps_the_first_reading_time_and_only_for_the_owner(db):
    from services.errors import NotFound
    from services.inbox import mark_read, unread_count
    from tests.factories import CitizenFactory

    req = started_request()
    item = notify_citizen(req, "approved")
    assert unread_count(req.applicant) == 1
    with pytest.raises(NotFound):
        mark_read(item, CitizenFactory())
    first = mark_read(item, req.applicant).read_at
    assert mark_read(item, req.applicant).read_at == first and unread_count(req.applicant) == 0


def _subjects(mailbox, to):
    from extensions import db as _db

    _db.session.commit()
    return [m["Subject"] for m in mailbox.deliver(to)]


def test_request_mail_follows_the_accounts_language_at_send_time(app, db):
    from services.accounts import set_mail_locale
    from tests.support import Mailbox

    mailbox = Mailbox(app)
    req = started_request(locale="de")  # filled in on German pages
    req.applicant.locale = "de"
    notify_citizen(req, "information_requested")
    set_mail_locale(req.applicant, "en")  # before the worker got to it: the mail is written now
    assert _subjects(mailbox, req.applicant.email) == [
        f"Request for information about your application {req.reference}"
    ]
    set_mail_locale(req.applicant, "de")
    notify_citizen(req, "approved")
    assert _subjects(mailbox, req.applicant.email)[-1] == f"Ihr Antrag {req.reference} wurde genehmigt"


def test_request_mail_without_account_keeps_the_requests_language_until_taken_into_one(app, db):
    from services.anonymous import claim_request
    from tests.factories import CitizenFactory
    from tests.support import Mailbox

    mailbox = Mailbox(app)
    req = started_request(locale="en")
    req.applicant_id, req.contact_email = None, "anonym@example.org"
    notify_citizen(req, "information_requested")
    assert _subjects(mailbox, "anonym@example.org") == [
        f"Request for information about your application {req.reference}"
    ]
    owner = CitizenFactory(email="anonym@example.org", locale="de")
    claim_request(owner, req.public_id)
    mailbox.clear()
    notify_citizen(req, "information_requested")
    assert _subjects(mailbox, "anonym@example.org") == [f"Rückfrage zu Ihrem Antrag {req.reference}"]
