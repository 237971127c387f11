"""The clerks' work queue: filtered, searchable, keyset-paginated list of a department's requests.

Every filter and sort value comes through `parse_queue_args`, an allow-list parser: a value it does
not know is a ValidationFailed (HTTP 400), and values only ever reach SQL as bound parameters.
Parameters it does not know by name are ignored (old bookmarks, tracking suffixes): they reach nothing.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, String, and_, bindparam, false, func, literal_column, or_, select, tuple_
from sqlalchemy.orm import joinedload

from extensions import db
from models import Service, ServiceRequest, User
from models.base import UTCDateTime, utcnow
from services.errors import ValidationFailed

PAGE_SIZE = 25
ASSIGNEE_CHOICES = ("anyone", "me", "nobody")
SORTS = {
    # name -> (column, descending)
    "due": ("due_at", False),
    "submitted": ("submitted_at", False),
    "newest": ("submitted_at", True),
}
_STATE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_REFERENCE_RE = re.compile(r"^[A-Za-z]{1,8}-\d[\d-]*$|^[A-Za-z]{1,8}-$")
_YEAR_NUMBER_RE = re.compile(r"^\d{4}(-\d*)?$")  # a reference without the city's prefix: 2026-000123
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
    replied: bool = False  # only requests whose applicant answered since staff last acted

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
        if f.replied:
            out["replied"] = "1"
        if f.q:
            out["q"] = f.q
        return out


@dataclass
class QueuePage:
    rows: list
    next_cursor: str | None


def parse_queue_args(args, known_states=None, known_service_ids=None) -> QueueFilter:
    """Validate the known query-string arguments against the allow-lists (ValidationFailed if not).

    Only state, service, assignee, overdue, replied, q, sort and after are read; any other parameter is
    ignored rather than refused, so that a stale bookmark or a link with an extra parameter still opens
    the queue.
    """
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
    replied = args.get("replied") or ""
    if replied not in ("", "0", "1"):
        raise ValidationFailed(_("Ungültiger Wert für „Antwort eingegangen“."))
    sort = args.get("sort") or "due"
    if sort not in SORTS:
        raise ValidationFailed(_("Unbekannte Sortierung."))
    q = (args.get("q") or "").strip()
    if len(q) > _MAX_QUERY:
        raise ValidationFailed(_("Der Suchbegriff ist zu lang."))
    if q and _search_kind(q) == "none":  # would silently find nothing
        raise ValidationFailed(_("Suchen Sie nach dem Aktenzeichen (zum Beispiel DU-2026-000123 oder "
                                 "2026-000123) oder nach mindestens zwei Zeichen des Namens."))
    after = decode_cursor(args["after"], sort) if args.get("after") else None
    return QueueFilter(state, service_id, assignee, overdue == "1", q, sort, after, replied=replied == "1")


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


# --- The page query ------------------------------------------------------------------------------
#
# A queue page is the hottest read of the clerk UI, so it is built for low overhead (ADR 0008):
#   * one Core SELECT of just the columns the page shows (no ORM entities, no identity map);
#   * one statement object per *shape* of the filter (which conditions are present), built once and
#     cached: the values travel as named bound parameters, so SQLAlchemy's compiled-statement cache
#     is hit without building a new statement or cache key, and PostgreSQL sees one statement text
#     per shape (psycopg prepares it after a few executions);
#   * rows come back as QueueRow tuples.
# The CSV export (iter_queue) needs whole requests (answers, form version) and uses the same
# conditions and keyset on ORM entities.

_SR = ServiceRequest.__table__
_SERVICES = Service.__table__
_USERS = User.__table__


class QueueRow(NamedTuple):
    """One line of the queue page: what it shows, and what its state label and deadline status need
    (views/clerk_detail.py: queue_state_label, queue_deadline_status)."""

    id: int
    public_id: str
    reference: str
    applicant_name: str
    state: str
    department_id: int
    workflow_version_id: int | None
    submitted_at: datetime | None
    due_at: datetime | None
    clock_paused_at: datetime | None
    assignee_id: int | None
    service_title_de: str
    service_title_en: str | None
    assignee_full_name: str | None
    assignee_email: str | None
    citizen_replied_at: datetime | None  # the applicant answered; staff have not acted since

    def service_title(self, locale: str = "de") -> str:
        """Like Service.title: the English title when asked for and present, else the German one."""
        return (self.service_title_en if locale == "en" else None) or self.service_title_de

    @property
    def assignee_name(self) -> str:
        return (self.assignee_full_name or self.assignee_email or "") if self.assignee_id is not None else ""


_ROW_COLUMNS = (
    _SR.c.id, _SR.c.public_id, _SR.c.reference, _SR.c.applicant_name, _SR.c.state, _SR.c.department_id,
    _SR.c.workflow_version_id, _SR.c.submitted_at, _SR.c.due_at, _SR.c.clock_paused_at, _SR.c.assignee_id,
    _SERVICES.c.title_de, _SERVICES.c.title_en, _USERS.c.full_name, _USERS.c.email, _SR.c.citizen_replied_at,
)  # fmt: skip
_ROW_FROM = _SR.join(_SERVICES, _SERVICES.c.id == _SR.c.service_id).outerjoin(
    _USERS, _USERS.c.id == _SR.c.assignee_id
)


def in_departments(department_ids):
    """department_id IN (...), as a plain equality for the usual single department (cheaper to run)."""
    ids = sorted(set(department_ids)) or [-1]
    return _SR.c.department_id == ids[0] if len(ids) == 1 else _SR.c.department_id.in_(ids)


def not_own(actor_id):
    """Requests the clerk did not file themselves: those are their colleagues' (access.staff_may_view)."""
    return or_(_SR.c.applicant_id.is_(None), _SR.c.applicant_id != actor_id)


