"""Conversation about a request: clerk questions (Rückfrage), citizen answers, internal notes.

The state changes go through the workflow engine; this module stores what was said and sent.
"""

import hashlib
from dataclasses import dataclass

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from models import Attachment, Message, ServiceRequest
from models.base import utcnow
from services import uploads
from services.access import check_case_worker, is_applicant
from services.assignment import claim_request
from services.errors import (
    NotFound,
    TransitionNotAllowed,
    UploadRejected,
    ValidationFailed,
)
from services.events import append_event
from services.mail import queue_mail
from services.notices import notice_event_title
from services.workflow import apply_transition, available_transitions, load_spec, state_kind

WAITING = "waiting_for_citizen"


def add_note(req, actor, text: str):
    """Append an internal note (RequestEvent kind 'note', never shown to the citizen)."""
    check_case_worker(actor, req)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(_("Geben Sie eine Notiz ein."))
    return append_event(req, "note", actor=actor, data={"text": text}, visible_to_citizen=False)


def run_clerk_transition(req, name: str, actor, data: dict, expected_row_version: int):
    """Fire a workflow transition; a move into a waiting-for-citizen state also records the question.

    Whoever works an unassigned request on (e.g. "Bearbeitung beginnen", a question) takes it on:
    otherwise it would stay in the department's pool and "Nächsten Antrag übernehmen" could hand
    it to a colleague while it is being worked.
    """
    event = apply_transition(req, name, actor, data, expected_row_version)
    fields = event.data.get("fields") or {}
    kind = state_kind(req.workflow_version, req.state)
    waiting = kind == WAITING
    if event.kind == "transition" and req.assignee_id is None and kind in ("open", WAITING):
        claim_request(req, actor)
    if event.kind == "transition" and waiting and fields.get("message"):
        db.session.add(Message(
            request_id=req.id, author_id=actor.id, from_citizen=False, body=fields["message"],
            requested_documents=list(fields.get("documents") or []),
        ))
        db.session.flush()
    return event


def open_questions(req) -> list[Message]:
    """Unanswered questions of the clerks, while the request waits for the citizen."""
    if req.workflow_version is None or state_kind(req.workflow_version, req.state) != WAITING:
        return []
    return [m for m in req.messages if not m.from_citizen and m.answered_at is None]


@dataclass
class Exchange:
    """One question of the clerks with the applicant's replies (each reply carries its files)."""

    question: Message
    replies: list
    is_open: bool


def citizen_conversation(req) -> list[Exchange]:
    """The clerks' questions with the applicant's replies: open ones first, then the newest first."""
    replies: dict[int, list] = {}
    for message in req.messages:
        if message.from_citizen and message.in_reply_to_id is not None:
            replies.setdefault(message.in_reply_to_id, []).append(message)
    still_open = {m.id for m in open_questions(req)}
    exchanges = [Exchange(m, replies.get(m.id, []), m.id in still_open)
                 for m in reversed(req.messages) if not m.from_citizen]
    return sorted(exchanges, key=lambda e: not e.is_open)  # stable: newest first within each kind


# Why a question of the clerks is no longer open (QuestionStatus.closed_because).
ANSWERED = "answered"  # an answer came in, e.g. sent from another browser tab
RESUMED = "resumed"  # the clerks went on without an online answer (the request is being processed)
DECIDED = "decided"  # the request was decided meanwhile
ENDED = "ended"  # the procedure is over: withdrawn or closed


@dataclass(frozen=True)
class QuestionStatus:
    """A question of the clerks on a request, and why it is no longer open (None while it is)."""

    question: Message
    closed_because: str | None
    open_instead: tuple = ()  # the request's open questions the applicant may answer now instead

    @property
    def is_open(self) -> bool:
        return self.closed_because is None


def question_status(req, message_id: int) -> QuestionStatus:
    """The question `message_id` of `req`, open or not; NotFound for any other id.

    Unknown ids, another request's messages and the applicant's own messages are all the same
    NotFound, so an id tells nothing about what exists elsewhere.
    """
    question = next((m for m in req.messages if m.id == message_id and not m.from_citizen), None)
    if question is None:
        raise NotFound()
    still_open = open_questions(req)
    if question in still_open:
        return QuestionStatus(question, None)
    if question.answered_at is not None:
        reason = ANSWERED
    else:
        kind = state_kind(req.workflow_version, req.state) if req.workflow_version is not None else None
        reason = {"open": RESUMED, "decided": DECIDED}.get(kind, ENDED)
    return QuestionStatus(question, reason, tuple(still_open))


