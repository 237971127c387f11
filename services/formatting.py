"""One locale-aware formatter each for file sizes, calendar days and points in time (pages, messages,
answers): the same day reads the same everywhere in one language."""

import math
from datetime import datetime
from functools import lru_cache

from babel.dates import format_date, get_datetime_format, get_time_format
from babel.lists import format_list
from babel.numbers import format_decimal
from flask_babel import format_datetime, get_locale

from models.base import city_time

_KB, _MB = 1024, 1024 * 1024


def _locale(locale) -> str:
    return str(locale or get_locale() or "de")


def format_size(size, locale=None) -> str:
    """A file size such as 120 KB or 9,9 MB (9.9 MB in English).

    Whole KB, rounded up (a small file is never "0 KB"), MB to one decimal; binary units, as the
    limits are configured (10 MB = 10 × 1024 × 1024 bytes).
    """
    size = size if isinstance(size, int) and size > 0 else 0
    if size >= _MB:
        return f"{format_decimal(size / _MB, '#,##0.#', locale=_locale(locale))} MB"
    return f"{format_decimal(max(1, math.ceil(size / _KB)), '#,##0', locale=_locale(locale))} KB"


def format_alternatives(items, locale=None) -> str:
    """"PDF, JPG oder PNG" / "PDF, JPG or PNG" (British English like our dates: no serial comma)."""
    locale = _locale(locale)
    return format_list([str(i) for i in items], style="or", locale="en_GB" if locale == "en" else locale)


# German numeric as on forms and notices; English with the month's name (GOV.UK style), not "Dec 4, 2026".
_DAY_PATTERNS = {"de": "dd.MM.y", "en": "d MMMM y"}


def _day_pattern(locale: str) -> str:
    return _DAY_PATTERNS.get(locale, _DAY_PATTERNS["de"])


def format_day(value, locale=None) -> str:
    """A calendar day: 27.03.2026 / 27 March 2026 (a point in time: its day in the city)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = city_time(value).date() if value.tzinfo else value.date()
    return format_date(value, _day_pattern(_locale(locale)), locale=_locale(locale))


@lru_cache(maxsize=8)
def _timestamp_pattern(locale: str) -> str:
    """format_day's day with the short time (no seconds): "dd.MM.y, HH:mm", "d MMMM y, h:mm a"."""
    time_part = get_time_format("short", locale=locale).pattern
    pattern = get_datetime_format("medium", locale=locale)
    return pattern.replace("{1}", _day_pattern(locale)).replace("{0}", time_part)


def format_timestamp(value) -> str:
    """A point in time in the user's language and time zone: 04.12.2026, 06:01 / 4 December 2026, 6:01 AM."""
    if value is None:
        return ""
    return format_datetime(value, _timestamp_pattern(_locale(None)))
