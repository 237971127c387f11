"""A citizen's data rights over their own account (DSGVO): a copy of it, deleting it.

- `export_personal_data` (Art. 15 and 20): what the account holds, as a JSON-ready dict with
  stable English keys (documented in docs/privacy.md) — exactly what the citizen's own pages show,
  never internal notes, staff names, hashes of passwords or tokens.
- `delete_account` (Art. 17): drafts and their files go; submitted requests stay, as the city must
  keep its files: requests still being handled continue without an account (personal status link
  to the account's address), closed ones stay with the anonymised account row. The row itself is
  kept, anonymised and locked, because requests, messages and the hash-chained history refer to it.
"""

import secrets
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from extensions import db
from forms.dynamic import format_answers
from models import ConfigChange, Draft, InboxItem, ServiceRequest, User
from models.base import utcnow
from services.accounts import end_sessions
from services.anonymous import release_request
from services.drafts import discard_draft, drafts_of, requests_of
from services.errors import PermissionDenied, ValidationFailed
from services.formdefs import load_spec
from services.messages import citizen_timeline
from services.notices import notice_title, notices_for_applicant
from services.notifications import inbox_text
from services.passwords import verify_password

EXPORT_FORMAT = "amtsweg.personal-data/1"
# Where the address of a deleted account goes: unique, never deliverable (RFC 2606 .invalid).
DELETED_EMAIL_DOMAIN = "geloescht.invalid"
# Not an argon2 hash: verify_password never accepts it, so nobody can log in with any password.
UNUSABLE_PASSWORD_HASH = "!account-deleted"  # noqa: S105 (a marker, not a secret)


# --- Art. 15/20: a copy of the account's data ---------------------------------------------------


def export_personal_data(user, locale: str = "de", now=None) -> dict:
    """The account's data as the citizen may see it (labels and texts in `locale`)."""
    return {
        "format": EXPORT_FORMAT,
        "created_at": _iso(now or utcnow()),
        "language": locale,
        "account": _account(user, locale),
        "drafts": [_draft(draft, locale) for draft in drafts_of(user)],
        "requests": [_request(req, locale) for req in requests_of(user)],
        "inbox": [_inbox_item(item, locale) for item in _inbox_of(user)],
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _account(user, locale: str) -> dict:
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "kind": str(user.kind),
        "email_language": user.locale,
        "created_at": _iso(user.created_at),
        "email_confirmed_at": _iso(user.email_confirmed_at),
        "last_login_at": _iso(user.last_login_at),
    }
    if user.is_staff:
        data["departments"] = [{"department": m.department.name(locale), "role": str(m.role)}
                               for m in user.memberships]
    return data


def _readable(form_version, answers, locale: str) -> list[dict]:
    sections = format_answers(load_spec(form_version), answers or {}, locale, "text")
    return [{"page": section.title, "rows": [{"field": row.field_key, "label": row.label, "value": row.value}
                                             for row in section.rows]}
            for section in sections]


def _file(attachment) -> dict:
    return {
        "name": attachment.original_name,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "mime_type": attachment.mime_type,
        "uploaded_at": _iso(attachment.created_at),
        "sent_with_message": attachment.message_id is not None,
    }


def _draft(draft, locale: str) -> dict:
    return {
        "service": draft.service.title(locale),
        "created_at": _iso(draft.created_at),
        "updated_at": _iso(draft.updated_at),
        "answers": draft.answers or {},
        "answers_readable": _readable(draft.form_version, draft.answers, locale),
        "unsaved_input": draft.unsaved_input or {},
        "files": [_file(a) for a in sorted(draft.attachments, key=lambda a: a.id) if a.request_id is None],
    }


def _request(req, locale: str) -> dict:
    from services.workflow import state_label

    numbers = {message.id: number for number, message in enumerate(req.messages, start=1)}
    data = {
        "reference": req.reference,
        "service": req.service.title(locale),
        "state": state_label(req.workflow_version, req.state, locale, audience="citizen")
        if req.workflow_version is not None else req.state,
        "submitted_at": _iso(req.submitted_at),
        "decided_at": _iso(req.decided_at),
        "closed_at": _iso(req.closed_at),
        "answers": req.answers,
        "answers_readable": _readable(req.form_version, req.answers, locale),
        "files": [_file(a) for a in sorted(req.attachments, key=lambda a: a.id)],
        "messages": [
            {
                "number": numbers[message.id],
                "from": "applicant" if message.from_citizen else "office",
                "sent_at": _iso(message.created_at),
                "text": message.body,
                "requested_documents": list(message.requested_documents or []),
                "in_reply_to": numbers.get(message.in_reply_to_id),
            }
            for message in req.messages
        ],
        "history": [
            {"at": _iso(entry.at), "title": entry.title,
             "details": [{"label": label, "text": text} for label, text in entry.details]}
            for entry in reversed(citizen_timeline(req, locale))
        ],
        "notices": [
            {"title": notice_title(notice.kind), "kind": notice.kind, "issued_at": _iso(notice.issued_at)}
            for notice in notices_for_applicant(req)["issued"]
        ],
    }
    if req.contact_email:
        data["contact_email"] = req.contact_email
    return data


