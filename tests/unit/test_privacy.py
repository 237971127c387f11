"""services.privacy: the citizen's copy of their data (Art. 15/20 DSGVO), deleting their account (Art. 17)."""

import io
import json

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from models import ConfigChange, Draft, InboxItem, Notice, NoticeState, OutboxJob, ServiceRequest, User
from models.base import new_public_id, utcnow
from services import access, accounts, drafts, messages, privacy, uploads
from services.anonymous import ACCESS_MAIL_ACCOUNT_DELETED, claim_request, claimable_requests
from services.errors import PermissionDenied, ValidationFailed
from services.mail import deliver_outbox_mail, queue_mail
from services.notifications import notify_citizen
from services.passwords import verify_password
from services.tokens import request_access_token, token_digest
from services.workflow.audit import verify_chains
from tests.factories import (
    PASSWORD,
    CitizenFactory,
    DepartmentFactory,
    ServiceFactory,
    clerk_of,
    started_request,
)
from tests.support import Mailbox, body_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NOTE = "Interner Vermerk: Antragstellerin ist bekannt"
QUESTION = "Bitte senden Sie uns den Nachweis."


def _pdf(name="nachweis.pdf"):
    return FileStorage(stream=io.BytesIO(PDF), filename=name, content_type="application/pdf")


@pytest.fixture
def world(db):
    """Erika's account: a draft with a file, an open request with a question, her answer (with a
    file), an internal note and a notice; a withdrawn (closed) request; someone else's request."""
    dept = DepartmentFactory()
    service = ServiceFactory(department=dept)
    erika = CitizenFactory(email="erika@example.org", full_name="Erika Mustermann")
    clerk = clerk_of(dept)
    clerk.full_name = "Sachbearbeiterin Schmidt"

    open_req = started_request(service=service, applicant=erika, answers={"name": "Erika Mustermann"})
    messages.run_clerk_transition(open_req, "bearbeitung_beginnen", clerk, {}, open_req.row_version)
    messages.run_clerk_transition(open_req, "rueckfrage_stellen", clerk, {"message": QUESTION},
                                  open_req.row_version)
    question = messages.open_questions(open_req)[0]
    messages.answer_question(open_req, question, erika, "Anbei der Nachweis.", [_pdf()])
    messages.add_note(open_req, clerk, NOTE)
    db.session.add(Notice(public_id=new_public_id(), request_id=open_req.id, kind="approval",
                          state=NoticeState.ISSUED, verification_code="ABCD-EFGH-JKLM",
                          issued_at=utcnow(), file_name="bescheid.pdf"))

    closed_req = started_request(service=service, applicant=erika, answers={"name": "Erika Mustermann"})
    messages.withdraw_request(closed_req, erika, closed_req.row_version)

    other_req = started_request(service=service, answers={"name": "Fremde Person"})

    draft = drafts.start_draft(service, erika)
    drafts.save_answers(draft, {"name": "Erika Entwurf"}, "angaben")
    draft_file = uploads.store_upload(draft, "name", _pdf("entwurf.pdf"), erika)
    db.session.commit()
    return {"erika": erika, "clerk": clerk, "open": open_req, "closed": closed_req, "other": other_req,
            "draft": draft, "draft_file": draft_file, "question": question}


# --- export ---------------------------------------------------------------------------------


def test_export_personal_data_holds_the_account_its_drafts_requests_and_inbox(world):
    erika, open_req = world["erika"], world["open"]
    data = privacy.export_personal_data(erika, "de")
    json.dumps(data)  # JSON as it is

    assert data["format"] == privacy.EXPORT_FORMAT and data["language"] == "de"
    assert data["account"]["email"] == "erika@example.org"
    assert data["account"]["full_name"] == "Erika Mustermann" and data["account"]["kind"] == "citizen"

    (draft,) = data["drafts"]
    assert draft["answers"] == {"name": "Erika Entwurf"}
    assert [(f["name"], f["sha256"]) for f in draft["files"]] == [("entwurf.pdf", world["draft_file"].sha256)]

    by_reference = {r["reference"]: r for r in data["requests"]}
    assert set(by_reference) == {open_req.reference, world["closed"].reference}
    exported = by_reference[open_req.reference]
    assert exported["answers"] == {"name": "Erika Mustermann"} and exported["state"]
    assert exported["answers_readable"][0]["rows"][0]["value"] == "Erika Mustermann"
    assert exported["submitted_at"] == open_req.submitted_at.isoformat() and exported["closed_at"] is None
    question, answer = exported["messages"]
    assert (question["from"], question["text"], question["in_reply_to"]) == ("office", QUESTION, None)
    assert (answer["from"], answer["text"], answer["in_reply_to"]) == ("applicant", "Anbei der Nachweis.", 1)
    (file,) = exported["files"]
    assert file["name"] == "nachweis.pdf" and file["size"] == len(PDF) and file["sent_with_message"]
    assert [n["kind"] for n in exported["notices"]] == ["approval"] and exported["notices"][0]["issued_at"]
    history = exported["history"]
    assert history[0]["title"] == "In Bearbeitung" and len(history) >= 3
    assert [h["at"] for h in history] == sorted(h["at"] for h in history)  # oldest first
    assert by_reference[world["closed"].reference]["closed_at"] is not None
    assert data["inbox"] and all(entry["reference"] for entry in data["inbox"])


