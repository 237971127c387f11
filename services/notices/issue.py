"""The render_notice job: render, seal and store one notice — idempotent, file and row agree."""

import hashlib
import logging
import os
import secrets
import time

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from models import Notice, NoticeState, ServiceRequest
from models.base import utcnow
from services.events import append_event
from services.notices.context import attachment_json, build_context, template_for
from services.notices.failures import NoticeFailed, failing_as, failure_of, template_failure
from services.notices.files import notice_dir
from services.notices.render import RenderFailed, render_pdf
from services.notices.sign import sign_pdf
from services.notices.templates_env import render_template

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 2000


def render_notice_pdf(notice) -> bytes:
    """The unsigned PDF/A-3b of a notice (template → HTML → PDF with bescheid.json attached).

    The template is the latest published version when the job runs (also when a clerk retries a
    failed notice). Raises NoticeFailed saying why when it does not render with this notice's data.
    """
    source, css, version = template_for(notice)
    notice.template_version_id = version.id if version is not None else None
    context = build_context(notice)
    try:  # the context is plain data: whatever goes wrong while the template runs is the template's
        html = render_template(source, context)
    except Exception as exc:
        raise NoticeFailed(notice, template_failure(exc, source, version)) from exc
    with failing_as(notice, "pdf_render"):
        try:
            return render_pdf(html, css, attachment_json(notice, context), title=context["notice"]["title"])
        except RenderFailed as exc:  # a resource the template refers to is refused
            raise NoticeFailed(notice, template_failure(exc, source, version)) from exc


def seal_notice_pdf(notice, pdf: bytes) -> bytes:
    """Seal a rendered notice with its department's seal (PAdES B-LT)."""
    department = notice.request.department
    reason = f"{notice.request.reference} – Prüfcode {notice.verification_code}"
    with failing_as(notice, "signing"):
        return sign_pdf(pdf, department.slug, department.name("de"), current_app.config, reason=reason)


def build_notice_pdf(notice) -> bytes:
    """Render and seal: the in-process floor the worker pipeline is measured against."""
    return seal_notice_pdf(notice, render_notice_pdf(notice))


def issue_notice_job(payload: dict) -> None:
    """Outbox job `render_notice`: lock the row; unless issued: render, seal, store, notify, commit."""
    notice = db.session.execute(
        select(Notice).where(Notice.id == int(payload["notice_id"])).with_for_update()
    ).scalar_one_or_none()
    if notice is None or notice.state == NoticeState.ISSUED:
        db.session.rollback()
        return
    try:
        _load_request_for(notice)
        # One UPDATE of the notice at the end instead of one per attribute the render sets.
        with db.session.no_autoflush:
            notice.issued_at = utcnow()
            cpu = time.thread_time()
            pdf = build_notice_pdf(notice)
            cpu = time.thread_time() - cpu
        with failing_as(notice, "storage"):
            path = _write_file(notice, pdf)
    except BaseException:
        db.session.rollback()
        raise
    try:
        _mark_issued(notice, path, pdf)
        notice_id = notice.id
        db.session.commit()
    except BaseException:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    # Operators see render cost drift here; bench/notices.py compares it with the whole job's CPU.
    log.info("notice %s issued: render + seal %.1f ms CPU", notice_id, cpu * 1000)


def _load_request_for(notice) -> None:
    """Load the notice's request with everything the template context reads, in two statements
    (one per lazy relationship otherwise), and attach it to the notice (the session only holds
    loaded objects weakly: unreferenced, they would be gone before the render reads them)."""
    request = db.session.execute(
        select(ServiceRequest)
        .where(ServiceRequest.id == notice.request_id)
        .options(
            joinedload(ServiceRequest.department),
            joinedload(ServiceRequest.service),
            joinedload(ServiceRequest.applicant),
            joinedload(ServiceRequest.form_version),
            selectinload(ServiceRequest.attachments),
        )
    ).unique().scalar_one()
    set_committed_value(notice, "request", request)


def _write_file(notice, pdf: bytes):
    """Write under a temporary name, fsync, then rename: readers never see a partial file."""
    directory = notice_dir()
    name = f"{notice.public_id}-{secrets.token_hex(4)}.pdf"
    tmp = directory / f".{name}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(pdf)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, directory / name)
    return directory / name


def _mark_issued(notice, path, pdf: bytes) -> None:
    notice.file_name = path.name
    notice.sha256 = hashlib.sha256(pdf).hexdigest()
    notice.size = len(pdf)
    notice.state, notice.error, notice.failure = NoticeState.ISSUED, "", None
    req = notice.request
    append_event(
        req,
        "notice_issued",
        data={
            "notice_id": notice.id,
            "kind": notice.kind,
            "revision": notice.revision,
            "sha256": notice.sha256,
        },
        visible_to_citizen=True,
    )
    _notify(req, notice)
    db.session.flush()


def _notify(req, notice) -> None:
    """Tell the applicant (inbox + email) through the workflow area's notifications, if it knows the kind."""
    from services import notifications

    if "notice_issued" not in getattr(notifications, "NOTIFICATION_KINDS", {}):
        log.warning("notification kind notice_issued not registered; applicant not notified")
        return
    notifications.notify_citizen(req, "notice_issued", notice=notice, notice_kind=notice.kind)


def mark_notice_failed(notice_id: int, error: str, exception: BaseException | None = None) -> Notice | None:
    """Failure hook: record that a notice could not be issued (after the last attempt), why as data
    (from the job's `exception`) and the technical `error` text for ops; flushes, the caller commits."""
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.state == NoticeState.ISSUED:
        return notice
    notice.state = NoticeState.FAILED
    notice.error = (error or "")[-MAX_ERROR_CHARS:]  # a traceback's end names the exception
    notice.failure = failure_of(exception)
    append_event(
        notice.request,
        "notice_failed",
        data={"notice_id": notice.id, "kind": notice.kind, "revision": notice.revision},
    )
    db.session.flush()
    return notice


def warm_up(config=None) -> None:
    """Import WeasyPrint, load fonts and CSS, compile the bundled templates, parse every seal key and
    do one real render + seal per department: afterwards the first job costs what the others do."""
    from models import Department
    from services.notices import NOTICE_KINDS
    from services.notices.context import bundled_source
    from services.notices.templates import sample_context
    from services.notices.templates_env import compile_template

    config = config or current_app.config
    for kind in NOTICE_KINDS:
        compile_template(bundled_source(kind))
    html = render_template(bundled_source("approval"), sample_context("approval"))
    pdf = render_pdf(html, "", '{"warm_up": true}')
    for department in db.session.scalars(select(Department).where(Department.active.is_(True))):
        sign_pdf(pdf, department.slug, department.name("de"), config)
