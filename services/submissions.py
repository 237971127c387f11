"""Submitting a draft: one transaction that writes the request, its first events and its outbox work.

The hottest write path of the platform, so it writes with plain INSERT/UPDATE statements instead of
ORM objects (the unit of work cost ~10 ms of CPU per submission) and takes the workflow and routing
rules from a per-process cache (services.workflow.start_plan). It records exactly what the ORM path
(engine.start_request, events.append_event, notices.request_notice) records for a request.
"""

import functools
import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from forms.dynamic import compute_values, validate_answers
from models import (
    Attachment,
    Department,
    Draft,
    FormDefinition,
    FormVersion,
    Notice,
    NoticeKind,
    OutboxJob,
    RequestEvent,
    Service,
    ServiceRequest,
    User,
)
from models.base import city_time, new_public_id, utcnow
from services import config_generation, review_stamp
from services.accounts import require_confirmed
from services.catalog import OFFERED
from services.drafts import needs_upgrade
from services.errors import AlreadySubmitted, PermissionDenied, ServiceNotOffered, ValidationFailed
from services.events import GENESIS, first_event_rows
from services.formdefs import load_spec_for
from services.notices import first_notice_row, insert_first_notice, render_job_of
from services.outbox import new_job_row
from services.outbox_dispatch import note_for_dispatch
from services.references import drawn_reference_cte, next_reference
from services.uploads import drop_unreferenced
from services.workflow.deadlines import due_at_for
from services.workflow.start_plan import start_plan


@dataclass(frozen=True)
class Submitted:
    """The new request's identifiers; `.request` loads the ORM object when a caller needs more."""

    id: int
    public_id: str
    reference: str

    @property
    def request(self) -> ServiceRequest:
        return db.session.get(ServiceRequest, self.id)


def submit_draft(
    draft, actor, locale: str = "de", contact_email: str | None = None, review_stamp: str | None = None
) -> Submitted:
    """Turn `draft` into a ServiceRequest (writes; the caller commits once).

    Idempotent together with the unique ServiceRequest.draft_id: the draft row is locked, and a
    draft that already became a request raises AlreadySubmitted carrying that request.
    `actor` None is an anonymous submission (services.anonymous.submit_anonymously): only for a
    service without login_required, and replies go to `contact_email`. `review_stamp`: what the
    check-answers page issued (services.review_stamp); valid for these answers, it spares their
    second validation.
    """
    if actor is not None:
        require_confirmed(actor)
    locked = _lock_draft(draft)
    if draft.submitted_at is not None:
        raise AlreadySubmitted(request=request_for_draft(draft))
    if not locked.offered:
        raise ServiceNotOffered(_("Diese Leistung wird derzeit nicht online angeboten. Ihr Antrag wurde "
                                  "nicht abgesendet; Ihre Angaben bleiben gespeichert."))
    if actor is None and (locked.login_required or not contact_email):
        raise PermissionDenied(_("Bitte melden Sie sich an, um diesen Antrag abzusenden."))
    answers, computed = _checked_answers(draft, locked, review_stamp)
    service_id = draft.service_id
    plan = start_plan(service_id, locked.config_token)
    department_id, rule = plan.route(answers, locked.department_id, draft.form_version_id)
    now, actor_id = utcnow(), (actor.id if actor is not None else None)

    request = {
        "public_id": new_public_id(),
        "service_id": service_id,
        "form_version_id": draft.form_version_id,
        "workflow_version_id": plan.workflow_version_id,
        "applicant_id": actor_id,
        "applicant_name": applicant_name(answers, actor),
        "contact_email": contact_email,
        "draft_id": draft.id,
        "answers": answers,
        "computed": computed,
        "locale": locale,
        "state": plan.initial_state,
        "department_id": department_id,
        "submitted_at": now,
        "due_at": due_at_for(now, locked.processing_days),
        "clock_paused_at": now if plan.initial_kind == "waiting_for_citizen" else None,
        "row_version": 1,
    }
    first_events = [
        ("submitted", actor_id, {"form_version_id": draft.form_version_id, "service_id": service_id}, True),
        ("routed", actor_id, plan.routed_event_data(department_id, rule), False),
    ]
    kept = []
    if locked.has_attachments:
        kept = drop_unreferenced(draft, answers)  # the files of fields that ended up hidden go
        db.session.flush()  # now, not while the reference counter is locked
    # Core statements built once (below) on the session's connection: neither the ORM layer of
    # session.execute nor building and cache-keying a statement per call is needed here.
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        request_id, reference = _write_postgresql(conn, draft.id, request, first_events, now, locked.new_ids)
    else:
        request_id, reference = _write_portable(conn, draft.id, request, first_events, now, kept)
    set_committed_value(draft, "submitted_at", now)
    for attachment in kept:
        set_committed_value(attachment, "request_id", request_id)
    return Submitted(request_id, request["public_id"], reference)


