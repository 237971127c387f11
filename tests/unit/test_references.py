"""Reference numbers: format, sequence per year, no duplicates under concurrent transactions."""

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from extensions import db as _db
from models import ReferenceCounter
from services.references import format_reference, next_reference
from services.tx import transaction


def test_format_reference_pads_to_six_digits():
    assert format_reference("DU", 2026, 123) == "DU-2026-000123"


def test_next_reference_counts_up_per_year(db):
    jan = datetime(2026, 1, 5, tzinfo=UTC)
    assert next_reference(jan) == "DU-2026-000001"
    assert next_reference(jan) == "DU-2026-000002"
    assert next_reference(datetime(2027, 1, 1, tzinfo=UTC)) == "DU-2027-000001"
    assert next_reference(jan) == "DU-2026-000003"
    counters = {(c.year, c.last_value) for c in db.session.scalars(select(ReferenceCounter))}
    assert counters == {(2026, 3), (2027, 1)}


def test_next_reference_counts_in_the_citys_year(db):
    assert next_reference(datetime(2026, 12, 31, 22, 59, tzinfo=UTC)) == "DU-2026-000001"  # 23:59 in Duisburg
    assert next_reference(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == "DU-2027-000001"  # midnight there


def test_next_reference_uses_configured_prefix(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "REFERENCE_PREFIX", "XY")
    assert next_reference(datetime(2026, 3, 1, tzinfo=UTC)) == "XY-2026-000001"


def test_next_reference_unique_under_threads_on_postgres(postgres, db):
    """Twenty transactions racing for numbers (including the counter row's creation) get 1..N once each."""
    app, results, errors = postgres, [], []
    barrier = threading.Barrier(10)
    when = datetime(2031, 6, 1, tzinfo=UTC)

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                for _ in range(2):
                    with transaction():
                        results.append(next_reference(when))
                _db.session.remove()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(results) == [format_reference("DU", 2031, n) for n in range(1, 21)]


def test_drawn_reference_on_postgres_pads_like_format_reference(postgres, db):
    """The database draws and formats the number (the submit's single statement): same text as Python."""
    from sqlalchemy import select as sa_select

    from models import ReferenceCounter as Counter
    from services.references import drawn_reference_cte

    drawn = drawn_reference_cte()
    statement = sa_select(drawn.c.reference)
    params = {"counter_prefix": "DU", "counter_year": 2032}
    assert db.session.scalar(statement, params) == "DU-2032-000001"  # creates the year's counter
    assert db.session.scalar(statement, params) == "DU-2032-000002"
    for last, expected in ((998, 999), (999_999, 1_000_000), (123_456_788, 123_456_789)):
        db.session.get(Counter, ("DU", 2032)).last_value = last
        db.session.flush()
        assert db.session.scalar(statement, params) == format_reference("DU", 2032, expected)
        db.session.expire_all()
        assert db.session.get(Counter, ("DU", 2032)).last_value == expected
