"""Uploaded files: content-sniffed allow-list, size limits, stored outside the web root.

Files are written under UPLOAD_DIR with generated names (never the user's file name): first to a
temporary name, then renamed. A rolled-back transaction removes the files it wrote; a removed
attachment's file is deleted only after the removal was committed.
"""

import hashlib
import os
import secrets
from pathlib import Path

import magic
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from extensions import db
from models import Attachment
from services.errors import UploadRejected
from services.formatting import format_alternatives
from services.formatting import format_size as human_size  # the one size formatter, under its old name

DEFAULT_ALLOWED_MIME = ("application/pdf", "image/jpeg", "image/png")
MIME_LABELS = {"application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG"}
_CHUNK = 64 * 1024


def upload_root() -> Path:
    """The directory holding every stored file (outside the web root)."""
    return Path(current_app.config["UPLOAD_DIR"])


def attachment_path(attachment: Attachment) -> Path:
    """Where the file of `attachment` lives on disk."""
    return upload_root() / attachment.stored_name


def store_upload(draft, field_key: str, file, actor, max_bytes=None, allowed=None) -> Attachment:
    """Check and store one uploaded file (werkzeug FileStorage) as an attachment of `draft`."""
    data, mime = read_upload(file, max_bytes, allowed)
    _check_request_total(draft, len(data))
    stored_name = save_bytes(data)
    attachment = Attachment(
        draft=draft,
        field_key=field_key,
        original_name=clean_filename(file.filename),
        stored_name=stored_name,
        mime_type=mime,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=actor.id if actor is not None else None,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def read_upload(file, max_bytes=None, allowed=None) -> tuple[bytes, str]:
    """The bytes and sniffed MIME type of an uploaded file, or UploadRejected (too big, empty, wrong type).

    `max_bytes` (e.g. a field's limit) never exceeds MAX_UPLOAD_BYTES; `allowed` defaults to PDF/JPG/PNG.
    """
    ceiling = current_app.config["MAX_UPLOAD_BYTES"]
    data = _read_limited(file, min(max_bytes or ceiling, ceiling))
    return data, _check_type(data, allowed or DEFAULT_ALLOWED_MIME)


def save_bytes(data: bytes) -> str:
    """Store checked bytes under a generated name in UPLOAD_DIR (removed again on rollback)."""
    return _write_file(data)


def attachment_answer(attachment: Attachment) -> dict:
    """The answer value of one file, as the form engine stores it."""
    return {
        "id": attachment.public_id,
        "name": attachment.original_name,
        "size": attachment.size,
        "mime": attachment.mime_type,
        "sha256": attachment.sha256,
    }


def remove_attachment(attachment: Attachment) -> None:
    """Delete the attachment row; its file goes once the transaction commits."""
    db.session.info.setdefault("uploads_to_delete", []).append(str(attachment_path(attachment)))
    for owner in (attachment.draft, attachment.request):
        if owner is not None and attachment in owner.attachments:
            owner.attachments.remove(attachment)
    db.session.delete(attachment)
    db.session.flush()


def file_ids(answers) -> set[str]:
    """Public ids of every file named anywhere in an answers tree (top level or inside groups)."""
    found, stack = set(), [answers]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "sha256" in value and isinstance(value.get("id"), str):
                found.add(value["id"])
            else:
                stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def draft_attachments(draft) -> list[Attachment]:
    """The draft's attachments that are still its own (queried: the relationship may not be loaded yet).

    Files that moved to the request on submit keep their draft_id but belong to the request now.
    """
    query = select(Attachment).where(Attachment.draft_id == draft.id, Attachment.request_id.is_(None))
    return list(db.session.scalars(query))


def drop_unreferenced(draft, answers) -> list[Attachment]:
    """Remove the draft's attachments no answer refers to (replaced files, hidden fields); the rest."""
    referenced, kept = file_ids(answers), []
    for attachment in draft_attachments(draft):
        if attachment.public_id in referenced:
            kept.append(attachment)
        else:
            remove_attachment(attachment)
    return kept


def clean_filename(name: str | None) -> str:
    """A display name only (never used on disk): no Windows path, no control characters, capped.

    Browsers send the base name; only old Internet Explorer sent "C:\\Users\\x\\Ausweis.pdf", and "\\"
    cannot occur in a Windows file name, so what follows the last one is the name. A "/" is part of
    the name (macOS allows "Rechnung 01/2026.pdf") and stays, unless the name looks like a POSIX
    path (empty, "." or ".." parts: "/home/x/a.pdf", "../../a.pdf"), which no browser sends.
    """
    base = (name or "").rsplit("\\", 1)[-1]
    parts = base.split("/")
    if any(part.strip() in ("", ".", "..") for part in parts[:-1]):
        base = parts[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    return base[:200] or _("Datei")


def _read_limited(file, max_bytes: int) -> bytes:
    chunks, total = [], 0
    while True:
        chunk = file.stream.read(_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise UploadRejected(_("Die Datei ist zu groß. Sie darf höchstens %(size)s groß sein.",
                                   size=human_size(max_bytes)))
        chunks.append(chunk)
    if total == 0:
        raise UploadRejected(_("Die ausgewählte Datei ist leer."))
    return b"".join(chunks)


def _check_type(data: bytes, allowed) -> str:
    mime = magic.from_buffer(data[:_CHUNK * 4], mime=True)
    if mime not in allowed:
        names = format_alternatives(MIME_LABELS.get(m, m) for m in allowed)
        raise UploadRejected(_("Die Datei muss vom Typ %(types)s sein.", types=names))
    return mime


def _check_request_total(draft, size: int) -> None:
    limit = current_app.config["MAX_REQUEST_UPLOAD_BYTES"]
    total = select(func.coalesce(func.sum(Attachment.size), 0)).where(Attachment.draft_id == draft.id)
    if db.session.scalar(total) + size > limit:
        raise UploadRejected(_(
            "Alle Dateien zusammen dürfen höchstens %(size)s groß sein. "
            "Entfernen Sie eine Datei oder wählen Sie eine kleinere.",
            size=human_size(limit),
        ))


def _write_file(data: bytes) -> str:
    root = upload_root()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    stored_name = secrets.token_hex(20)
    tmp = root / f".{stored_name}.part"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    final = root / stored_name
    os.replace(tmp, final)
    db.session.info.setdefault("uploads_written", []).append(str(final))
    return stored_name


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    session.info.pop("uploads_written", None)
    for path in session.info.pop("uploads_to_delete", []):
        Path(path).unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    session.info.pop("uploads_to_delete", None)
    for path in session.info.pop("uploads_written", []):
        Path(path).unlink(missing_ok=True)
