"""Anonymous use: session-bound drafts, adoption on login, submission with a contact address and a
personal status link, the status link's holder as applicant, mail to the contact address."""

import email
import email.policy
import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Draft, FormDefinition, InboxItem, OutboxJob, ServiceRequest
from models.base import utcnow
from services import access, drafts
from services.anonymous import (
    ACCESS_MAIL,
    ACCESS_MAIL_AGAIN,
    ACCESS_MAIL_RENEWED,
    claim_request,
    claimable_requests,
    contact_email_from_answers,
    renew_access_link,
    resend_access_link,
    submit_anonymously,
)
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.formdefs import latest_version, publish_form
from services.mail import deliver_outbox_mail, render_mail, request_contact
from services.messages import withdraw_transition
from services.notices.context import build_context
from services.notifications import notify_citizen
from services.seed import SeedReport
from services.seed.workflows import seed_workflows
from services.tokens import random_token, request_access_token, token_digest
from services.workflow.engine import actor_roles
from tests.factories import CitizenFactory, ServiceFactory

FORM = {
    "schema_version": 1,
    "title": {"de": "Testantrag", "en": "Test application"},
    "pages": [
        {
            "key": "person",
            "title": {"de": "Person", "en": "Person"},
            "fields": [
                {"key": "vorname", "type": "text", "label": {"de": "Vorname", "en": "First name"},
                 "required": True, "privacy": "personal"},
                {"key": "nachname", "type": "text", "label": {"de": "Nachname", "en": "Last name"},
                 "required": True, "privacy": "personal"},
                {"key": "mail", "type": "email", "label": {"de": "E-Mail", "en": "Email"},
                 "required": False, "privacy": "personal"},
            ],
        },
    ],
}
ANSWERS = {"vorname": "Erika", "nachname": "Mustermann", "mail": "erika@example.org"}


@pytest.fixture
def service(db):
    service = ServiceFactory(slug="anonym", login_required=False)
    definition = FormDefinition(service_id=service.id, draft=FORM)
    db.session.add(definition)
    db.session.flush()
    publish_form(definition, None)
    seed_workflows(SeedReport())
    return service


def _anonymous_draft(service, token, answers=ANSWERS):
    draft = drafts.start_draft(service, None, session_token=token)
    drafts.save_answers(draft, answers, "person")
    return draft


def test_anonymous_draft_stores_only_the_token_hash(db, service):
    token = random_token()
    draft = _anonymous_draft(service, token)
    assert draft.user_id is None and draft.anon_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert access.session_owns_draft(draft, token)
    assert not access.session_owns_draft(draft, random_token()) and not access.session_owns_draft(draft, None)
    assert not access.citizen_may_view_draft(CitizenFactory(), draft)  # an account does not own it
    with pytest.raises(ValueError):
        drafts.start_draft(service, None)


def test_anonymous_draft_expires_after_idle_time(app, db, service):
    token = random_token()
    draft = _anonymous_draft(service, token)
    draft.updated_at = utcnow() - timedelta(minutes=app.config["ANONYMOUS_DRAFT_TTL_MINUTES"] + 1)
    assert access.anonymous_draft_expired(draft) and not access.session_owns_draft(draft, token)


def test_adopt_drafts_moves_only_this_sessions_open_drafts(app, db, service):
    token, other = random_token(), random_token()
    mine, foreign = _anonymous_draft(service, token), _anonymous_draft(service, other)
    expired = _anonymous_draft(service, token)
    expired.updated_at = utcnow() - timedelta(minutes=app.config["ANONYMOUS_DRAFT_TTL_MINUTES"] + 1)
    user = CitizenFactory()

    adopted = drafts.adopt_drafts(token, user)

    assert adopted == [mine]
    assert (mine.user_id, mine.anon_token_hash) == (user.id, None)
    assert foreign.user_id is None and expired.user_id is None
    assert drafts.drafts_of(user) == [mine] and drafts.adopt_drafts(None, user) == []


