"""The clerks' work queue: filtered, searchable, keyset-paginated list of a department's requests.

Every filter and sort value comes through `parse_queue_args`, an allow-list parser: anything it
does not know is a ValidationFailed (HTTP 400), and values only ever reach SQL as bound parameters.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Integer, and_, bindparam, false, func, or_, select, tuple_
from sqlalchemy.orm import joinedload

from extensions import db
from models import ServiceRequest
from models.base import utcnow
from services.errors import ValidationFailed

PAGE_SIZE = 25
ASSIGNEE_CHOICES = ("anyone", "me", "nobody")
SORTS = {
    # name -> (column, descending)
    "due": ("due_at", False),
    "submitted": ("submitted_at", False),
    "newest": ("submitted_at", True),
}
ALLOWED_ARGS = {"state", "service", "assignee", "overdue", "q", "sort", "after", "lang"}
_STATE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_REFERENCE_RE = re.compile(r"^[A-Za-z]{1,8}-\d[\d-]*$|^[A-Za-z]{1,8}-$")
_MAX_QUERY = 100


@dataclass(frozen=True)
class QueueFilter:
    """A validated queue query (see parse_queue_args)."""

    state: str | None = None
    service_id: int | None = None
    assignee: str = "anyone"
    overdue: bool = False
    q: str = ""
    sort: str = "due"
    after: tuple | None = None  # decoded cursor: (sort value or None, id)

    def args(self, **changes) -> dict:
        """Query-string arguments for this filter (for links, the CSV export and the next page)."""
        f = replace(self, **changes) if changes else self
        out = {"sort": f.sort, "assignee": f.assignee}
        if f.state:
            out["state"] = f.state
        if f.service_id:
            out["service"] = f.service_id
        if f.overdue:
            out["overdue"] = "1"
        if f.q:
            out["q"] = f.q
        return out


@dataclass
class QueuePage:
    rows: list
    next_cursor: str | None


def parse_queue_args(args, known_states=None, known_service_ids=None) -> QueueFilter:
    """Validate query-string arguments against the allow-lists; raise ValidationFailed on anything else."""
    unknown = set(args.keys()) - ALLOWED_ARGS
    if unknown:
        raise ValidationFailed(_("Unbekannter Parameter: %(name)s", name=sorted(unknown)[0]))
    state = args.get("state") or None
    known = known_states is None or state in known_states
    if state is not None and (not _STATE_RE.match(state) or not known):
        raise ValidationFailed(_("Unbekannter Status."))
    service_id = _parse_service(args.get("service"), known_service_ids)
    assignee = args.get("assignee") or "anyone"
    if assignee not in ASSIGNEE_CHOICES:
        raise ValidationFailed(_("Unbekannte Auswahl für Bearbeitung."))
    overdue = args.get("overdue") or ""
    if overdue not in ("", "0", "1"):
        raise ValidationFailed(_("Ungültiger Wert für „überfällig“."))
    sort = args.get("sort") or "due"
    if sort not in SORTS:
        raise ValidationFailed(_("Unbekannte Sortierung."))
    q = (args.get("q") or "").strip()
    if len(q) > _MAX_QUERY:
        raise ValidationFailed(_("Der Suchbegriff ist zu lang."))
    after = decode_cursor(args["after"], sort) if args.get("after") else None
    return QueueFilter(state, service_id, assignee, overdue == "1", q, sort, after)


def _parse_service(raw, known_service_ids):
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise ValidationFailed(_("Unbekannte Leistung."))
    service_id = int(raw)
    if known_service_ids is not None and service_id not in known_service_ids:
        raise ValidationFailed(_("Unbekannte Leistung."))
    return service_id


def encode_cursor(sort: str, value, ident: int) -> str:
    """Opaque cursor for the row after which the next page starts."""
    raw = json.dumps([sort, value.isoformat() if value is not None else None, ident], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, sort: str) -> tuple:
    """Decode and validate a cursor made by encode_cursor for the same sort order."""
    invalid = ValidationFailed(_("Ungültiger Seitenverweis."))
    if len(token) > 200:
        raise invalid
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        cursor_sort, value, ident = data
        value = datetime.fromisoformat(value) if value is not None else None
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid from exc
    if cursor_sort != sort or type(ident) is not int or (value is not None and value.tzinfo is None):
        raise invalid
    return value, ident


def queue_query(department_ids, flt: QueueFilter, actor_id: int, now=None):
    """The SELECT for one queue page (without limit); exposed for the benchmark's EXPLAIN."""
    now = now or utcnow()
    stmt = select(ServiceRequest).where(in_departments(department_ids))
    stmt = stmt.where(*_filter_conditions(flt, actor_id, now))
    column_name, descending = SORTS[flt.sort]
    column = getattr(ServiceRequest, column_name)
    if flt.after is not None:
        stmt = stmt.where(_after_condition(column, descending, *flt.after))
    if descending:
        return stmt.order_by(column.desc().nulls_last(), ServiceRequest.id.desc())
    return stmt.order_by(column.asc().nulls_last(), ServiceRequest.id.asc())


