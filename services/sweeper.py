"""Sweeper: expired anonymous drafts and upload files that nothing references.

Files are written before the transaction that records them commits, and a crash in between (or a
process killed before the after-rollback hook ran) leaves a file no Attachment row names. Such
files are deleted once older than UPLOAD_ORPHAN_GRACE_MINUTES, so an upload in flight is never
touched. Anonymous drafts idle for longer than ANONYMOUS_DRAFT_TTL_MINUTES are deleted with their
files (those go after the commit, like every removed attachment). Flushes; the caller commits.
Run by `flask uploads sweep` and periodically by the outbox relay.
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from extensions import db
from models import Attachment
from models.base import utcnow
from services.drafts import discard_draft, expired_anonymous_drafts
from services.uploads import upload_root

_BATCH = 500


@dataclass
class SweepReport:
    drafts: list[str] = field(default_factory=list)  # public ids of the deleted anonymous drafts
    draft_files: int = 0  # their attachments (files go once the caller commits)
    files: list[str] = field(default_factory=list)  # orphan files deleted now

    def __bool__(self):
        return bool(self.drafts or self.files)


def sweep_uploads(now=None) -> SweepReport:
    """Delete expired anonymous drafts (with their attachments) and old unreferenced upload files."""
    now = now or utcnow()
    report = SweepReport()
    for draft in expired_anonymous_drafts(now):
        report.drafts.append(draft.public_id)
        report.draft_files += len([a for a in draft.attachments if a.request_id is None])
        discard_draft(draft)
    report.files = delete_orphan_files(now)
    return report


def delete_orphan_files(now=None) -> list[str]:
    """Delete files in UPLOAD_DIR older than the grace period that no Attachment row names."""
    grace = timedelta(minutes=current_app.config["UPLOAD_ORPHAN_GRACE_MINUTES"])
    cutoff = ((now or utcnow()) - grace).timestamp()
    pending = set(db.session.info.get("uploads_to_delete", ()))  # deleted with this transaction's commit
    candidates = [path for path in _old_files(cutoff) if str(path) not in pending]
    removed = []
    for start in range(0, len(candidates), _BATCH):
        batch = candidates[start : start + _BATCH]
        # A temporary ".<name>.part" file is an interrupted write of <name>: never referenced.
        names = [p.name for p in batch if not p.name.startswith(".")]
        query = select(Attachment.stored_name).where(Attachment.stored_name.in_(names))
        referenced = set(db.session.scalars(query))
        for path in batch:
            if path.name not in referenced:
                path.unlink(missing_ok=True)
                removed.append(path.name)
    return removed


def _old_files(cutoff: float) -> list[Path]:
    root = upload_root()
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        try:
            stat = path.lstat()
        except FileNotFoundError:
            continue
        if path.is_file() and not path.is_symlink() and stat.st_mtime < min(cutoff, time.time()):
            found.append(path)
    return sorted(found)