def test_export_personal_data_leaves_out_what_the_citizen_may_not_see(world):
    erika, clerk = world["erika"], world["clerk"]
    text = json.dumps(privacy.export_personal_data(erika, "de"), ensure_ascii=False)

    assert NOTE not in text  # internal notes
    assert clerk.full_name not in text and clerk.email not in text  # who worked on it
    assert world["other"].reference not in text and "Fremde Person" not in text  # other people's requests
    assert erika.password_hash not in text and "password" not in text
    assert world["draft_file"].stored_name not in text  # where files lie on the server


def test_export_personal_data_in_english(world):
    data = privacy.export_personal_data(world["erika"], "en")
    exported = next(r for r in data["requests"] if r["reference"] == world["open"].reference)
    assert exported["service"] == world["open"].service.title_en and data["language"] == "en"


# --- deletion -------------------------------------------------------------------------------


def _deleted(world, password=PASSWORD):
    done = privacy.delete_account(world["erika"], password)
    from extensions import db

    db.session.commit()
    return done


def test_delete_account_deletes_drafts_files_and_inbox_and_anonymises_the_account(app, db, world):
    erika = world["erika"]
    file_path = uploads.attachment_path(world["draft_file"])
    assert file_path.exists()
    sessions = erika.session_version

    done = _deleted(world)

    assert done.drafts == 1 and db.session.scalar(select(func.count(Draft.id))) == 0
    assert not file_path.exists()  # gone with the commit
    assert db.session.scalar(select(func.count(InboxItem.id)).where(InboxItem.user_id == erika.id)) == 0
    user = db.session.get(User, erika.id)  # kept: requests and their history refer to it
    assert user.email.endswith("@" + privacy.DELETED_EMAIL_DOMAIN) and "erika" not in user.email
    assert user.full_name == "" and user.deleted_at is not None and user.email_confirmed_at is None
    assert not user.is_active_account and user.session_version == sessions + 1
    assert not verify_password(user.password_hash, PASSWORD)
    assert accounts.authenticate("erika@example.org", PASSWORD) is None
    change = db.session.scalar(select(ConfigChange).where(ConfigChange.action == "account_deleted"))
    assert change.object_id == str(erika.id) and change.details["drafts"] == 1
    assert "erika@example.org" not in json.dumps(change.details)


def test_delete_account_keeps_requests_open_ones_continue_with_a_status_link(app, db, world):
    erika, open_req, closed_req, other = world["erika"], world["open"], world["closed"], world["other"]
    answer_file = open_req.attachments[0]
    mailbox = Mailbox(app)

    done = _deleted(world)

    assert done.released == [open_req.reference] and done.kept == [closed_req.reference]
    db.session.expire_all()
    # Still being handled: no account any more, the old address as contact, a fresh status link.
    assert open_req.applicant_id is None and open_req.contact_email == "erika@example.org"
    token = access.status_token(open_req)
    assert token is not None and access.holder_for(open_req, token) is not None
    assert open_req.answers == {"name": "Erika Mustermann"} and open_req.attachments == [answer_file]
    assert len(open_req.messages) == 2 and any(e.kind == "note" for e in open_req.events)
    last = open_req.events[-1]
    assert (last.kind, last.actor_id, last.visible_to_citizen) == ("applicant_unlinked", erika.id, True)
    assert messages.citizen_timeline(open_req)[0].title.startswith("Benutzerkonto gelöscht")
    # Closed: the city's file, unchanged, with the anonymised account.
    assert closed_req.applicant_id == erika.id and closed_req.access_token_hash is None
    assert other.applicant_id is not None and other.applicant_id != erika.id
    assert verify_chains() == []  # the history's hashes still hold

    jobs = db.session.scalars(select(OutboxJob).where(
        OutboxJob.payload["template"].as_string() == ACCESS_MAIL_ACCOUNT_DELETED)).all()
    assert [job.request_id for job in jobs] == [open_req.id]
    mail = mailbox.last("erika@example.org")
    assert open_req.reference in mail["Subject"]
    assert f"/antraege/{open_req.public_id}/zugang/{token}" in body_of(mail)