def in_departments(department_ids):
    """department_id IN (...), as a plain equality for the usual single department (cheaper to run)."""
    ids = sorted(set(department_ids)) or [-1]
    return ServiceRequest.department_id == ids[0] if len(ids) == 1 else ServiceRequest.department_id.in_(ids)


def _filter_conditions(flt: QueueFilter, actor_id: int, now) -> list:
    conds = []
    if not (flt.state or flt.q):  # the default view: work not yet closed
        conds.append(ServiceRequest.closed_at.is_(None))
    if flt.state:
        conds.append(ServiceRequest.state == flt.state)
    if flt.service_id:
        conds.append(ServiceRequest.service_id == flt.service_id)
    if flt.assignee == "me":
        conds.append(ServiceRequest.assignee_id == actor_id)
    elif flt.assignee == "nobody":
        conds.append(ServiceRequest.assignee_id.is_(None))
    if flt.overdue:
        conds.append(overdue_condition(now))
    if flt.q:
        conds.append(search_condition(flt.q))
    return conds


def overdue_condition(now):
    """Past the due date, not decided or closed, and the clock not paused (waiting for the citizen)."""
    return and_(
        ServiceRequest.due_at < now,
        ServiceRequest.decided_at.is_(None),
        ServiceRequest.closed_at.is_(None),
        ServiceRequest.clock_paused_at.is_(None),
    )


def search_condition(q: str):
    """Reference number (exact or prefix) or applicant name (substring); both case-insensitive."""
    if _REFERENCE_RE.match(q):
        # A prefix match includes the exact one; on PostgreSQL it uses ix_service_requests_reference_prefix.
        return ServiceRequest.reference.startswith(q.upper(), autoescape=True)
    if len(q) < 2:
        return false()
    return func.lower(ServiceRequest.applicant_name).contains(q.lower(), autoescape=True)


def _after_condition(column, descending, value, ident):
    """Rows strictly after the cursor in (column NULLS LAST, id) order."""
    if value is None:  # the cursor is already inside the trailing NULL block
        after_id = (ServiceRequest.id < ident) if descending else (ServiceRequest.id > ident)
        return and_(column.is_(None), after_id)
    key = tuple_(column, ServiceRequest.id)
    bound = tuple_(bindparam(None, value, type_=column.type), bindparam(None, ident, type_=Integer()))
    return or_(key < bound if descending else key > bound, column.is_(None))


def page_statement(department_ids, flt: QueueFilter, actor_id: int, limit=PAGE_SIZE, now=None):
    """The one SELECT behind a queue page: limit + 1 rows (to know whether a next page exists)."""
    stmt = queue_query(department_ids, flt, actor_id, now).limit(limit + 1)
    # Many-to-one: joined in the same round trip (the LIMIT still applies to requests only).
    return stmt.options(joinedload(ServiceRequest.service), joinedload(ServiceRequest.assignee))


def list_queue(department_ids, flt: QueueFilter, actor_id: int, limit=PAGE_SIZE, now=None) -> QueuePage:
    """One page of the queue of `department_ids` (the clerk's departments) under `flt`."""
    rows = list(db.session.scalars(page_statement(department_ids, flt, actor_id, limit, now)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(flt.sort, getattr(last, SORTS[flt.sort][0]), last.id)
    return QueuePage(rows, next_cursor)


def iter_queue(department_ids, flt: QueueFilter, actor_id: int, batch: int = 500):
    """Every request matching `flt`, fetched page by page (for the CSV export)."""
    flt = replace(flt, after=None)
    while True:
        page = list_queue(department_ids, flt, actor_id, limit=batch)
        yield from page.rows
        if page.next_cursor is None:
            return
        flt = replace(flt, after=decode_cursor(page.next_cursor, flt.sort))


def state_counts(department_ids) -> dict[str, int]:
    """Number of requests not yet closed per state in the given departments."""
    stmt = (
        select(ServiceRequest.state, func.count())
        .where(
            in_departments(department_ids),
            ServiceRequest.closed_at.is_(None),
        )
        .group_by(ServiceRequest.state)
    )
    return dict(db.session.execute(stmt).all())