def test_contact_email_prefilled_from_an_email_answer(db, service):
    assert contact_email_from_answers(_anonymous_draft(service, random_token())) == "erika@example.org"
    without = _anonymous_draft(service, random_token(), {"vorname": "A", "nachname": "B"})
    assert contact_email_from_answers(without) == ""


def test_submit_anonymously_stores_contact_and_token_hash_only(app, db, service):
    draft = _anonymous_draft(service, random_token())
    req = submit_anonymously(draft, " Erika@Example.org ", locale="de")
    db.session.commit()

    token = request_access_token(req.public_id)
    assert req.applicant_id is None and req.applicant_name == "Erika Mustermann"
    assert req.contact_email == "erika@example.org" and req.access_token_hash == token_digest(token)
    assert access.status_token(req) == token
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.payload["template"].as_string() == ACCESS_MAIL))
    assert job.payload == {"template": ACCESS_MAIL, "user_id": None, "request_id": req.id, "params": {}}
    # The token is nowhere in the database in clear text.
    for row in db.session.scalars(select(OutboxJob)):
        assert token not in json.dumps(row.payload)
    assert token not in json.dumps([req.answers, req.computed, req.contact_email, req.access_token_hash])


def test_submit_anonymously_refuses_bad_address_and_login_required_services(db, service):
    with pytest.raises(ValidationFailed) as exc:
        submit_anonymously(_anonymous_draft(service, random_token()), "keine-adresse")
    assert exc.value.details["field"] == "email"
    service.login_required = True
    with pytest.raises(PermissionDenied):
        submit_anonymously(_anonymous_draft(service, random_token()), "erika@example.org")


def _anonymous_request(service):
    return submit_anonymously(_anonymous_draft(service, random_token()), "erika@example.org")


def test_status_link_holder_is_the_applicant_of_that_request_only(db, service):
    req, other = _anonymous_request(service), _anonymous_request(service)
    token = request_access_token(req.public_id)
    holder = access.holder_for(req, token)
    assert holder is not None and access.is_applicant(req, holder)
    assert access.holder_for(req, request_access_token(other.public_id)) is None
    assert access.holder_for(req, "x" * 43) is None and access.holder_for(req, None) is None
    assert actor_roles(req, holder) == {"citizen"} and actor_roles(other, holder) == set()
    assert withdraw_transition(req, holder) is not None and withdraw_transition(other, holder) is None
    assert access.citizen_may_view(CitizenFactory(), req) is False
    assert access.citizen_may_view(CitizenFactory(), req, token) is True  # the link, whoever is logged in


def test_notifications_of_anonymous_requests_mail_the_contact_address(app, db, service):
    req = _anonymous_request(service)
    assert notify_citizen(req, "in_progress") is None
    assert db.session.scalar(select(InboxItem)) is None
    job = db.session.scalar(
        select(OutboxJob).where(OutboxJob.payload["template"].as_string() == "request_in_progress")
    )
    assert job.payload["user_id"] is None and job.payload["request_id"] == req.id

    contact = request_contact(req)
    subject, body, _html, _att = render_mail("request_in_progress", contact, request=req)
    assert req.reference in subject and "persönlichen Link aus Ihrer Eingangsbestätigung" in body
    assert f"/antraege/{req.public_id}" not in body  # no account page: the status link is the way in


def test_access_link_mail_carries_the_status_link_rebuilt_at_send_time(app, db, service, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path))
    req = _anonymous_request(service)
    db.session.commit()
    deliver_outbox_mail({"template": ACCESS_MAIL, "user_id": None, "request_id": req.id, "params": {}})
    (path,) = tmp_path.glob("*.eml")
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = mail.get_body(("plain",)).get_content()
    assert mail["To"] == "erika@example.org" and req.reference in mail["Subject"]
    assert f"/antraege/{req.public_id}/zugang/{request_access_token(req.public_id)}" in text


