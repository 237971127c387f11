"""Reference numbers (Aktenzeichen) like DU-2026-000123: unique and sequential per prefix and year."""

from flask import current_app
from sqlalchemy import Integer, Text, bindparam, cast, func, literal_column, select, text, update

from extensions import db
from models import ReferenceCounter
from models.base import city_time, upsert_insert, utcnow


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
    year = city_time(now or utcnow()).year  # 00:30 on 1 January in Duisburg is the new year
    params = {"counter_prefix": prefix, "counter_year": year}
    value = db.session.connection().execute(_INCREMENT, params).scalar_one_or_none()
    if value is None:  # the year's first number: create its counter row
        _create_counter(prefix, year)
        value = db.session.connection().execute(_INCREMENT, params).scalar_one()
    return format_reference(prefix, year, value)


_counters = ReferenceCounter.__table__
_INCREMENT = (  # built once: the hot path of every submission
    update(_counters)
    .where(_counters.c.prefix == bindparam("counter_prefix"), _counters.c.year == bindparam("counter_year"))
    .values(last_value=_counters.c.last_value + 1)
    .returning(_counters.c.last_value)
)


def drawn_reference_cte(name: str = "drawn"):
    """PostgreSQL: a data-modifying CTE that draws the next number of one prefix and year.

    An upsert: the year's first number creates the counter row, every later one increments it,
    in one statement either way. Its row lock is held until the transaction commits, as with
    next_reference, so a statement using it should be the transaction's last (docs/decisions/0006).
    Parameters: counter_prefix, counter_year. Its one column, `reference`, is the formatted number.
    """
    prefix, year = bindparam("counter_prefix", type_=Text), bindparam("counter_year", type_=Integer)
    # As text: SQLAlchemy's PostgreSQL INSERT (the one with on_conflict_*) has no cache key, so a
    # statement containing it would be compiled anew on every call (~4 ms).
    drawn = (
        text(
            "INSERT INTO reference_counters (prefix, year, last_value) "
            "VALUES (:counter_prefix, :counter_year, 1) "
            "ON CONFLICT (prefix, year) DO UPDATE SET last_value = reference_counters.last_value + 1 "
            "RETURNING last_value"
        )
        .bindparams(prefix, year)
        .columns(_counters.c.last_value)
        .cte(name)
    )
    dash = literal_column("'-'", Text)  # constants, not parameters: the statement using this has few to spare
    digits = cast(drawn.c.last_value, Text)
    formatted = (  # format_reference, in SQL: prefix-year-number padded to at least six digits
        prefix + dash + cast(year, Text) + dash
        + func.lpad(digits, func.greatest(literal_column("6"), func.length(digits)), literal_column("'0'"))
    )
    return select(formatted.label("reference")).select_from(drawn).cte(f"{name}_reference")


def _create_counter(prefix: str, year: int) -> None:
    """Insert the year's counter row; a concurrent insert of the same row is harmless."""
    stmt = upsert_insert(db.session.get_bind().dialect.name, ReferenceCounter.__table__)
    db.session.execute(stmt.values(prefix=prefix, year=year, last_value=0).on_conflict_do_nothing())
