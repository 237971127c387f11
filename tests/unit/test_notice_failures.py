"""A notice that could not be created: the worker records why as data (a reason code and its
parameters, next to the technical text for ops), every reader gets it in their own language, the
clerk can queue it again (it then renders with the template published meanwhile), the applicant is
told it is on its way or delayed."""

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from extensions import db as _db
from models import NoticeState, NoticeTemplate, NoticeTemplateVersion, OutboxJob, OutboxState, RequestEvent
from services.errors import PermissionDenied, ValidationFailed
from services.notices import notices_for_applicant, request_notice, retry_notice
from services.notices.failures import NoticeFailed, describe_failure, failure_reason
from services.notices.issue import issue_notice_job, mark_notice_failed
from services.notices.sign import clear_cache
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


def _unchecked_version(html: str, service=None, kind: str = "approval"):
    """A version as one published before publish checked what it checks now (no check here)."""
    owner = service.id if service else None
    template = NoticeTemplate(service_id=owner, kind=kind, draft_html="", draft_css="")
    _db.session.add(template)
    _db.session.flush()
    version = NoticeTemplateVersion(template=template, number=1, html=html, css="")
    _db.session.add(version)
    return version


def _fail_through_the_outbox(app, monkeypatch, notice):
    """Run the notice's job the way a worker does, with one attempt allowed: it gives up."""
    from workers.tasks import execute_outbox

    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 1)
    job = _db.session.scalars(select(OutboxJob).where(OutboxJob.kind == "render_notice")).one()
    with pytest.raises(NoticeFailed):
        execute_outbox(job.id)
    _db.session.expire_all()
    return _db.session.get(type(notice), notice.id), _db.session.get(OutboxJob, job.id)


def _failed_notice(app, monkeypatch, html: str | None = None, **request_kwargs):
    """A fresh approval notice run through the outbox until it gives up (`html`: its template)."""
    if html is not None:
        _unchecked_version(html)
    notice = request_notice(ServiceRequestFactory(**request_kwargs), "approval")
    _db.session.commit()
    notice, _job = _fail_through_the_outbox(app, monkeypatch, notice)
    assert notice.state == NoticeState.FAILED and "Traceback" in notice.error  # the text stays for ops
    return notice


def test_template_that_only_breaks_on_real_data_records_the_missing_name(db, app, monkeypatch):
    version = _publish_city_template("rejection", ONLY_REAL_DATA_BREAKS)  # publish accepts it
    req = ServiceRequestFactory(reference="DU-2026-900001")
    notice = request_notice(req, "rejection", data={"reason": "zu spät"})
    _db.session.commit()

    notice, job = _fail_through_the_outbox(app, monkeypatch, notice)

    assert notice.state == NoticeState.FAILED and job.state == OutboxState.FAILED
    assert "Traceback" in notice.error and "Traceback" in job.last_error  # the technical text for ops
    assert notice.failure == {
        "code": "template_undefined",
        "template": {"owner": "city", "version": version.number},
        "line": 2,
        "name": "decision.nope",
    }
    reason = failure_reason(notice)
    assert reason.code == "template_undefined" and reason.in_template
    assert reason.text == (
        f"Vorlage „Bescheid – Ablehnung“ (stadtweit), Version {version.number}: Die Vorlage verwendet "
        "„decision.nope“, das für diesen Antrag nicht gesetzt ist (Zeile 2)."
    )


def test_reason_is_worded_in_the_readers_language(db, app, monkeypatch):
    service = ServiceFactory(title_de="Hundesteuer", title_en="Dog tax")
    _unchecked_version("<p>{{ applicant.name }}</p>\n<p>{{ decision.valid_until | date }}</p>", service)
    notice = _failed_notice(app, monkeypatch, service=service)

    with force_locale("en"):
        english = failure_reason(notice).text
    assert english == (
        "Template “Notice – approval” (Dog tax), version 1: The template uses “decision.valid_until”, "
        "which is not set for this application (line 2)."
    )
    german = failure_reason(notice).text
    assert german.startswith("Vorlage „Bescheid – Genehmigung“ (Hundesteuer), Version 1: Die Vorlage")


def test_worker_refuses_a_misspelled_name_instead_of_printing_a_blank(db):
    """A version published before names were checked still cannot issue "Name: ." notices."""
    _unchecked_version("Name: {{ applicant.nmae }}.")
    notice = request_notice(ServiceRequestFactory(), "approval")
    _db.session.commit()

    with pytest.raises(NoticeFailed, match=r"verwendet „applicant\.nmae“, das für diesen Antrag") as caught:
        issue_notice_job({"notice_id": notice.id})
    assert caught.value.failure["name"] == "applicant.nmae" and caught.value.failure["line"] == 1
    assert _db.session.get(type(notice), notice.id).state == NoticeState.PENDING


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>{{ nmae }}</p>", {"code": "template_undefined", "line": 1, "name": "nmae"}),
        ("<p>\n{% if decision %}</p>", {"code": "template_syntax", "line": 2, "problem": "unclosed_block",
                                         "block": "if"}),
        ("<p>{{ decision | shout }}</p>", {"code": "template_syntax", "line": 1, "problem": "unknown_filter",
                                           "name": "shout"}),
        ("<p>\n\n{{ 1 / 0 }}</p>", {"code": "template_error", "line": 3, "error": "ZeroDivisionError"}),
        ('<img src="file:///etc/passwd">', {"code": "template_resource", "urls": ["file:///etc/passwd"]}),
    ],
)
def test_template_failures_record_their_code_and_parameters(db, app, monkeypatch, html, expected):
    notice = _failed_notice(app, monkeypatch, html)
    assert notice.failure == {**expected, "template": {"owner": "city", "version": 1}}
    assert failure_reason(notice).in_template


