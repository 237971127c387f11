"""A notice whose template does not render with the real data: the worker says why in plain words,
the clerk can queue it again (it then renders with the template published meanwhile), the applicant
is told it is on its way or delayed."""

import pytest
from sqlalchemy import select

from extensions import db as _db
from models import NoticeState, NoticeTemplate, OutboxJob, OutboxState, RequestEvent
from services.errors import PermissionDenied, ValidationFailed
from services.notices import (
    NoticeTemplateFailed,
    failure_reason,
    notices_for_applicant,
    request_notice,
    retry_notice,
)
from services.notices.issue import issue_notice_job
from services.notices.templates import get_template, publish_template
from tests.factories import DepartmentFactory, ServiceFactory, ServiceRequestFactory, clerk_of

# Passes publish (the sample request has this reference), fails with any real one.
ONLY_REAL_DATA_BREAKS = (
    "<p>Bescheid</p>\n"
    '{% if request.reference != "DU-2026-000123" %}{{ decision.nope | date }}{% endif %}'
)


def _publish_city_template(kind: str, html: str):
    template = get_template(None, kind) or NoticeTemplate(service_id=None, kind=kind, draft_css="")
    _db.session.add(template)
    template.draft_html = html
    return publish_template(template)


def _fail_through_the_outbox(app, monkeypatch, notice):
    """Run the notice's job the way a worker does, with one attempt allowed: it gives up."""
    from workers.tasks import execute_outbox

    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 1)
    job = _db.session.scalars(select(OutboxJob).where(OutboxJob.kind == "render_notice")).one()
    with pytest.raises(NoticeTemplateFailed):
        execute_outbox(job.id)
    _db.session.expire_all()
    return _db.session.get(type(notice), notice.id), _db.session.get(OutboxJob, job.id)


def test_template_that_only_breaks_on_real_data_fails_with_a_plain_reason(db, app, monkeypatch):
    version = _publish_city_template("rejection", ONLY_REAL_DATA_BREAKS)  # publish accepts it
    req = ServiceRequestFactory(reference="DU-2026-900001")
    notice = request_notice(req, "rejection", data={"reason": "zu spät"})
    _db.session.commit()

    notice, job = _fail_through_the_outbox(app, monkeypatch, notice)

    assert notice.state == NoticeState.FAILED and job.state == OutboxState.FAILED
    assert "Traceback" in notice.error  # the technical text stays for ops
    assert failure_reason(notice) == (
        f"Vorlage „Bescheid – Ablehnung“ (stadtweit), Version {version.number}: "
        "Zeile 2: „nope“ gibt es bei diesem Wert nicht."
    )


def test_worker_refuses_a_misspelled_name_instead_of_printing_a_blank(db):
    """A version published before names were checked still cannot issue "Name: ." notices."""
    template = NoticeTemplate(service_id=None, kind="approval", draft_html="", draft_css="")
    _db.session.add(template)
    _db.session.flush()
    from models import NoticeTemplateVersion

    html = "Name: {{ applicant.nmae }}."
    _db.session.add(NoticeTemplateVersion(template=template, number=1, html=html, css=""))
    req = ServiceRequestFactory()
    notice = request_notice(req, "approval")
    _db.session.commit()

    with pytest.raises(NoticeTemplateFailed, match="Zeile 1: „nmae“ gibt es bei diesem Wert nicht"):
        issue_notice_job({"notice_id": notice.id})
    assert _db.session.get(type(notice), notice.id).state == NoticeState.PENDING


def test_technical_failures_have_no_template_reason(db):
    req = ServiceRequestFactory()
    notice = request_notice(req, "approval")
    from services.notices.issue import mark_notice_failed

    mark_notice_failed(notice.id, "Traceback …\nOSError: PKCS#11 token not present\n")
    assert notice.state == NoticeState.FAILED and failure_reason(notice) is None


def test_retry_renders_with_the_template_published_since(db, app, monkeypatch):
    _publish_city_template("rejection", ONLY_REAL_DATA_BREAKS)
    dept = DepartmentFactory()
    req = ServiceRequestFactory(service=ServiceFactory(department=dept), reference="DU-2026-900002")
    notice = request_notice(req, "rejection", data={"reason": "zu spät"})
    _db.session.commit()
    notice, job = _fail_through_the_outbox(app, monkeypatch, notice)
    fixed = _publish_city_template("rejection", "<p>Gründe: {{ decision.reason }}</p>")
    clerk = clerk_of(dept)

    retry_notice(notice.request, notice.public_id, clerk)
    _db.session.commit()

    assert notice.state == NoticeState.PENDING and notice.error == ""
    assert job.state == OutboxState.PENDING and job.attempts == 0  # the given-up row, not a second one
    assert _db.session.scalar(select(OutboxJob.id).where(OutboxJob.id != job.id)) is None
    event = _db.session.scalars(select(RequestEvent).where(RequestEvent.kind == "notice_retried")).one()
    assert event.actor_id == clerk.id and not event.visible_to_citizen
    assert event.data == {"notice_id": notice.id, "kind": "rejection", "revision": 1}

    issue_notice_job({"notice_id": notice.id})
    notice = _db.session.get(type(notice), notice.id)
    assert notice.state == NoticeState.ISSUED and notice.template_version_id == fixed.id
    assert notice.revision == 1  # the same notice (code, decision), now with the fixed template


def test_retry_refuses_notices_that_are_not_failed_and_other_departments(db):
    dept = DepartmentFactory()
    req = ServiceRequestFactory(service=ServiceFactory(department=dept))
    notice = request_notice(req, "approval")
    with pytest.raises(ValidationFailed, match="bereits erstellt"):
        retry_notice(req, notice.public_id, clerk_of(dept))
    notice.state = NoticeState.FAILED
    with pytest.raises(PermissionDenied):
        retry_notice(req, notice.public_id, clerk_of(DepartmentFactory()))
    assert notice.state == NoticeState.FAILED


def test_retry_without_an_open_outbox_row_records_a_new_one(db):
    dept = DepartmentFactory()
    req = ServiceRequestFactory(service=ServiceFactory(department=dept))
    notice = request_notice(req, "approval")
    _db.session.flush()
    old = _db.session.scalars(select(OutboxJob)).one()
    old.state = OutboxState.DONE  # e.g. finished by hand on the ops side
    notice.state = NoticeState.FAILED

    retry_notice(req, notice.public_id, clerk_of(dept))
    _db.session.flush()

    new = _db.session.scalars(select(OutboxJob).where(OutboxJob.id != old.id)).one()
    assert new.kind == "render_notice" and new.payload == {"notice_id": notice.id}
    assert new.state == OutboxState.PENDING


def test_applicant_sees_pending_and_failed_notices_unless_a_later_one_was_issued(db):
    req = ServiceRequestFactory()
    receipt = request_notice(req, "receipt")
    receipt.state = NoticeState.ISSUED
    first = request_notice(req, "approval")
    first.state = NoticeState.FAILED
    second = request_notice(req, "approval")
    second.state = NoticeState.ISSUED
    rejection = request_notice(req, "rejection")
    rejection.state = NoticeState.FAILED
    info = request_notice(req, "information_request")
    _db.session.flush()

    assert notices_for_applicant(req) == {
        "issued": [receipt, second], "pending": [info], "failed": [rejection]
    }