def overdue_condition(now):
    """Past the due date, not decided or closed, and the clock not paused (waiting for the citizen).

    `now` is a datetime or a bound parameter standing for one."""
    return and_(
        _SR.c.due_at < now,
        _SR.c.decided_at.is_(None),
        _SR.c.closed_at.is_(None),
        _SR.c.clock_paused_at.is_(None),
    )


def _search_kind(q: str) -> str:
    """"ref" (a reference number or its start, with or without the city's prefix), "name" (at least
    two characters) or "none" (one character: too little to search for)."""
    if _REFERENCE_RE.match(q) or _YEAR_NUMBER_RE.match(q):
        return "ref"
    return "name" if len(q) >= 2 else "none"


def _search(q: str) -> tuple[str, dict]:
    """Reference number (exact or prefix) or applicant name (substring), both case-insensitive:
    (kind "ref" | "name" | "none", bound values)."""
    kind = _search_kind(q)
    if kind == "ref":
        if _YEAR_NUMBER_RE.match(q):  # typed without the prefix every reference of this city has
            q = f"{current_app.config['REFERENCE_PREFIX']}-{q}"
        # Letters, digits and hyphens only, so no LIKE wildcard can be in it. PostgreSQL plans the
        # prefix with the actual value and uses ix_service_requests_reference_prefix; a complete
        # reference number is an exact match through the same index.
        return "ref", {"ref_prefix": q.upper() + "%"}
    if kind == "none":
        return "none", {}
    escaped = q.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
    return "name", {"name_pattern": f"%{escaped}%"}


def _search_condition(kind: str):
    if kind == "ref":
        return _SR.c.reference.like(bindparam("ref_prefix", type_=String()))
    if kind == "name":
        return func.lower(_SR.c.applicant_name).like(bindparam("name_pattern", type_=String()), escape="/")
    return false()


class _Shape(NamedTuple):
    """Which conditions a queue query has (the cache key of its statement); values are bound apart."""

    several_departments: bool
    state: bool
    service: bool
    assignee: str  # anyone | me | nobody
    overdue: bool
    search: str | None  # None | ref | name | none
    sort: str
    after: str | None  # None | null (cursor inside the trailing NULL block) | value
    rows: int  # LIMIT: page size + 1
    replied: bool = False


def _shape(department_ids, flt: QueueFilter, actor_id: int, limit: int, now) -> tuple[_Shape, dict]:
    """The statement shape of a query and the values of its bound parameters."""
    ids = sorted(set(department_ids)) or [-1]
    params = {"actor_id": actor_id}
    if len(ids) == 1:
        params["dept"] = ids[0]
    else:
        params["depts"] = ids
    if flt.state:
        params["state"] = flt.state
    if flt.service_id:
        params["service_id"] = flt.service_id
    if flt.overdue:
        params["now"] = now or utcnow()
    search = None
    if flt.q:
        search, values = _search(flt.q)
        params.update(values)
    after = None
    if flt.after is not None:
        value, params["after_id"] = flt.after
        after = "null" if value is None else "value"
        if value is not None:
            params["after_value"] = value
    shape = _Shape(len(ids) > 1, bool(flt.state), bool(flt.service_id), flt.assignee, flt.overdue, search,
                   flt.sort, after, limit + 1, flt.replied)  # fmt: skip
    return shape, params


