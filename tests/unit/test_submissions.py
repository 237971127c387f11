"""submit_draft: one transaction with request, events and outbox row; idempotent; re-validates."""

import io
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from extensions import db as _db
from models import Attachment, Draft, FormDefinition, Notice, OutboxJob, RequestEvent, ServiceRequest
from services import drafts, uploads
from services.errors import AlreadySubmitted, EmailNotConfirmed, ValidationFailed
from services.formdefs import publish_form
from services.seed import SeedReport
from services.seed.workflows import seed_workflows
from services.submissions import applicant_name, submit_draft
from services.tx import transaction
from tests.factories import CitizenFactory, ServiceFactory

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

FORM = {
    "schema_version": 1,
    "title": {"de": "Testantrag", "en": "Test application"},
    "pages": [
        {
            "key": "person",
            "title": {"de": "Person", "en": "Person"},
            "fields": [
                {
                    "key": "vorname",
                    "type": "text",
                    "label": {"de": "Vorname", "en": "First name"},
                    "required": True,
                    "privacy": "personal",
                },
                {
                    "key": "nachname",
                    "type": "text",
                    "label": {"de": "Nachname", "en": "Last name"},
                    "required": True,
                    "privacy": "personal",
                },
                {
                    "key": "motorrad",
                    "type": "yesno",
                    "label": {"de": "Motorrad?", "en": "Motorcycle?"},
                    "required": True,
                    "privacy": "public",
                },
            ],
        },
        {
            "key": "nachweis",
            "title": {"de": "Nachweis", "en": "Proof"},
            "fields": [
                {
                    "key": "dokument",
                    "type": "file",
                    "label": {"de": "Nachweis", "en": "Proof"},
                    "required": False,
                    "privacy": "personal",
                    "accept": ["application/pdf"],
                    "max_size_mb": 1,
                },
            ],
        },
    ],
    "computed": {"fee_cents": {"if": [{"var": "motorrad"}, 1500, 3000]}},
}
VALID = {"vorname": "Erika", "nachname": "Mustermann", "motorrad": True}


@pytest.fixture
def service(db):
    service = ServiceFactory(slug="testantrag")
    definition = FormDefinition(service_id=service.id, draft=FORM)
    db.session.add(definition)
    db.session.flush()
    publish_form(definition, None)
    seed_workflows(SeedReport())
    return service


def _draft(service, user, answers=VALID):
    draft = drafts.start_draft(service, user)
    drafts.save_answers(draft, answers, "nachweis")
    return draft


def test_submit_draft_writes_request_events_and_outbox(db, service):
    user = CitizenFactory()
    draft = _draft(service, user)
    req = submit_draft(draft, user, locale="en").request
    assert req.reference.startswith("DU-") and req.reference.endswith("-000001")
    assert req.answers == VALID and req.computed["fee_cents"] == 1500
    assert req.applicant_id == user.id and req.applicant_name == "Erika Mustermann" and req.locale == "en"
    assert req.form_version_id == draft.form_version_id and req.workflow_version_id is not None
    assert req.state == "eingegangen" and req.department_id == service.department_id and req.due_at
    events = db.session.scalars(
        select(RequestEvent).where(RequestEvent.request_id == req.id).order_by(RequestEvent.seq)
    )
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["submitted", "routed"]
    assert db.session.scalar(select(RequestEvent).where(RequestEvent.kind == "submitted")).visible_to_citizen
    assert db.session.scalar(select(Notice.kind).where(Notice.request_id == req.id)) == "receipt"
    assert db.session.scalar(select(func.count(OutboxJob.id)).where(OutboxJob.request_id == req.id)) >= 1
    assert draft.submitted_at is not None and req.draft_id == draft.id


def test_submit_draft_twice_raises_already_submitted_with_request(db, service):
    user = CitizenFactory()
    draft = _draft(service, user)
    first = submit_draft(draft, user).request
    with pytest.raises(AlreadySubmitted) as exc:
        submit_draft(draft, user)
    assert exc.value.details["request"] is first
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 1


def test_submit_draft_requires_confirmed_email(db, service):
    user = CitizenFactory(email_confirmed_at=None)
    draft = _draft(service, user)
    with pytest.raises(EmailNotConfirmed):
        submit_draft(draft, user)
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 0


def test_submit_draft_revalidates_answers(db, service):
    user = CitizenFactory()
    draft = _draft(service, user, {"vorname": "Erika"})
    with pytest.raises(ValidationFailed) as exc:
        submit_draft(draft, user)
    assert "person" in exc.value.details["errors"]
    assert draft.submitted_at is None


def test_submit_draft_on_old_version_allowed_unless_latest_required(db, service):
    user = CitizenFactory()
    old = _draft(service, user)
    service.form_definition.draft = {**FORM, "title": {"de": "Testantrag 2", "en": "Test application 2"}}
    publish_form(service.form_definition, None, "Zweite Fassung")
    assert submit_draft(old, user).request.form_version.number == 1
    service.form_definition.require_latest = True
    stale = drafts.save_answers(
        Draft(user_id=user.id, service_id=service.id, form_version_id=old.form_version_id, answers={}),
        VALID,
        "person",
    )
    db.session.add(stale)
    with pytest.raises(ValidationFailed) as exc:
        submit_draft(stale, user)
    assert exc.value.details.get("outdated")
    drafts.upgrade_draft(stale)
    assert submit_draft(stale, user).request.form_version.number == 2