def _inbox_of(user) -> list[InboxItem]:
    query = select(InboxItem).where(InboxItem.user_id == user.id)
    return list(db.session.scalars(query.order_by(InboxItem.created_at, InboxItem.id)))


def _inbox_item(item, locale: str) -> dict:
    return {
        "created_at": _iso(item.created_at),
        "read_at": _iso(item.read_at),
        "reference": item.data.get("reference"),
        "text": inbox_text(item, locale),
    }


# --- Art. 17: deleting the account ------------------------------------------------------------


@dataclass
class DeletedAccount:
    """What delete_account did: references of the requests released to a status link / kept as they are."""

    drafts: int = 0
    released: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


@dataclass
class DeletionPreview:
    """What deleting the account would do now, for the page that asks to confirm it."""

    drafts: int
    still_open: list  # requests that would continue with a personal status link
    closed: int  # requests that would stay with the anonymised account


def deletion_preview(user) -> DeletionPreview:
    requests = requests_of(user)
    return DeletionPreview(
        drafts=len(drafts_of(user)),
        still_open=[req for req in requests if req.closed_at is None],
        closed=sum(1 for req in requests if req.closed_at is not None),
    )


def may_delete_account(user) -> bool:
    """Citizens delete their own accounts; staff accounts are closed by the platform admin."""
    return bool(user.is_citizen and user.deleted_at is None)


def delete_account(user, current_password: str) -> DeletedAccount:
    """Delete the citizen's own account after checking the password (flushes; the caller commits).

    Drafts (also submitted ones: the request holds the answers) go with their files, as do the
    Postfach entries. Requests not closed yet continue without an account (anonymous.release_request:
    the status link goes to the account's address); closed requests stay as the city's file, with
    the anonymised account. The account row is kept for the foreign keys and the event chain (actor
    ids are part of its hashes): address replaced by a unique placeholder (so the address can be
    registered again), name cleared, password unusable, locked, sessions ended, deletion recorded.
    Raises PermissionDenied for staff accounts, ValidationFailed (field "password") for a wrong password.
    """
    if not user.is_citizen:
        raise PermissionDenied(_("Konten von Mitarbeitenden können nicht selbst gelöscht werden. Bitte "
                                 "wenden Sie sich an die Plattformadministration."))
    if not verify_password(user.password_hash, current_password or ""):
        raise ValidationFailed(_("Das Passwort ist nicht richtig."), field="password")
    db.session.refresh(user, with_for_update=True)  # a second deletion in parallel waits, then stops here
    if user.deleted_at is not None:
        raise PermissionDenied(_("Dieses Konto wurde bereits gelöscht."))
    done = DeletedAccount()
    done.drafts = _delete_drafts(user)
    query = select(ServiceRequest).where(ServiceRequest.applicant_id == user.id)
    query = query.order_by(ServiceRequest.id).with_for_update().execution_options(populate_existing=True)
    for req in db.session.scalars(query).all():
        if req.closed_at is None:
            release_request(req, user)
            done.released.append(req.reference)
        else:
            done.kept.append(req.reference)
    db.session.execute(delete(InboxItem).where(InboxItem.user_id == user.id))
    _anonymise(user)
    db.session.add(ConfigChange(
        actor_id=user.id, object_type="user", object_id=str(user.id), action="account_deleted",
        summary=f"account_deleted user {user.id}",
        details={"drafts": done.drafts, "requests_released": done.released, "requests_kept": done.kept},
    ))
    db.session.flush()
    return done


def _delete_drafts(user) -> int:
    """Delete all the user's drafts with their own files (a submitted one first lets go of its
    request); the number of unsubmitted ones."""
    found = db.session.scalars(select(Draft).where(Draft.user_id == user.id).with_for_update()).all()
    submitted = [draft.id for draft in found if draft.submitted_at is not None]
    if submitted:
        db.session.execute(
            update(ServiceRequest).where(ServiceRequest.draft_id.in_(submitted)).values(draft_id=None)
            .execution_options(synchronize_session=False)
        )
    for draft in found:
        discard_draft(draft)  # files that moved to a request stay with it
    return len(found) - len(submitted)


def _anonymise(user: User) -> None:
    user.email = f"konto-{user.id}-{secrets.token_hex(8)}@{DELETED_EMAIL_DOMAIN}"
    user.full_name = ""
    user.password_hash = UNUSABLE_PASSWORD_HASH
    user.is_active_account = False
    user.email_confirmed_at = None
    user.last_login_at = None
    user.deleted_at = utcnow()
    end_sessions(user)
