"""Notices (Bescheide): request one now, it is rendered, sealed and stored by a job after commit.

Heavy imports (WeasyPrint, pyHanko) live in the submodules so the web process stays light.
"""

import secrets

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from extensions import db
from models import Notice, NoticeKind, NoticeState, OutboxJob, OutboxState
from models.base import new_public_id, utcnow
from services.errors import NotFound, ValidationFailed
from services.outbox import insert_job, record_job

# kind → title (German msgid). One registry; templates, views and mails use it.
NOTICE_KINDS = {
    NoticeKind.RECEIPT: _l("Eingangsbestätigung"),
    NoticeKind.APPROVAL: _l("Bescheid – Genehmigung"),
    NoticeKind.REJECTION: _l("Bescheid – Ablehnung"),
    NoticeKind.INFORMATION_REQUEST: _l("Rückfrage"),
    NoticeKind.FEE: _l("Gebührenbescheid"),
}
# state → label for staff (German msgid).
NOTICE_STATES = {
    NoticeState.PENDING: _l("wird erstellt"),
    NoticeState.ISSUED: _l("ausgestellt"),
    NoticeState.FAILED: _l("fehlgeschlagen"),
}
# kind → what the applicant's status timeline says when such a notice was issued (German msgid).
NOTICE_EVENT_TITLES = {
    NoticeKind.RECEIPT: _l("Eingangsbestätigung erstellt"),
    NoticeKind.APPROVAL: _l("Genehmigungsbescheid erstellt"),
    NoticeKind.REJECTION: _l("Ablehnungsbescheid erstellt"),
    NoticeKind.INFORMATION_REQUEST: _l("Schreiben zur Rückfrage erstellt"),
    NoticeKind.FEE: _l("Gebührenbescheid erstellt"),
}
# Unambiguous alphabet for codes typed by hand (no 0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_GROUPS, CODE_GROUP_LEN = 3, 4


def notices_for_applicant(req) -> dict[str, list[Notice]]:
    """The request's notices as the applicant sees them, oldest first: "issued" (downloadable),
    "pending" (being prepared) and "failed" (delayed; staff have been told). A pending or failed
    notice that a later issued revision of its kind replaced is left out."""
    newest_issued: dict[str, int] = {}
    for notice in req.notices:
        if notice.state == NoticeState.ISSUED:
            newest_issued[notice.kind] = max(newest_issued.get(notice.kind, 0), notice.revision)
    groups: dict[str, list[Notice]] = {"issued": [], "pending": [], "failed": []}
    for notice in sorted(req.notices, key=lambda n: n.id):
        replaced = notice.state != NoticeState.ISSUED and newest_issued.get(notice.kind, 0) > notice.revision
        if str(notice.state) in groups and not replaced:
            groups[str(notice.state)].append(notice)
    return groups


