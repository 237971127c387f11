"""Reference numbers (Aktenzeichen) like DU-2026-000123: unique and sequential per prefix and year."""

from flask import current_app
from sqlalchemy import Integer, Text, bindparam, cast, func, update

from extensions import db
from models import ReferenceCounter, ServiceRequest
from models.base import upsert_insert, utcnow


def format_reference(prefix: str, year: int, value: int) -> str:
    """The printed form: prefix, year and a six-digit running number."""
    return f"{prefix}-{year}-{value:06d}"


def next_reference(now=None) -> str:
    """Issue the next reference number inside the caller's transaction.

    `UPDATE … SET last_value = last_value + 1 … RETURNING` takes the counter row's lock (like
    `SELECT … FOR UPDATE`, in one round trip) and holds it until the caller commits, so concurrent
    submissions get distinct, gap-free numbers. SQLite serialises writers anyway.
    """
    prefix = current_app.config["REFERENCE_PREFIX"]
    year = (now or utcnow()).year
    params = {"counter_prefix": prefix, "counter_year": year}
    return format_reference(prefix, year, _draw(_INCREMENT, params))


_counters = ReferenceCounter.__table__
_INCREMENT = (  # built once: the hot path of every submission
    update(_counters)
    .where(_counters.c.prefix == bindparam("counter_prefix"), _counters.c.year == bindparam("counter_year"))
    .values(last_value=_counters.c.last_value + 1)
    .returning(_counters.c.last_value)
)


def write_next_reference(request_id: int, now) -> str:
    """next_reference, written as the reference of request `request_id`, on PostgreSQL in one statement.

    The counter's UPDATE and the request's UPDATE go in one round trip (a CTE), so no client work
    happens while the counter row is locked; it stays locked until the caller commits, as with
    next_reference. The database pads the number like format_reference.
    """
    prefix, year = current_app.config["REFERENCE_PREFIX"], now.year
    params = {"counter_prefix": prefix, "counter_year": year, "reference_head": f"{prefix}-{year}-",
              "request_id": request_id}
    return _draw(_INCREMENT_INTO_REQUEST, params)


_drawn = _INCREMENT.returning(bindparam("request_id", type_=Integer).label("request_id")).cte("drawn")
_digits = cast(_drawn.c.last_value, Text)
_requests = ServiceRequest.__table__
_INCREMENT_INTO_REQUEST = (  # PostgreSQL only (UPDATE … FROM a data-modifying CTE)
    update(_requests)
    .where(_requests.c.id == _drawn.c.request_id)
    .values(
        reference=bindparam("reference_head", type_=Text)
        + func.lpad(_digits, func.greatest(6, func.length(_digits)), "0")  # format_reference's {:06d}
    )
    .returning(_requests.c.reference)
)


def _draw(statement, params: dict):
    """Run a statement that increments the counter of params' prefix and year; the year's first
    number creates the counter row first."""
    value = db.session.connection().execute(statement, params).scalar_one_or_none()
    if value is None:  # no counter row for this year yet
        _create_counter(params["counter_prefix"], params["counter_year"])
        value = db.session.connection().execute(statement, params).scalar_one()
    return value


def _create_counter(prefix: str, year: int) -> None:
    """Insert the year's counter row; a concurrent insert of the same row is harmless."""
    stmt = upsert_insert(db.session.get_bind().dialect.name, ReferenceCounter.__table__)
    db.session.execute(stmt.values(prefix=prefix, year=year, last_value=0).on_conflict_do_nothing())