def question_closed_text(reason: str) -> str:
    """Why the applicant can no longer answer a question, in plain language (see QuestionStatus)."""
    texts = {
        ANSWERED: _("Diese Rückfrage wurde bereits beantwortet, zum Beispiel in einem anderen Fenster oder "
                    "Tab. Die Antwort steht auf der Seite Ihres Antrags."),
        RESUMED: _("Diese Rückfrage ist nicht mehr offen: Die Verwaltung bearbeitet Ihren Antrag inzwischen "
                   "ohne Ihre Online-Antwort weiter."),
        DECIDED: _("Diese Rückfrage ist nicht mehr offen: Über Ihren Antrag wurde inzwischen entschieden."),
    }
    return texts.get(reason, _("Diese Rückfrage ist nicht mehr offen: Ihr Antrag wird nicht mehr "
                               "bearbeitet, weil er zurückgezogen oder abgeschlossen wurde."))


def find_question(req, message_id: int) -> Message:
    """An open question of `req`, else NotFound."""
    question = next((m for m in open_questions(req) if m.id == message_id), None)
    if question is None:
        raise NotFound(_("Diese Rückfrage ist nicht mehr offen."))
    return question


def answer_question(req, question, citizen, body: str, files) -> Message:
    """Store the citizen's answer (text + files) and return the request to the clerks' queue.

    No row_version from the citizen's form: the answer refers to the question, which never changes,
    so whatever else changed since the page was loaded (a note, the assignee, a further question)
    is no conflict while the question is still open. A write racing this one still ends in
    StaleObject (the mapper's version check at flush).
    """
    if not is_applicant(req, citizen):
        raise NotFound()
    if question.request_id != req.id or question.from_citizen or question.answered_at is not None:
        raise NotFound(_("Diese Rückfrage ist nicht mehr offen."))
    answer = Message(request_id=req.id, author_id=citizen.id, from_citizen=True, body=body.strip(),
                     in_reply_to_id=question.id)
    db.session.add(answer)
    db.session.flush()
    for file in files:
        store_message_file(req, answer, file, citizen)
    question.answered_at = utcnow()
    resume = _citizen_transition(req, citizen, "open")
    if resume is not None:
        apply_transition(req, resume.name, citizen, {}, req.row_version)
    else:  # the clerks already resumed (e.g. answer came by post): keep the answer, note it in the history
        append_event(req, "message", actor=citizen, data={"message_id": answer.id}, visible_to_citizen=True)
    _mark_replied(req, question.answered_at)
    return answer