def _write_postgresql(conn, draft_id: int, request: dict, first_events: list[tuple], now, new_ids):
    """All rows in one statement, the reference number drawn in it; returns (request id, reference).

    The ids came with the draft's lock query, as the events' hashes need the request's. The events'
    ids too: the statement's parts run in no fixed order, and ids follow seq everywhere else.
    The counter row stays locked until the commit, which follows this statement directly
    (docs/decisions/0006): the request row is written once, with its number.
    """
    request_id, notice_id, *event_ids = new_ids
    events = first_event_rows(request_id, first_events, now)
    events = [{"id": event_id, **event} for event_id, event in zip(event_ids, events, strict=True)]
    notice = {"id": notice_id, **first_notice_row(request_id, NoticeKind.RECEIPT, now)}
    params = {"submitted_draft": draft_id, "now": now, "request_id": request_id,
              "actor_id": request["applicant_id"], "counter_prefix": current_app.config["REFERENCE_PREFIX"],
              "counter_year": city_time(now).year}
    _prefixed(params, "r_", {**request, "id": request_id, **_chain_head(events)})
    for i, event in enumerate(events):
        _prefixed(params, f"e{i}_", event)
    _prefixed(params, "n_", notice)
    _prefixed(params, "o_", new_job_row(*render_job_of(notice_id), request_id, now))
    outbox_id, reference = _execute_write_all(conn, params)
    note_for_dispatch(db.session, outbox_id)
    return request_id, reference


def _execute_write_all(conn, params: dict):
    """Execute _WRITE_ALL as the driver's SQL: SQLAlchemy's events, error wrapping and connection
    handling stay, its per-call statement lookup and parameter construction (~6 % of a submit's CPU
    in the web process, docs/performance.md) go. The parameters get the same type processing."""
    sql, processors = _write_all_for_driver(conn.dialect)
    args = {k: (processors[k](v) if k in processors else v) for k, v in params.items()}
    return conn.exec_driver_sql(sql, args).one()


@functools.cache
def _write_all_for_driver(dialect) -> tuple[str, dict]:
    compiled = _WRITE_ALL.compile(dialect=dialect)
    return compiled.string, dict(compiled._bind_processors)  # the processors SQLAlchemy itself applies


def _write_portable(conn, draft_id: int, request: dict, first_events: list[tuple], now, kept) -> tuple:
    """The same rows statement by statement (SQLite has no data-modifying CTEs).

    The request goes in with a placeholder reference; the number is drawn last, with the chain head.
    """
    conn.execute(_MARK_SUBMITTED, {"submitted_draft": draft_id, "now": now})
    placeholder = f"pending-{secrets.token_hex(12)}"
    row = {**request, "reference": placeholder, "last_event_seq": 0, "last_event_hash": GENESIS}
    request_id = conn.execute(_INSERT_REQUEST, row).scalar_one()
    events = first_event_rows(request_id, first_events, now)
    conn.execute(_INSERT_EVENTS, events)
    insert_first_notice(request_id, NoticeKind.RECEIPT)
    if kept:
        conn.execute(_MOVE_ATTACHMENTS, {"submitted_draft": draft_id, "request_id": request_id})
    # Drawn last: the counter serialises every submission until the commit (docs/decisions/0006).
    reference = next_reference(now)
    head = _chain_head(events)
    conn.execute(_SET_REFERENCE, {"request_id": request_id, "new_reference": reference, **head})
    return request_id, reference