def test_notice_context_without_applicant_account(app, db, service):
    from models import Notice
    from models.base import new_public_id

    req = _anonymous_request(service)
    notice = Notice(public_id=new_public_id(), request_id=req.id, kind="approval",
                    verification_code="AAAA-BBBB-CCCC")
    db.session.add(notice)
    db.session.flush()
    assert build_context(notice)["applicant"]["name"] == "Erika Mustermann"


def test_requests_of_an_account_have_no_status_token(db, service):
    user = CitizenFactory()
    draft = drafts.start_draft(service, user)
    drafts.save_answers(draft, ANSWERS, "person")
    from services.submissions import submit_draft

    submitted = submit_draft(draft, user)
    req = db.session.get(ServiceRequest, submitted.id)
    assert access.status_token(req) is None
    assert access.holder_for(req, request_access_token(req.public_id)) is None
    assert db.session.scalar(select(Draft.user_id)) == user.id


def test_resend_access_link_only_for_matching_reference_and_contact_address(app, db, service, tmp_path,
                                                                          monkeypatch):
    req = _anonymous_request(service)

    def queued():
        query = select(OutboxJob).where(OutboxJob.payload["template"].as_string() == ACCESS_MAIL_AGAIN)
        return db.session.scalars(query).all()

    assert resend_access_link(req.reference, "andere@example.org") is False
    assert resend_access_link("DU-2026-999999", "erika@example.org") is False
    assert resend_access_link("", "") is False
    assert queued() == []
    assert resend_access_link(f" {req.reference.lower()} ", "Erika@Example.org ") is True
    (job,) = queued()
    assert job.payload["user_id"] is None and job.payload["request_id"] == req.id

    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path))
    db.session.commit()
    deliver_outbox_mail(job.payload)
    (path,) = tmp_path.glob("*.eml")
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = mail.get_body(("plain",)).get_content()
    assert mail["To"] == "erika@example.org" and "erneut angefordert" in text
    assert f"/antraege/{req.public_id}/zugang/{request_access_token(req.public_id)}" in text


def test_resend_access_link_never_for_requests_of_an_account(app, db, service, tmp_path, monkeypatch):
    """A request in an account has no link: the mail says to sign in, and goes to the account's address."""
    user = CitizenFactory(email="konto@example.org")
    req = ServiceRequest(reference="DU-2026-000777", service_id=service.id,
                         form_version_id=latest_version(service).id, applicant_id=user.id,
                         contact_email="frueher@example.org", access_token_hash="0" * 64, answers={},
                         state="eingegangen", department_id=service.department_id)
    db.session.add(req)
    db.session.flush()
    assert resend_access_link("DU-2026-000777", "fremd@example.org") is False
    assert resend_access_link("DU-2026-000777", "frueher@example.org") is True  # the address filed with
    (job,) = db.session.scalars(select(OutboxJob).where(OutboxJob.kind == "send_email")).all()
    assert job.payload["template"] == "request_access_link_in_account" and job.payload["user_id"] == user.id
    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path))
    db.session.commit()
    deliver_outbox_mail(job.payload)
    (path,) = tmp_path.glob("*.eml")
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = mail.get_body(("plain",)).get_content()
    assert mail["To"] == "konto@example.org" and "Meine Anträge" in text and "/anmelden" in text
    assert "/zugang/" not in text