def test_bundled_template_is_named_as_such(db):
    notice = request_notice(ServiceRequestFactory(), "rejection")
    record = {"code": "template_undefined", "template": {"owner": "bundled"}, "line": 3, "name": "decision.x"}
    assert describe_failure(notice, record).text == (
        "Mitgelieferte Vorlage: Die Vorlage verwendet „decision.x“, das für diesen Antrag nicht gesetzt ist "
        "(Zeile 3)."
    )


def test_a_seal_that_cannot_be_loaded_is_a_signing_failure(db, app, monkeypatch, tmp_path):
    broken = tmp_path / "seal.p12"
    broken.write_bytes(b"not a PKCS#12 file")
    monkeypatch.setitem(app.config, "SIGNING_PKCS12", str(broken))
    monkeypatch.setitem(app.config, "TSA_URL", "http://127.0.0.1:9/tsa")  # never reached
    clear_cache()

    notice = _failed_notice(app, monkeypatch)

    assert notice.failure == {"code": "signing"} and "PKCS12" in notice.error
    reason = failure_reason(notice)
    assert not reason.in_template and reason.text == "Beim Siegeln ist ein technischer Fehler aufgetreten."


def test_a_notice_directory_that_cannot_be_written_is_a_storage_failure(db, app, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setitem(app.config, "NOTICE_DIR", str(blocker / "notices"))

    notice = _failed_notice(app, monkeypatch)

    assert notice.failure == {"code": "storage"} and "NotADirectoryError" in notice.error
    with force_locale("en"):
        assert failure_reason(notice).text == "A technical error occurred while storing the notice."


def test_an_error_inside_weasyprint_is_a_pdf_render_failure(db, app, monkeypatch):
    import weasyprint

    def broken_write_pdf(*args, **kwargs):
        raise OSError("cairo: out of memory")

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", broken_write_pdf)  # WeasyPrint's, not ours

    notice = _failed_notice(app, monkeypatch)

    assert notice.failure == {"code": "pdf_render"} and "cairo: out of memory" in notice.error
    assert not failure_reason(notice).in_template


def test_an_error_the_job_did_not_name_is_unknown(db):
    notice = request_notice(ServiceRequestFactory(), "approval")
    mark_notice_failed(notice.id, "Traceback …\nWorkerDied: worker process 12 died\n", RuntimeError("died"))
    assert notice.state == NoticeState.FAILED and notice.failure == {"code": "unknown"}
    reason = failure_reason(notice)
    assert not reason.in_template
    assert reason.text == "Beim Erstellen des Bescheids ist ein technischer Fehler aufgetreten."


def test_old_rows_without_a_record_fall_back_to_their_error_text(db):
    req = ServiceRequestFactory()
    template_row, technical_row = request_notice(req, "approval"), request_notice(req, "rejection")
    message = "Vorlage „Bescheid – Genehmigung“ (stadtweit), Version 2: Zeile 2: „nope“ gibt es nicht."
    template_row.error = f"Traceback …\nservices.notices.NoticeTemplateFailed: {message}\n"
    technical_row.error = "Traceback …\nOSError: PKCS#11 token not present\n"

    assert template_row.failure is None and failure_reason(template_row).text == message
    assert failure_reason(template_row).in_template
    assert failure_reason(technical_row).code == "unknown" and not failure_reason(technical_row).in_template


def test_retry_renders_with_the_template_published_since(db, app, monkeypatch):
    _publish_city_template("rejection", ONLY_REAL_DATA_BREAKS)
    dept = DepartmentFactory()
    req = ServiceRequestFactory(service=ServiceFactory(department=dept), reference="DU-2026-900002")
    notice = request_notice(req, "rejection", data={"reason": "zu spät"})
    _db.session.commit()
    notice, job = _fail_through_the_outbox(app, monkeypatch, notice)
    assert notice.failure["code"] == "template_undefined"
    fixed = _publish_city_template("rejection", "<p>Gründe: {{ decision.reason }}</p>")
    clerk = clerk_of(dept)

    retry_notice(notice.request, notice.public_id, clerk)
    _db.session.commit()

    assert notice.state == NoticeState.PENDING and notice.error == "" and notice.failure is None
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
