"""Shared helpers for the notice tests: issue a real notice (render + seal) and read it back."""

from pathlib import Path

from extensions import db
from services.notices import request_notice
from services.notices.files import notice_file_path
from services.notices.issue import issue_notice_job
from tests.factories import ServiceRequestFactory


def issue_notice(kind="approval", data=None, **request_kwargs):
    """Create a request, request a notice of `kind`, run its job; returns (notice, pdf bytes)."""
    req = ServiceRequestFactory(**request_kwargs)
    notice = request_notice(req, kind, data=data)
    db.session.commit()
    issue_notice_job({"notice_id": notice.id})
    db.session.refresh(notice)
    path = notice_file_path(notice)
    return notice, Path(path).read_bytes() if path else None