def _chain_head(events: list[dict]) -> dict:
    return {"last_event_seq": events[-1]["seq"], "last_event_hash": events[-1]["hash"]}


def _prefixed(params: dict, prefix: str, row: dict) -> None:
    for key, value in row.items():
        name = _param_name(prefix, key)
        if name in params:
            assert params[name] == value, (prefix, key)  # a shared parameter: the same value everywhere
        else:
            params[name] = value


# Values every row of the statement has in common go in once: with at most 50 parameters, psycopg
# caches the statement's conversion (~0.13 ms per submit; tests/unit/test_submit_plan.py counts them).
# No parameter may be named like a column of a table the statement UPDATEs (drafts, attachments):
# SQLAlchemy would add that column to the UPDATE's SET.
_SHARED = {
    ("r_", "id"): "request_id", "request_id": "request_id", ("r_", "draft_id"): "submitted_draft",
    "submitted_at": "now", "created_at": "now", "available_at": "now",
    ("r_", "applicant_id"): "actor_id", "actor_id": "actor_id",
    ("r_", "last_event_seq"): "e1_seq", ("r_", "last_event_hash"): "e1_hash", ("e1_", "prev_hash"): "e0_hash",
    ("n_", "error"): "no_error", ("o_", "last_error"): "no_error",
    ("n_", "state"): "pending", ("o_", "state"): "pending",
}


_drafts, _requests = Draft.__table__, ServiceRequest.__table__
_events, _notices, _outbox = RequestEvent.__table__, Notice.__table__, OutboxJob.__table__
_MARK_SUBMITTED = (
    update(_drafts)
    .where(_drafts.c.id == bindparam("submitted_draft"))
    .values(submitted_at=bindparam("now"), updated_at=bindparam("now"))
)
_INSERT_REQUEST = insert(_requests).returning(_requests.c.id)
_INSERT_EVENTS = insert(_events)
_attachments = Attachment.__table__
_MOVE_ATTACHMENTS = (  # those drop_unreferenced kept: all the draft's files still without a request
    update(_attachments)
    .where(_attachments.c.draft_id == bindparam("submitted_draft"), _attachments.c.request_id.is_(None))
    .values(request_id=bindparam("request_id"))
)
_SET_REFERENCE = (
    update(_requests)
    .where(_requests.c.id == bindparam("request_id"))
    .values(
        reference=bindparam("new_reference"),
        last_event_seq=bindparam("last_event_seq"),
        last_event_hash=bindparam("last_event_hash"),
    )
)


@functools.cache
def _param_name(prefix: str, key: str) -> str:
    return _SHARED.get((prefix, key)) or _SHARED.get(key) or prefix + key


def _values(table, columns, prefix: str) -> dict:
    return {table.c[key]: bindparam(_param_name(prefix, key), type_=table.c[key].type) for key in columns}