def _conditions(shape: _Shape) -> tuple[list, list]:
    """WHERE conditions and ORDER BY of a shape, with named bound parameters for every value."""
    conds = [_SR.c.department_id.in_(bindparam("depts", expanding=True)) if shape.several_departments
             else _SR.c.department_id == bindparam("dept", type_=Integer()),
             not_own(bindparam("actor_id", type_=Integer()))]  # fmt: skip
    if not (shape.state or shape.search):  # the default view: work not yet closed
        conds.append(_SR.c.closed_at.is_(None))
    if shape.state:
        conds.append(_SR.c.state == bindparam("state", type_=String()))
    if shape.service:
        conds.append(_SR.c.service_id == bindparam("service_id", type_=Integer()))
    if shape.assignee == "me":
        conds.append(_SR.c.assignee_id == bindparam("actor_id", type_=Integer()))
    elif shape.assignee == "nobody":
        conds.append(_SR.c.assignee_id.is_(None))
    if shape.overdue:
        conds.append(overdue_condition(bindparam("now", type_=UTCDateTime())))
    if shape.replied:
        conds.append(_SR.c.citizen_replied_at.is_not(None))
    if shape.search:
        conds.append(_search_condition(shape.search))
    column_name, descending = SORTS[shape.sort]
    column = _SR.c[column_name]
    if shape.after is not None:
        conds.append(_after_condition(column, descending, shape.after == "null"))
    if descending:
        return conds, [column.desc().nulls_last(), _SR.c.id.desc()]
    return conds, [column.asc().nulls_last(), _SR.c.id.asc()]


def _after_condition(column, descending, in_null_block):
    """Rows strictly after the cursor (:after_value, :after_id) in (column NULLS LAST, id) order."""
    after_id = bindparam("after_id", type_=Integer())
    if in_null_block:  # the cursor is already inside the trailing NULL block
        return and_(column.is_(None), _SR.c.id < after_id if descending else _SR.c.id > after_id)
    key = tuple_(column, _SR.c.id)
    bound = tuple_(bindparam("after_value", type_=column.type), after_id)
    return or_(key < bound if descending else key > bound, column.is_(None))


def _limit(shape: _Shape):
    """LIMIT as part of the statement text: one of a few constants (page size + 1, export batch + 1),
    so PostgreSQL can settle on a generic plan for a prepared queue page instead of re-planning it."""
    return literal_column(str(int(shape.rows)), Integer())


@lru_cache(maxsize=512)
def _row_select(shape: _Shape):
    conds, order = _conditions(shape)
    return select(*_ROW_COLUMNS).select_from(_ROW_FROM).where(*conds).order_by(*order).limit(_limit(shape))


@lru_cache(maxsize=128)
def _entity_select(shape: _Shape):
    conds, order = _conditions(shape)
    stmt = select(ServiceRequest).where(*conds).order_by(*order).limit(_limit(shape))
    # Many-to-one: joined in the same round trip (the LIMIT still applies to requests only).
    return stmt.options(joinedload(ServiceRequest.service), joinedload(ServiceRequest.assignee))


def page_query(department_ids, flt: QueueFilter, actor_id: int, limit=PAGE_SIZE, now=None):
    """(statement, bound values) of the one SELECT behind a queue page: limit + 1 rows (to know
    whether a next page exists). Exposed for the benchmark."""
    shape, params = _shape(department_ids, flt, actor_id, limit, now)
    return _row_select(shape), params


def list_queue(department_ids, flt: QueueFilter, actor_id: int, limit=PAGE_SIZE, now=None) -> QueuePage:
    """One page of the queue of `department_ids` (the clerk's departments) under `flt`, as QueueRows."""
    shape, params = _shape(department_ids, flt, actor_id, limit, now)
    session = db.session
    if session.autoflush:  # a Core SELECT does not autoflush by itself; the ORM query did
        session.flush()
    rows = list(map(QueueRow._make, session.connection().execute(_row_select(shape), params).all()))
    return _page(rows, flt.sort, limit)


def _page(rows, sort: str, limit: int) -> QueuePage:
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort, getattr(last, SORTS[sort][0]), last.id)
    return QueuePage(rows, next_cursor)


def iter_queue(department_ids, flt: QueueFilter, actor_id: int, batch: int = 500):
    """Every request matching `flt` as ServiceRequest objects, fetched page by page (CSV export)."""
    flt = replace(flt, after=None)
    while True:
        shape, params = _shape(department_ids, flt, actor_id, batch, None)
        page = _page(list(db.session.scalars(_entity_select(shape), params)), flt.sort, batch)
        yield from page.rows
        if page.next_cursor is None:
            return
        flt = replace(flt, after=decode_cursor(page.next_cursor, flt.sort))


def state_counts(department_ids, actor_id: int) -> dict[str, int]:
    """Requests not yet closed per state in the given departments, counted as the actor's queue lists them."""
    stmt = (
        select(ServiceRequest.state, func.count())
        .where(
            in_departments(department_ids),
            ServiceRequest.closed_at.is_(None),
            not_own(actor_id),
        )
        .group_by(ServiceRequest.state)
    )
    return dict(db.session.execute(stmt).all())