def _mark_replied(req, moment) -> None:
    """The queue marks the request "Antwort eingegangen" until staff act on it (services.events), and
    the clerk it is assigned to gets an e-mail. Not a change of the request's row_version: forms open
    on it stay valid (the answer is no conflict)."""
    db.session.execute(
        update(ServiceRequest).where(ServiceRequest.id == req.id).values(citizen_replied_at=moment)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(req, "citizen_replied_at", moment)
    assignee = req.assignee
    if assignee is not None and assignee.is_active_account and assignee.id != req.applicant_id:
        queue_mail(assignee, "staff_citizen_replied", request=req)


def store_message_file(req, message, file, actor) -> Attachment:
    """Check and store one file sent with a message (same rules as form uploads)."""
    data = uploads._read_limited(file, current_app.config["MAX_UPLOAD_BYTES"])
    mime = uploads._check_type(data, uploads.DEFAULT_ALLOWED_MIME)
    total = select(func.coalesce(func.sum(Attachment.size), 0)).where(Attachment.request_id == req.id)
    if db.session.scalar(total) + len(data) > current_app.config["MAX_REQUEST_UPLOAD_BYTES"]:
        raise UploadRejected(_("Alle Dateien zusammen dürfen höchstens %(size)s groß sein.",
                               size=uploads.human_size(current_app.config["MAX_REQUEST_UPLOAD_BYTES"])))
    attachment = Attachment(
        request_id=req.id, message_id=message.id, field_key=f"message.{message.id}",
        original_name=uploads.clean_filename(file.filename), stored_name=uploads._write_file(data),
        mime_type=mime, size=len(data), sha256=hashlib.sha256(data).hexdigest(), uploaded_by_id=actor.id,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def _citizen_transition(req, citizen, target_kind: str):
    """The first transition the applicant may fire now that leads to a state of `target_kind`."""
    for transition in available_transitions(req, citizen):
        if "citizen" in transition.roles and state_kind(req.workflow_version, transition.to) == target_kind:
            return transition
    return None


def withdraw_transition(req, citizen):
    """The transition the applicant may use to withdraw the request now, or None."""
    if not is_applicant(req, citizen):
        return None
    return _citizen_transition(req, citizen, "closed")


def withdraw_request(req, citizen, expected_row_version: int):
    """Withdraw the request on the applicant's own wish."""
    transition = withdraw_transition(req, citizen)
    if transition is None:
        raise TransitionNotAllowed(_("Dieser Antrag kann nicht mehr zurückgezogen werden."))
    return apply_transition(req, transition.name, citizen, {}, expected_row_version)


@dataclass
class TimelineEntry:
    at: object
    title: str
    details: list  # (label, text) pairs that are public by the workflow document


def citizen_timeline(req, locale: str | None = None) -> list[TimelineEntry]:
    """The request's history in plain language for the applicant (visible events only, newest first)."""
    locale = locale or str(get_locale() or "de")
    spec = load_spec(req.workflow_version) if req.workflow_version is not None else None
    entries = []
    for event in req.events:
        if event.visible_to_citizen:
            entries.append(TimelineEntry(event.created_at, _event_title(event, spec, locale),
                                         _public_details(event, spec, locale)))
    return entries[::-1]


def _event_title(event, spec, locale) -> str:
    to = event.data.get("to")
    if event.kind in ("transition", "approval_confirmed") and spec is not None and spec.state(to):
        return spec.state(to).label(locale, "citizen")
    if event.kind == "notice_issued":
        return notice_event_title(event.data.get("kind"))
    titles = {
        "submitted": _("Antrag eingereicht"),
        "routed": _("An die zuständige Stelle übermittelt"),
        "message": _("Ihre Antwort ist eingegangen"),
        "forwarded": _("An eine andere zuständige Stelle weitergegeben"),
        "applicant_linked": _("Ihrem Benutzerkonto zugeordnet"),
        "access_link_renewed": _("Persönlicher Link erneuert, der bisherige gilt nicht mehr"),
        "applicant_unlinked": _("Benutzerkonto gelöscht, der Antrag ist über Ihren persönlichen Link "
                                "erreichbar"),
    }
    return titles.get(event.kind, _("Ihr Antrag wurde bearbeitet"))


def _public_details(event, spec, locale) -> list[tuple[str, str]]:
    return decision_details(event, spec, locale, public_only=True)


def decision_details(event, spec, locale, public_only=False) -> list[tuple[str, str]]:
    """(label, text) of the fields a transition event recorded, labelled as in the workflow document.

    The message itself is left out (it is shown in the conversation); so are, for the applicant,
    fields the document does not make public, the document list (shown with the question) and ticks.
    """
    transition = spec.transitions.get(event.data.get("transition")) if spec is not None else None
    if transition is None:
        return []
    # A proposal's message is not in the conversation (yet, or ever if it is returned): show it here.
    with_message = event.kind == "approval_proposed"
    return field_details(transition, event.data.get("fields") or {}, locale, public_only, with_message)


def field_details(transition, fields: dict, locale, public_only=False, with_message=False) -> list:
    """(label, text) of a transition's entered `fields` with the workflow document's labels (see above)."""
    details = []
    for field in transition.form_fields:
        value = fields.get(field.key)
        if not value or (field.key == "message" and not with_message):
            continue
        if public_only and (not field.public or field.key == "documents" or field.type == "checkbox"):
            continue
        details.append((field.label(locale), _field_text(field, value)))
    return details


def _field_text(field, value) -> str:
    if field.type == "checkbox":
        return _("Ja")
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
