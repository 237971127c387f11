"""A service no longer offered online: drafts are kept but wait; submitted requests carry on."""

import io

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from models import Draft, ServiceRequest
from services import catalog, drafts, uploads
from services.anonymous import submit_anonymously
from services.errors import NotFound, ServiceNotOffered
from services.submissions import lock_draft, submit_draft
from services.tokens import random_token
from services.workflow import apply_transition, available_transitions
from tests.factories import CitizenFactory, DepartmentFactory, ServiceFactory, clerk_of
from tests.unit.test_submissions import PDF, VALID
from tests.unit.test_submissions import service as service  # a fixture


def _draft(service, user=None, token=None):
    draft = drafts.start_draft(service, user, session_token=token)
    drafts.save_answers(draft, VALID, "nachweis")
    return draft


def _requests(db) -> int:
    return db.session.scalar(select(func.count(ServiceRequest.id)))


def test_is_offered_needs_an_active_service_of_an_active_department(db):
    assert catalog.is_offered(ServiceFactory())
    assert not catalog.is_offered(ServiceFactory(active=False))
    assert not catalog.is_offered(ServiceFactory(department=DepartmentFactory(active=False)))


@pytest.mark.parametrize("what", ["service", "department"])
def test_start_draft_refused_while_not_offered(db, service, what):
    (service if what == "service" else service.department).active = False
    with pytest.raises(NotFound):
        drafts.start_draft(service, CitizenFactory())
    with pytest.raises(NotFound):
        drafts.start_draft(service, None, session_token=random_token())
    assert db.session.scalar(select(func.count(Draft.id))) == 0


@pytest.mark.parametrize("what", ["service", "department"])
def test_submit_refused_while_not_offered_keeps_the_draft(db, service, what):
    user = CitizenFactory()
    draft = _draft(service, user)
    (service if what == "service" else service.department).active = False
    db.session.flush()
    with pytest.raises(ServiceNotOffered) as exc:
        submit_draft(draft, user)
    assert exc.value.status == 409 and "nicht online angeboten" in exc.value.message
    assert _requests(db) == 0
    db.session.expire_all()
    assert draft.submitted_at is None and draft.answers == VALID
    assert drafts.drafts_of(user) == [draft]


def test_reactivating_the_service_lets_the_draft_be_submitted(db, service):
    user = CitizenFactory()
    draft = _draft(service, user)
    service.active = False
    db.session.flush()
    with pytest.raises(ServiceNotOffered):
        submit_draft(draft, user)
    service.active = True
    db.session.flush()
    req = submit_draft(draft, user).request
    assert req.answers == VALID and draft.submitted_at is not None


def test_submit_after_the_lock_query_of_the_submit_view_is_refused(db, service):
    """The submit view loads and locks the draft first (lock_draft); submit_draft reuses that row."""
    user = CitizenFactory()
    draft = _draft(service, user)
    db.session.commit()
    service.active = False  # the department switched it off while the review page was open
    db.session.commit()
    locked = lock_draft(draft.public_id)
    with pytest.raises(ServiceNotOffered):
        submit_draft(locked, user)
    assert _requests(db) == 0


def test_anonymous_submit_refused_while_not_offered(db, service):
    service.login_required = False
    draft = _draft(service, token=random_token())
    service.active = False
    db.session.flush()
    with pytest.raises(ServiceNotOffered):
        submit_anonymously(draft, "erika@example.org")
    assert _requests(db) == 0


def test_saving_or_removing_files_refused_while_not_offered(db, service):
    user = CitizenFactory()
    draft = _draft(service, user)
    kept = uploads.store_upload(draft, "dokument", FileStorage(io.BytesIO(PDF), "a.pdf"), user)
    saved = {**VALID, "dokument": [uploads.attachment_answer(kept)]}
    drafts.save_answers(draft, saved, "nachweis")
    db.session.commit()
    service.active = False
    db.session.flush()
    with pytest.raises(ServiceNotOffered) as exc:
        drafts.save_answers(draft, {"vorname": "Max"}, "person")
    assert "nicht gespeichert" in exc.value.message
    with pytest.raises(ServiceNotOffered):
        drafts.remove_draft_file(draft, kept.public_id)
    db.session.rollback()  # what the view's transaction does with the refused change
    assert db.session.get(Draft, draft.id).answers == saved
    assert uploads.draft_attachments(db.session.get(Draft, draft.id)) != []


def test_discarding_a_draft_stays_possible_while_not_offered(db, service):
    user = CitizenFactory()
    draft = _draft(service, user)
    service.active = False
    drafts.discard_draft(draft)
    assert drafts.drafts_of(user) == []


def test_count_open_drafts_counts_unsubmitted_drafts_of_the_service(db, service):
    user = CitizenFactory()
    _draft(service, user)
    _draft(service, token=random_token())
    submitted = _draft(service, user)
    submit_draft(submitted, user)
    other = ServiceFactory()
    db.session.add(Draft(user_id=user.id, service_id=other.id, form_version_id=submitted.form_version_id))
    db.session.flush()
    assert drafts.count_open_drafts(service) == 2


def test_submitted_requests_are_processed_after_deactivation(db, service):
    user = CitizenFactory()
    req = submit_draft(_draft(service, user), user).request
    service.active = False
    db.session.flush()
    clerk = clerk_of(service.department)
    names = [t.name for t in available_transitions(req, clerk)]
    assert "bearbeitung_beginnen" in names, names
    apply_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    assert req.state != "eingegangen"