def _write_all_statement():
    """PostgreSQL: the draft's UPDATE, the reference number's draw, the INSERTs of request, events,
    notice and outbox row, and the move of the draft's files, at once.

    Every column is given (a nested INSERT cannot run Python-side defaults); the foreign keys are
    checked at the end of the statement, when all rows exist.
    """
    request_columns = [
        "id", "public_id", "service_id", "form_version_id", "workflow_version_id",
        "applicant_id", "applicant_name", "contact_email", "draft_id", "answers", "computed", "locale",
        "state", "department_id", "submitted_at", "due_at", "clock_paused_at", "row_version",
        "last_event_seq", "last_event_hash",
    ]
    event_columns = [
        "id", "request_id", "seq", "kind", "actor_id", "created_at", "data", "visible_to_citizen",
        "prev_hash", "hash",
    ]
    notice_columns = [
        "id", "public_id", "request_id", "kind", "revision", "state", "data", "verification_code", "error",
        "created_at",
    ]
    outbox_columns = [
        "kind", "payload", "request_id", "state", "attempts", "last_error", "created_at", "available_at",
    ]
    drawn = drawn_reference_cte()
    new_request = (
        insert(_requests)
        .values({**_values(_requests, request_columns, "r_"),
                 _requests.c.reference: select(drawn.c.reference).scalar_subquery()})
        .returning(_requests.c.reference)
        .cte("new_request")
    )
    return (
        insert(_outbox)
        .values(_values(_outbox, outbox_columns, "o_"))
        .returning(_outbox.c.id, select(new_request.c.reference).scalar_subquery())
        .add_cte(
            _MARK_SUBMITTED.cte("mark_draft"),
            new_request,
            # one INSERT per event: SQLAlchemy does not cache the compiled form of a multi-row VALUES
            *(
                insert(_events).values(_values(_events, event_columns, f"e{i}_")).cte(f"new_event_{i}")
                for i in range(2)
            ),
            insert(_notices).values(_values(_notices, notice_columns, "n_")).cte("new_notice"),
            _MOVE_ATTACHMENTS.cte("move_files"),
        )
    )


_WRITE_ALL = _write_all_statement()  # for exactly two first events: submitted, routed
_NEXT_IDS = select(  # columns of the lock query; evaluated left to right: the events' ids ascend with seq
    func.nextval(func.pg_get_serial_sequence(_requests.name, "id")),
    func.nextval(func.pg_get_serial_sequence(_notices.name, "id")),
    *(func.nextval(func.pg_get_serial_sequence(_events.name, "id")) for _ in range(2)),
)


def request_for_draft(draft) -> ServiceRequest | None:
    """The request a draft became, if any."""
    return db.session.scalar(select(ServiceRequest).where(ServiceRequest.draft_id == draft.id))


def applicant_name(answers: dict, user) -> str:
    """The applicant's name from the usual name fields of the answers, else the account name (if any)."""
    for first, last in (("vorname", "nachname"), ("vorname", "familienname"), ("first_name", "last_name")):
        parts = [str(answers.get(first) or "").strip(), str(answers.get(last) or "").strip()]
        if all(parts):
            return " ".join(parts)[:200]
    name = answers.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:200]
    return (user.full_name if user is not None else "")[:200]


@dataclass(frozen=True)
class _Locked:
    """What the submit needs besides the draft row, read by the same locking query."""

    config_token: str | None  # services.config_generation
    has_attachments: bool
    offered: bool  # the service is offered online (it and its department are active)
    login_required: bool  # the service's
    department_id: int  # the service's own department (routing's default)
    processing_days: int
    form_checksum: str  # with draft.form_version_id the key of the cached form spec
    require_latest: bool  # the form definition's
    new_ids: tuple | None = None  # PostgreSQL: ids for the request, its notice and events (_NEXT_IDS)
    # Held here so the session's identity map, which refers to objects weakly, keeps the account
    # loaded with the draft for the user loader (app._loaded_user) until the submit is done.
    owner: User | None = None

    @classmethod
    def of(cls, row) -> "_Locked":
        """From a lock query row: the draft, its owner's account, the eight columns above, on
        PostgreSQL the new ids."""
        return cls(*row[2:10], new_ids=tuple(row[10:]) or None, owner=row[1])


