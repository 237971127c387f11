"""Shared column types and mixins."""

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB


class JSONType(TypeDecorator):
    """JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


def upsert_insert(dialect_name: str, table):
    """An INSERT of `table` with ON CONFLICT support for the dialect (PostgreSQL or SQLite)."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (the only clock the models use)."""
    return datetime.now(UTC)


# The city's time zone: what people read (dates on pages, notices, exports) and what a year or a
# day means to them (the year in a reference number, "today" in a form's date bounds).
CITY_TZ = ZoneInfo("Europe/Berlin")


def city_time(moment: datetime) -> datetime:
    """An aware UTC moment as the city's wall-clock time."""
    return moment.astimezone(CITY_TZ)


def new_public_id() -> str:
    """Random id for URLs where a sequential id would leak counts."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator):
    """Stores UTC, always returns aware datetimes (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