def test_confirmed_account_of_the_contact_address_takes_over_the_request(app, db, service):
    from services.messages import citizen_timeline
    from services.workflow.audit import verify_chains

    req = submit_anonymously(_anonymous_draft(service, random_token()), "erika@example.org")
    other = submit_anonymously(_anonymous_draft(service, random_token()), "someone@example.org")
    owner = CitizenFactory(email="Erika@Example.org", email_confirmed_at=None)
    db.session.commit()
    assert claimable_requests(owner) == []  # the address is not confirmed yet
    with pytest.raises(NotFound):
        claim_request(owner, req.public_id)

    owner.email_confirmed_at = utcnow()
    assert claimable_requests(owner) == [req]
    with pytest.raises(NotFound):
        claim_request(owner, other.public_id)  # another address's request: as if it did not exist
    claim_request(owner, req.public_id)
    db.session.commit()

    assert req.applicant_id == owner.id and req.access_token_hash is None
    assert access.holder_for(req, request_access_token(req.public_id)) is None  # the status link is retired
    assert access.citizen_may_view(owner, req)
    assert req.events[-1].kind == "applicant_linked" and req.events[-1].actor_id == owner.id
    assert citizen_timeline(req)[0].title == "Ihrem Benutzerkonto zugeordnet"
    assert verify_chains() == []
    assert claimable_requests(owner) == []
    item = notify_citizen(req, "withdrawn")  # replies now go to the account's inbox and address
    assert item is not None and item.user_id == owner.id


def test_renewing_the_status_link_retires_the_old_one_and_mails_the_new_one(app, db, service, tmp_path,
                                                                           monkeypatch):
    from services.messages import citizen_timeline

    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path))
    req = _anonymous_request(service)
    db.session.commit()
    old = request_access_token(req.public_id)
    assert access.status_token(req) == old  # generation 0: the links of earlier submissions still work

    new = renew_access_link(req)
    db.session.commit()
    assert new != old and req.access_link_generation == 1
    assert access.holder_for(req, old) is None and access.holder_for(req, new) is not None
    assert access.status_token(req) == new
    assert citizen_timeline(req)[0].title == "Persönlicher Link erneuert, der bisherige gilt nicht mehr"
    renewed = OutboxJob.payload["template"].as_string() == ACCESS_MAIL_RENEWED
    job = db.session.scalar(select(OutboxJob).where(renewed))
    assert new not in json.dumps(job.payload)  # rebuilt at send time, never stored
    deliver_outbox_mail(job.payload)
    (path,) = tmp_path.glob("*.eml")
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = mail.get_body(("plain",)).get_content()
    assert f"/antraege/{req.public_id}/zugang/{new}" in text and old not in text
    assert renew_access_link(req) != new  # again: generation 2


def test_requests_of_an_account_have_no_link_to_renew(db, service):
    from services.submissions import submit_draft

    user = CitizenFactory()
    draft = drafts.start_draft(service, user)
    drafts.save_answers(draft, ANSWERS, "person")
    req = submit_draft(draft, user).request
    with pytest.raises(PermissionDenied):
        renew_access_link(req)


def test_status_links_survive_a_rotated_secret_key_while_the_old_one_is_a_fallback(app, db, service,
                                                                                   monkeypatch):
    req = _anonymous_request(service)
    old_key, token = app.config["SECRET_KEY"], request_access_token(req.public_id)
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-secret-key-after-rotation-0123456789")
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [old_key])
    assert access.holder_for(req, token) is not None  # the citizen's link: checked by its digest
    assert access.status_token(req) == token  # mails still carry it, rebuilt with the old key
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [])
    assert access.holder_for(req, token) is not None  # still opens the request
    assert access.status_token(req) is None  # but can no longer be rebuilt for a mail


def test_resend_after_the_old_key_is_gone_issues_a_new_link_to_the_contact_address(app, db, service,
                                                                                 monkeypatch):
    req = _anonymous_request(service)
    old_token = request_access_token(req.public_id)
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-secret-key-after-rotation-0123456789")
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [])
    assert resend_access_link(req.reference, "erika@example.org") is True
    new_token = access.status_token(req)
    assert new_token is not None and new_token != old_token and req.access_link_generation == 1
    assert access.holder_for(req, new_token) is not None and access.holder_for(req, old_token) is None
    assert req.events[-1].kind == "access_link_renewed" and req.events[-1].data == {"by": "key_rotation"}
    assert resend_access_link(req.reference, "erika@example.org") is True  # rebuildable now: unchanged
    assert access.status_token(req) == new_token and req.access_link_generation == 1
