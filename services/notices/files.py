"""Where issued notice PDFs live (NOTICE_DIR, outside the web root)."""

import re
import unicodedata
from pathlib import Path
from urllib.parse import quote

from flask import current_app
from sqlalchemy import select

from extensions import db
from models import Notice, NoticeState

_UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}


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
    """File name offered to the user, from the kind's title in the current language.

    `Eingangsbestätigung-DU-2026-000123.pdf`, `Notice-approval-DU-2026-000123-2.pdf`: the revision only
    from the second one on. May contain umlauts; HTTP responses add `ascii_file_name` as a fallback.
    """
    from services.notices import notice_title

    words = re.findall(r"\w+", notice_title(notice.kind)) or ["Dokument"]
    revision = f"-{notice.revision}" if (notice.revision or 1) > 1 else ""
    return f"{'-'.join(words)}-{notice.request.reference}{revision}.pdf"


def ascii_file_name(name: str) -> str:
    """An ASCII spelling of a file name (umlauts as ae/oe/ue/ss, other accents dropped, no quotes)."""
    for umlaut, spelled in _UMLAUTS.items():
        name = name.replace(umlaut, spelled)
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def content_disposition(name: str) -> str:
    """RFC 6266 `attachment` header: ASCII `filename` for old clients, `filename*` (RFC 8187) for the rest."""
    return f"attachment; filename=\"{ascii_file_name(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


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
