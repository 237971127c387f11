"""Drafts: a citizen's unfinished answers for one service, pinned to a form version."""

import re

from sqlalchemy import select

from extensions import db
from models import Attachment, Draft, ServiceRequest
from services.errors import NotFound
from services.formdefs import latest_version, latest_version_of
from services.uploads import draft_attachments, drop_unreferenced, remove_attachment

PUBLIC_ID = re.compile(r"[0-9a-f]{32}")  # models.base.new_public_id


def start_draft(service, user) -> Draft:
    """Create a draft for `service`, pinned to its newest published form version."""
    version = latest_version(service)
    if version is None or not service.active:
        raise NotFound()
    draft = Draft(user_id=user.id, service_id=service.id, form_version_id=version.id, answers={})
    db.session.add(draft)
    db.session.flush()
    return draft


def save_answers(draft, answers: dict, page_key: str) -> Draft:
    """Store the answers after a page was completed (a new dict, so the JSON column sees the change)."""
    draft.answers = dict(answers)
    draft.last_page = page_key
    db.session.flush()
    drop_unreferenced(draft, draft.answers)
    return draft


def upgrade_draft(draft) -> Draft:
    """Move a draft to its service's newest form version (answers of unknown fields are dropped later)."""
    version = latest_version(draft.service)
    if version is not None:
        draft.form_version_id = version.id
        draft.form_version = version
        db.session.flush()
    return draft


def needs_upgrade(draft) -> bool:
    """True when the form requires its newest version and the draft is pinned to an older one."""
    definition = draft.form_version.definition
    if not definition.require_latest:
        return False
    latest = latest_version_of(definition)
    return latest is not None and latest.id != draft.form_version_id


def remove_draft_file(draft, attachment_public_id: str) -> bool:
    """Remove one uploaded file from the draft (row, file, answer entry); False if it is already gone."""
    attachment = None
    if isinstance(attachment_public_id, str) and PUBLIC_ID.fullmatch(attachment_public_id):
        query = select(Attachment).where(Attachment.public_id == attachment_public_id)
        attachment = db.session.scalar(query.where(Attachment.draft_id == draft.id))
    if attachment is None:
        return False  # a repeated click on "Entfernen": nothing left to do
    draft.answers = _without_file(draft.answers, attachment_public_id)
    remove_attachment(attachment)
    return True


def discard_draft(draft) -> None:
    """Delete a draft together with its uploaded files."""
    for attachment in draft_attachments(draft):
        remove_attachment(attachment)
    db.session.delete(draft)
    db.session.flush()


def drafts_of(user) -> list[Draft]:
    """The user's unsubmitted drafts, most recently changed first."""
    query = select(Draft).where(Draft.user_id == user.id, Draft.submitted_at.is_(None))
    return list(db.session.scalars(query.order_by(Draft.updated_at.desc(), Draft.id.desc())))


def requests_of(user) -> list[ServiceRequest]:
    """The user's submitted requests, newest first."""
    query = select(ServiceRequest).where(ServiceRequest.applicant_id == user.id)
    query = query.order_by(ServiceRequest.submitted_at.desc(), ServiceRequest.id.desc())
    return list(db.session.scalars(query))


def _without_file(value, public_id: str):
    """A copy of an answers tree without the file entry `public_id` (wherever it is nested)."""
    if isinstance(value, dict):
        return {key: _without_file(item, public_id) for key, item in value.items()}
    if isinstance(value, list):
        return [
            _without_file(item, public_id)
            for item in value
            if not (isinstance(item, dict) and item.get("id") == public_id and "sha256" in item)
        ]
    return value
