"""Where issued notice PDFs live (NOTICE_DIR, outside the web root)."""

from pathlib import Path

from flask import current_app
from sqlalchemy import select

from extensions import db
from models import Notice, NoticeState


def notice_dir() -> Path:
    path = Path(current_app.config["NOTICE_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def notice_file_path(notice) -> Path | None:
    """The stored PDF of an issued notice, or None while it is pending/failed or the file is missing."""
    if not notice.file_name:
        return None
    path = notice_dir() / notice.file_name
    return path if path.is_file() else None


def download_name(notice) -> str:
    """File name offered to the user, e.g. `Bescheid-DU-2026-000123-approval-1.pdf`."""
    return f"Bescheid-{notice.request.reference}-{notice.kind}-{notice.revision}.pdf"


def issued_notice_file(req, notice_public_id: str):
    """(notice, stored PDF) of an issued notice of `req`, or None (unknown, not issued, file missing).

    The one lookup behind every notice download; who may see `req` is the caller's check.
    """
    notice = db.session.scalar(
        select(Notice).where(Notice.public_id == notice_public_id, Notice.request_id == req.id,
                             Notice.state == NoticeState.ISSUED)
    )
    path = notice_file_path(notice) if notice is not None else None
    return (notice, path) if path is not None else None