def test_submit_draft_moves_referenced_files_and_drops_others(db, service):
    user = CitizenFactory()
    draft = _draft(service, user)
    kept = uploads.store_upload(draft, "dokument", FileStorage(io.BytesIO(PDF), "a.pdf"), user)
    stray = uploads.store_upload(draft, "dokument", FileStorage(io.BytesIO(PDF), "b.pdf"), user)
    drafts.save_answers(draft, {**VALID, "dokument": [uploads.attachment_answer(kept)]}, "nachweis")
    req = submit_draft(draft, user).request
    db.session.commit()
    assert [a.public_id for a in req.attachments] == [kept.public_id]
    assert db.session.get(Attachment, stray.id) is None
    assert uploads.attachment_path(kept).exists()


def test_save_answers_drops_replaced_files(db, service):
    user = CitizenFactory()
    draft = _draft(service, user)
    old = uploads.store_upload(draft, "dokument", FileStorage(io.BytesIO(PDF), "alt.pdf"), user)
    drafts.save_answers(draft, {**VALID, "dokument": [uploads.attachment_answer(old)]}, "nachweis")
    new = uploads.store_upload(draft, "dokument", FileStorage(io.BytesIO(PDF), "neu.pdf"), user)
    drafts.save_answers(draft, {**VALID, "dokument": [uploads.attachment_answer(new)]}, "nachweis")
    assert [a.public_id for a in draft.attachments] == [new.public_id]


def test_remove_draft_file_updates_answers(db, service):
    user = CitizenFactory()
    draft = _draft(service, user)
    att = uploads.store_upload(draft, "dokument", FileStorage(io.BytesIO(PDF), "a.pdf"), user)
    drafts.save_answers(draft, {**VALID, "dokument": [uploads.attachment_answer(att)]}, "nachweis")
    drafts.remove_draft_file(draft, att.public_id)
    assert draft.answers["dokument"] == [] and draft.attachments == []


def _submitted_with_file(db, service):
    """A draft submitted with one file, as a second tab still holds it (loaded before the submit)."""
    from sqlalchemy.orm.attributes import set_committed_value

    user = CitizenFactory()
    draft = _draft(service, user)
    att = uploads.store_upload(draft, "dokument", FileStorage(io.BytesIO(PDF), "a.pdf"), user)
    drafts.save_answers(draft, {**VALID, "dokument": [uploads.attachment_answer(att)]}, "nachweis")
    req = submit_draft(draft, user).request
    db.session.commit()
    set_committed_value(draft, "submitted_at", None)
    return draft, att, req


def _survived(db, att, req):
    db.session.rollback()
    db.session.expire_all()
    moved = db.session.get(Attachment, att.id)
    return moved is not None and moved.request_id == req.id and uploads.attachment_path(moved).exists()


def test_drop_unreferenced_leaves_the_files_of_a_submitted_request(db, service):
    draft, att, req = _submitted_with_file(db, service)
    uploads.drop_unreferenced(draft, {})
    db.session.commit()
    assert _survived(db, att, req)


@pytest.mark.parametrize("second_tab", ["save_page", "remove_file"])
def test_second_tab_cannot_touch_a_draft_submitted_meanwhile(db, service, second_tab):
    """Checked under the draft's row lock: nothing changes, the request keeps its file."""
    draft, att, req = _submitted_with_file(db, service)
    with pytest.raises(AlreadySubmitted):
        if second_tab == "save_page":
            drafts.save_answers(draft, VALID, "nachweis")  # the page POST: the file no longer referenced
        else:
            drafts.remove_draft_file(draft, att.public_id)
    assert _survived(db, att, req)
    assert db.session.get(Draft, draft.id).answers["dokument"][0]["id"] == att.public_id


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"vorname": "Max", "nachname": "Muster"}, "Max Muster"),
        ({"name": " Firma GmbH "}, "Firma GmbH"),
        ({"vorname": "Max"}, "Konto Name"),
        ({"name": ["x"]}, "Konto Name"),
    ],
)
def test_applicant_name(app_ctx, answers, expected):
    class _User:
        full_name = "Konto Name"

    assert applicant_name(answers, _User()) == expected


def test_parallel_submits_of_one_draft_create_one_request_on_postgres(postgres, db, service):
    app = postgres
    user = CitizenFactory()
    draft = _draft(service, user)
    db.session.commit()
    ids = (draft.id, user.id)
    outcomes, barrier = [], threading.Barrier(8)

    def worker():
        with app.test_request_context():
            from models import User

            barrier.wait()
            try:
                with transaction():
                    req = submit_draft(_db.session.get(Draft, ids[0]), _db.session.get(User, ids[1]))
                outcomes.append(("created", req.reference))
            except (AlreadySubmitted, IntegrityError) as exc:
                outcomes.append(("refused", type(exc).__name__))
            except Exception as exc:  # reported by the assertion below
                outcomes.append(("error", repr(exc)))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [o for o in outcomes if o[0] == "error"] == []
    assert [o[0] for o in outcomes].count("created") == 1, outcomes
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 1


def test_reference_number_carries_the_citys_year(db, service, monkeypatch):
    """Half past midnight on New Year's Day in Duisburg is still 31 December in UTC."""
    from datetime import UTC, datetime

    monkeypatch.setattr("services.submissions.utcnow", lambda: datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    user = CitizenFactory()
    assert submit_draft(_draft(service, user), user).request.reference == "DU-2027-000001"


@pytest.mark.parametrize(
    ("full_name", "given", "family"),
    [
        ("Erika Mustermann", "Erika", "Mustermann"),
        ("Maria Luisa  Schmidt", "Maria Luisa", "Schmidt"),
        ("Anna von der Heide", "Anna", "von der Heide"),
        ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
        ("Madonna", "", "Madonna"),
        ("Erika Mustermann (geb. Gabler)", "Erika", "Mustermann"),
        ("", "", ""),
    ],
)
def test_account_name_split_for_prefill_keeps_particles_with_the_family_name(full_name, given, family):
    from services.drafts import _split_name

    assert _split_name(full_name) == (given, family)
