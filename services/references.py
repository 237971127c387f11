"""Reference numbers (Aktenzeichen) like DU-2026-000123: unique and sequential per prefix and year."""

from flask import current_app
from sqlalchemy import select

from extensions import db
from models import ReferenceCounter
from models.base import utcnow


def format_reference(prefix: str, year: int, value: int) -> str:
    """The printed form: prefix, year and a six-digit running number."""
    return f"{prefix}-{year}-{value:06d}"


def next_reference(now=None) -> str:
    """Issue the next reference number inside the caller's transaction.

    The counter row is locked (`SELECT … FOR UPDATE` on PostgreSQL; SQLite serialises writers), so
    concurrent submissions get distinct, gap-free numbers as long as their transactions commit.
    """
    prefix = current_app.config["REFERENCE_PREFIX"]
    year = (now or utcnow()).year
    counter = _locked_counter(prefix, year)
    counter.last_value += 1
    db.session.flush()
    return format_reference(prefix, year, counter.last_value)


def _locked_counter(prefix: str, year: int) -> ReferenceCounter:
    query = select(ReferenceCounter).where(ReferenceCounter.prefix == prefix, ReferenceCounter.year == year)
    counter = db.session.scalar(query.with_for_update())
    if counter is not None:
        return counter
    _create_counter(prefix, year)
    return db.session.scalar(query.with_for_update().execution_options(populate_existing=True))


def _create_counter(prefix: str, year: int) -> None:
    """Insert the year's counter row; a concurrent insert of the same row is harmless."""
    table = ReferenceCounter.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        stmt = insert(table).values(prefix=prefix, year=year, last_value=0).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert

        stmt = insert(table).values(prefix=prefix, year=year, last_value=0).on_conflict_do_nothing()
    db.session.execute(stmt)