def lock_draft(public_id: str) -> Draft | None:
    """The draft with this public id, row-locked for submitting it (None if there is none).

    For the submit view: loading and locking in one query means submit_draft need not re-read it.
    The same query loads the draft owner's account into the session, so the login's user loader
    (app._load_user) finds it there instead of querying it again: one round trip less per submit.
    The caller checks ownership; the lock ends with the transaction.
    """
    row = db.session.execute(_lock_statement("public_id"), {"public_id": public_id}).one_or_none()
    if row is None:
        return None
    draft = row[0]
    db.session.info[_LOCKED_KEY] = (db.session().get_transaction(), draft.id, _Locked.of(row))
    return draft


_LOCKED_KEY = "submissions_locked_draft"


def _lock_draft(draft) -> _Locked:
    """Serialise concurrent submits of one draft (row lock on PostgreSQL; SQLite serialises writers).

    Re-reads the row (a submit that waited sees the winner's submitted_at) and, in the same query,
    the form version, its definition, the service (and whether it is offered), the configuration
    token and whether files are attached. Skipped when lock_draft already did exactly that in the
    current transaction.
    """
    locked = db.session.info.get(_LOCKED_KEY)
    current = (db.session().get_transaction(), draft.id)
    if locked is not None and draft.id is not None and locked[:2] == current:
        return locked[2]
    if draft.id is None:
        db.session.flush()  # a draft added but not yet written
    row = db.session.execute(_lock_statement("draft_id"), {"draft_id": draft.id}).one()  # re-read: fetched
    return _Locked.of(row)


def _lock_statement(key: str):
    return _LOCK_STATEMENTS[key, db.session.get_bind().dialect.name == "postgresql"]


def _lock_query(where, new_ids: bool):
    # One ORM entity and plain columns: loading the service, form version and definition as
    # objects cost more than the rest of the query (they load lazily where a rare path needs them).
    # Built once per key (below): building and cache-keying the statement per call cost ~0.2 ms.
    # On PostgreSQL it also draws the new rows' ids (a round trip less; a refused submit leaves a gap).
    return (
        select(
            Draft,
            User,  # the owner's account (None for a draft of a browser session); not locked
            config_generation.token_column(),
            exists().where(Attachment.draft_id == Draft.id).label("has_attachments"),
            OFFERED.label("offered"),
            Service.login_required,
            Service.department_id,
            Service.processing_days,
            FormVersion.checksum,
            FormDefinition.require_latest,
            *(_NEXT_IDS.selected_columns if new_ids else ()),
        )
        .join(Service, Service.id == Draft.service_id)
        .join(Department, Department.id == Service.department_id)
        .join(FormVersion, FormVersion.id == Draft.form_version_id)
        .join(FormDefinition, FormDefinition.id == FormVersion.definition_id)
        .outerjoin(User, User.id == Draft.user_id)
        .where(where)
        .with_for_update(of=Draft)
        .execution_options(populate_existing=True)
    )


_LOCK_STATEMENTS = {
    (key, new_ids): _lock_query(column == bindparam(key), new_ids)
    for key, column in (("public_id", Draft.public_id), ("draft_id", Draft.id))
    for new_ids in (False, True)
}


def _checked_answers(draft, locked: _Locked, stamp: str | None) -> tuple[dict, dict]:
    if locked.require_latest and needs_upgrade(draft):
        message = _("Das Formular wurde inzwischen geändert. Bitte prüfen Sie Ihre Angaben erneut.")
        raise ValidationFailed(message, outdated=True)
    spec = load_spec_for(draft.form_version_id, locked.form_checksum)
    answers = dict(draft.answers or {})
    checked = review_stamp.matches(stamp, draft, locked.form_checksum)  # validated on the review page
    errors = None if checked else validate_answers(spec, answers)
    if errors:
        message = _("Einige Angaben fehlen oder sind ungültig. Bitte vervollständigen Sie sie.")
        raise ValidationFailed(message, errors=errors)
    return answers, compute_values(spec, answers, draft.service_id)
