"""One locale-aware formatter each for file sizes and points in time (pages, messages, answers)."""

import math
from functools import lru_cache

from babel.dates import get_date_format, get_datetime_format, get_time_format
from babel.numbers import format_decimal
from flask_babel import format_datetime, get_locale

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


@lru_cache(maxsize=8)
def _timestamp_pattern(locale: str) -> str:
    """The locale's medium date with its short time (no seconds): "dd.MM.y, HH:mm", "MMM d, y, h:mm a"."""
    date_part = get_date_format("medium", locale=locale).pattern
    time_part = get_time_format("short", locale=locale).pattern
    return get_datetime_format("medium", locale=locale).replace("{1}", date_part).replace("{0}", time_part)


def format_timestamp(value) -> str:
    """A point in time in the user's language and time zone: 04.12.2026, 06:01 / Dec 4, 2026, 6:01 AM."""
    if value is None:
        return ""
    return format_datetime(value, _timestamp_pattern(_locale(None)))
