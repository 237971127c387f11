"""Sending stored files to the browser: one code path (and one set of headers) for citizens and staff."""

from flask import abort, send_file

from extensions import db
from models import Attachment
from services import uploads
from services.notices.files import content_disposition, download_name, issued_notice_file


def private_file(response):
    """Headers of every private download: not cached by shared caches, not sniffed, not run."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def send_notice(req, notice_public_id: str):
    """The sealed PDF of an issued notice of `req` (the caller checked who may see `req`); else 404."""
    found = issued_notice_file(req, notice_public_id)
    if found is None:
        abort(404)
    notice, path = found
    response = send_file(path, mimetype="application/pdf", as_attachment=True, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(download_name(notice))
    return private_file(response)


def send_attachment(req, attachment_public_id: str):
    """A file of `req` (uploaded with the form or a reply; the caller checked who may see `req`); else 404."""
    attachment = db.session.scalar(
        db.select(Attachment).where(
            Attachment.public_id == attachment_public_id, Attachment.request_id == req.id
        )
    )
    if attachment is None:
        abort(404)
    response = send_file(uploads.attachment_path(attachment), mimetype=attachment.mime_type,
                         as_attachment=True, download_name=attachment.original_name, max_age=0)
    return private_file(response)
