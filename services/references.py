"""Reference numbers (Aktenzeichen) like DU-2026-000123: unique and sequential per prefix and year."""

from flask import current_app
from sqlalchemy import bindparam, update

from extensions import db
from models import ReferenceCounter
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
    value = _increment(prefix, year)
    if value is None:
        _create_counter(prefix, year)
        value = _increment(prefix, year)
    return format_reference(prefix, year, value)


_counters = ReferenceCounter.__table__
_INCREMENT = (  # built once: the hot path of every submission
    update(_counters)
    .where(_counters.c.prefix == bindparam("counter_prefix"), _counters.c.year == bindparam("counter_year"))
    .values(last_value=_counters.c.last_value + 1)
    .returning(_counters.c.last_value)
)


def _increment(prefix: str, year: int) -> int | None:
    params = {"counter_prefix": prefix, "counter_year": year}
    return db.session.connection().execute(_INCREMENT, params).scalar_one_or_none()


def _create_counter(prefix: str, year: int) -> None:
    """Insert the year's counter row; a concurrent insert of the same row is harmless."""
    stmt = upsert_insert(db.session.get_bind().dialect.name, ReferenceCounter.__table__)
    db.session.execute(stmt.values(prefix=prefix, year=year, last_value=0).on_conflict_do_nothing())