def test_delete_account_later_news_reach_the_contact_address_not_the_deleted_account(app, db, world):
    erika, open_req, closed_req = world["erika"], world["open"], world["closed"]
    queue_mail(erika, "auth_password_changed")  # still in the outbox when the account goes
    db.session.commit()
    _deleted(world)
    mailbox = Mailbox(app)

    assert notify_citizen(open_req, "resumed") is None  # no inbox: mail to the contact address
    assert notify_citizen(closed_req, "notice_issued") is None  # a late notice of a closed request
    db.session.commit()
    assert db.session.scalar(select(func.count(InboxItem.id))) == 0
    sent = mailbox.deliver()
    # Erika's answer also told her clerk by mail (staff_citizen_replied); her own news go to her address
    assert {m["To"] for m in sent} - {world["clerk"].email} == {"erika@example.org"}
    assert not any(m["To"].endswith(privacy.DELETED_EMAIL_DOMAIN) for m in sent)
    deliver_outbox_mail({"template": "auth_password_changed", "user_id": erika.id, "params": {}})
    assert len(mailbox.messages()) == len(sent)  # nothing to the placeholder address


def test_delete_account_frees_the_address_for_a_new_account_which_may_take_the_request_back(db, world):
    open_req = world["open"]
    _deleted(world)

    again = accounts.register_citizen("Erika@Example.org", "ein neues langes Passwort", "Erika M.")
    assert again is not None and again.id != world["erika"].id and again.email == "erika@example.org"
    accounts.confirm_email(again)
    assert claimable_requests(again) == [open_req]  # the released request, as for any anonymous one
    assert [r.reference for r in drafts.requests_of(again)] == []


def test_delete_account_issues_a_new_link_generation_a_retired_link_stays_dead(db, world):
    open_req, erika = world["open"], world["erika"]
    # As if submitted without an account and taken into the account later (its link was retired).
    open_req.applicant_id, open_req.contact_email = None, "erika@example.org"
    open_req.access_token_hash = token_digest(request_access_token(open_req.public_id))
    db.session.commit()
    claim_request(erika, open_req.public_id)
    db.session.commit()

    _deleted(world)

    old = request_access_token(open_req.public_id)
    assert access.holder_for(open_req, old) is None and access.status_token(open_req) != old
    assert open_req.access_link_generation == 1


def test_delete_account_submitted_drafts_go_too_and_their_request_stays(db, world):
    erika, open_req = world["erika"], world["open"]
    submitted = drafts.start_draft(open_req.service, erika)
    submitted.submitted_at = utcnow()
    open_req.draft_id = submitted.id
    db.session.commit()

    done = _deleted(world)

    assert done.drafts == 1  # the unsubmitted one; the submitted one went too
    assert db.session.scalar(select(func.count(Draft.id))) == 0
    assert db.session.scalar(select(ServiceRequest.draft_id).where(ServiceRequest.id == open_req.id)) is None


def test_delete_account_refuses_a_wrong_password_and_changes_nothing(db, world):
    erika = world["erika"]
    with pytest.raises(ValidationFailed) as exc:
        privacy.delete_account(erika, "falsches Passwort")
    assert exc.value.details["field"] == "password"
    db.session.rollback()
    assert erika.email == "erika@example.org" and erika.is_active_account and erika.deleted_at is None
    assert db.session.scalar(select(func.count(Draft.id))) == 1


def test_delete_account_refuses_staff(db, world):
    clerk = world["clerk"]
    assert not privacy.may_delete_account(clerk)
    with pytest.raises(PermissionDenied):
        privacy.delete_account(clerk, PASSWORD)
    assert clerk.is_active_account and clerk.deleted_at is None


def test_deletion_preview_names_what_continues_and_what_is_kept(world):
    preview = privacy.deletion_preview(world["erika"])
    assert preview.drafts == 1 and preview.still_open == [world["open"]] and preview.closed == 1
    assert privacy.may_delete_account(world["erika"])


def test_delete_account_released_requests_keep_the_accounts_language_for_e_mails(app, db, world):
    erika, open_req = world["erika"], world["open"]
    erika.locale = "en"  # "Sprache für E-Mails" on Mein Konto
    open_req.locale = "de"  # the page language it was filled in
    db.session.commit()
    mailbox = Mailbox(app)

    _deleted(world)

    assert open_req.locale == "en"
    mail = mailbox.last("erika@example.org")
    assert "You have deleted your user account" in body_of(mail) and "Guten Tag" not in body_of(mail)