def new_verification_code() -> str:
    """12 random characters (≈ 59 bits) as XXXX-XXXX-XXXX."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LEN))
    return "-".join(chars[i : i + CODE_GROUP_LEN] for i in range(0, len(chars), CODE_GROUP_LEN))


def normalise_code(raw: str) -> str | None:
    """User input → stored form (case, spaces and dashes don't matter); None when it cannot be a code."""
    chars = "".join(c for c in (raw or "").upper() if c not in " -\t")
    if len(chars) != CODE_GROUPS * CODE_GROUP_LEN or any(c not in CODE_ALPHABET for c in chars):
        return None
    return "-".join(chars[i : i + CODE_GROUP_LEN] for i in range(0, len(chars), CODE_GROUP_LEN))


def notice_title(kind: str) -> str:
    return str(NOTICE_KINDS.get(kind, kind))


def notice_state_label(state: str) -> str:
    return str(NOTICE_STATES.get(state, state))


def notice_event_title(kind: str) -> str:
    """The timeline entry for an issued notice of `kind` (a kind added later still reads sensibly)."""
    return str(NOTICE_EVENT_TITLES.get(kind, _l("Dokument erstellt")))


def insert_first_notice(request_id: int, kind: str) -> int:
    """request_notice for a request created in this transaction without ORM objects (the submit).

    Revision 1, as nothing can exist yet; the unique verification code is left to its constraint
    (a clash of two random 59-bit codes fails the transaction rather than issuing a duplicate).
    """
    row = first_notice_row(request_id, kind)
    notice_id = db.session.connection().execute(_INSERT_NOTICE, row).scalar_one()
    insert_job(*render_job_of(notice_id), request_id=request_id)
    return notice_id


def first_notice_row(request_id: int, kind: str, now=None) -> dict:
    """Every column of a new request's first notice of `kind` but its id (see insert_first_notice).

    A caller writing this row itself (the submit's single PostgreSQL statement) also writes the
    outbox row of render_job_of(its id).
    """
    return {
        "public_id": new_public_id(), "request_id": request_id, "kind": str(kind), "revision": 1,
        "state": NoticeState.PENDING, "data": {}, "verification_code": new_verification_code(),
        "error": "", "created_at": now or utcnow(),
    }


def render_job_of(notice_id: int) -> tuple[str, dict]:
    """(kind, payload) of the outbox job that renders, seals and stores a pending notice."""
    return "render_notice", {"notice_id": notice_id}


_INSERT_NOTICE = Notice.__table__.insert().returning(Notice.__table__.c.id)


def request_notice(req, kind: str, data: dict | None = None, actor=None) -> Notice:
    """Create the pending notice (next revision of this kind) and record its render job."""
    if kind not in NOTICE_KINDS:
        raise ValidationFailed(f"Unbekannte Bescheidart: {kind}")
    if req.id is None:
        db.session.flush()
    code = new_verification_code()
    # One round trip: the last revision of this kind, and whether the fresh code is taken already.
    # no autoflush: pending rows (the new request's events, ...) go out with the notice's own flush
    with db.session.no_autoflush:
        last, taken = db.session.execute(
            select(
                select(func.max(Notice.revision))
                .where(Notice.request_id == req.id, Notice.kind == kind)
                .scalar_subquery(),
                select(Notice.id).where(Notice.verification_code == code).exists(),
            )
        ).one()
    notice = Notice(
        public_id=new_public_id(),
        request_id=req.id,
        kind=str(kind),
        revision=(last or 0) + 1,
        state=NoticeState.PENDING,
        data=dict(data or {}),
        verification_code=_unused_code() if taken else code,
    )
    db.session.add(notice)
    db.session.flush()
    record_job(*render_job_of(notice.id), request=req)
    return notice


def retry_notice(req, notice_public_id: str, actor) -> Notice:
    """Queue a failed notice of `req` again ("Bescheid erneut erzeugen"), recorded in the audit trail.

    The notice keeps its revision, verification code and decision data; the job renders it with the
    template version published *now* (template_for reads the latest when the job runs), so a
    department that fixed its template gets the notice out with the fix. The outbox row that gave
    up gets fresh attempts (it leaves the ops page's failed list); without one a new row is recorded.
    """
    from services.access import check_case_worker
    from services.events import append_event
    from services.outbox import retry_job

    check_case_worker(actor, req)
    notice = db.session.scalar(
        select(Notice)
        .where(Notice.request_id == req.id, Notice.public_id == str(notice_public_id))
        .with_for_update()
    )
    if notice is None:
        raise NotFound()
    if notice.state != NoticeState.FAILED:
        raise ValidationFailed(_("Dieser Bescheid wird bereits erstellt oder ist schon ausgestellt."))
    notice.state, notice.error, notice.failure = NoticeState.PENDING, "", None
    kind, payload = render_job_of(notice.id)
    open_rows = select(OutboxJob).where(
        OutboxJob.request_id == req.id, OutboxJob.kind == kind, OutboxJob.state != OutboxState.DONE
    ).order_by(OutboxJob.id.desc())
    jobs = [job for job in db.session.scalars(open_rows) if job.payload == payload]
    if any(job.state != OutboxState.FAILED for job in jobs):
        pass  # ops retried its row already: that attempt renders it
    elif jobs:
        retry_job(jobs[0])
    else:
        record_job(kind, payload, request=req)
    append_event(
        req,
        "notice_retried",
        actor=actor,
        data={"notice_id": notice.id, "kind": notice.kind, "revision": notice.revision},
    )
    return notice


def _unused_code() -> str:
    while True:
        code = new_verification_code()
        if db.session.scalar(select(Notice.id).where(Notice.verification_code == code)) is None:
            return code


def warm_up(config=None) -> None:
    """Preload WeasyPrint, fonts and the seal keys (worker start): the first job is as fast as the rest."""
    from services.notices.issue import warm_up as _warm_up

    _warm_up(config)
