"""Sending stored files to the browser: one code path (and one set of headers) for citizens and staff."""

from flask import abort, send_file

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
