"""The one formatter for file sizes and the one for points in time, per language."""

from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale

from forms.dynamic import get_type
from services.formatting import format_day, format_size, format_timestamp

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.mark.parametrize(
    ("size", "de", "en"),
    [
        (45, "1 KB", "1 KB"),  # never "0 KB", never "45 Bytes" next to "1 KB" elsewhere
        (1025, "2 KB", "2 KB"),
        (int(9.9 * 1024 * 1024), "9,9 MB", "9.9 MB"),
        (10 * 1024 * 1024, "10 MB", "10 MB"),
        (1234 * 1024 * 1024, "1.234 MB", "1,234 MB"),
        (None, "1 KB", "1 KB"),
    ],
)
def test_format_size_is_locale_aware(size, de, en):
    assert (format_size(size, "de"), format_size(size, "en")) == (de, en)


def test_file_answers_use_the_same_size_formatter():
    entry = {"name": "Plan.pdf", "size": int(2.5 * 1024 * 1024)}
    assert get_type("file").describe(entry, "de") == "Plan.pdf (2,5 MB)"
    assert get_type("file").describe(entry, "en") == "Plan.pdf (2.5 MB)"


def test_format_timestamp_per_language_in_city_time_without_seconds():
    moment = datetime(2026, 12, 4, 4, 1, 30, tzinfo=UTC)
    with force_locale("de"):
        assert format_timestamp(moment) == "04.12.2026, 05:01"
    with force_locale("en"):
        assert format_timestamp(moment) == "4 December 2026, 5:01\u202fAM"
    assert format_timestamp(None) == ""


def test_days_read_alike_in_answers_notices_and_timestamps():
    """One style per language: never "Dec 4, 2026, 5:53 AM" next to "3 January 2027"."""
    late_evening = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)  # 4 December in Duisburg
    answer = get_type("date").format_text
    assert format_day(date(2027, 1, 3), "de") == "03.01.2027" == answer(None, "2027-01-03", "de")
    assert format_day(date(2027, 1, 3), "en") == "3 January 2027" == answer(None, "2027-01-03", "en")
    assert format_day(late_evening, "de") == "04.12.2026"
    assert format_day(late_evening, "en") == "4 December 2026"
    with force_locale("en"):
        assert format_timestamp(late_evening).startswith(format_day(late_evening) + ", ")
