"""The clerk queue query: scoping, filters, search, keyset pagination, allow-listed arguments."""

from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from models.base import utcnow
from services.errors import ValidationFailed
from services.queue import (
    QueueFilter,
    decode_cursor,
    encode_cursor,
    iter_queue,
    list_queue,
    parse_queue_args,
    state_counts,
)
from tests.factories import DepartmentFactory, ServiceFactory, ServiceRequestFactory, clerk_of


@pytest.fixture
def dept(db):
    return DepartmentFactory()


def _refs(page):
    return [r.reference for r in page.rows]


def test_queue_lists_only_given_departments(dept):
    mine = ServiceRequestFactory(service=ServiceFactory(department=dept))
    ServiceRequestFactory()  # another department
    page = list_queue([dept.id], QueueFilter(), actor_id=0)
    assert _refs(page) == [mine.reference]
    assert page.next_cursor is None


def test_queue_filters_state_service_assignee_overdue(dept):
    clerk = clerk_of(dept)
    svc_a, svc_b = ServiceFactory(department=dept), ServiceFactory(department=dept)
    now = utcnow()
    a = ServiceRequestFactory(service=svc_a, state="in_bearbeitung", assignee=clerk)
    b = ServiceRequestFactory(service=svc_b, state="eingegangen", due_at=now - timedelta(days=1))
    c = ServiceRequestFactory(
        service=svc_b, state="eingegangen", due_at=now - timedelta(days=1), clock_paused_at=now
    )
    ids = [dept.id]
    assert _refs(list_queue(ids, QueueFilter(state="in_bearbeitung"), clerk.id)) == [a.reference]
    assert set(_refs(list_queue(ids, QueueFilter(service_id=svc_b.id), clerk.id))) == {
        b.reference,
        c.reference,
    }
    assert _refs(list_queue(ids, QueueFilter(assignee="me"), clerk.id)) == [a.reference]
    assert set(_refs(list_queue(ids, QueueFilter(assignee="nobody"), clerk.id))) == {b.reference, c.reference}
    assert _refs(list_queue(ids, QueueFilter(overdue=True), clerk.id)) == [b.reference]


def test_queue_search_by_reference_and_name(dept):
    svc = ServiceFactory(department=dept)
    r1 = ServiceRequestFactory(service=svc, reference="DU-2026-000101", applicant_name="Hans Müller")
    r2 = ServiceRequestFactory(service=svc, reference="DU-2026-000102", applicant_name="Anna Schmidt")
    ServiceRequestFactory(service=svc, reference="DU-2026-000200", applicant_name="Percent 100%")
    ids = [dept.id]
    assert _refs(list_queue(ids, QueueFilter(q="du-2026-000101"), 0)) == [r1.reference]
    assert set(_refs(list_queue(ids, QueueFilter(q="DU-2026-0001"), 0))) == {r1.reference, r2.reference}
    assert _refs(list_queue(ids, QueueFilter(q="schmidt"), 0)) == [r2.reference]
    assert _refs(list_queue(ids, QueueFilter(q="MÜLLER".lower()), 0)) == [r1.reference]
    assert _refs(list_queue(ids, QueueFilter(q="0%"), 0)) == ["DU-2026-000200"]  # % is literal
    assert _refs(list_queue(ids, QueueFilter(q="_a"), 0)) == []  # _ is literal


@pytest.mark.parametrize("sort", ["due", "submitted", "newest"])
def test_queue_keyset_pagination_visits_every_row_once(dept, sort):
    svc = ServiceFactory(department=dept)
    base = utcnow()
    made = []
    for i in range(23):
        due = None if i % 7 == 0 else base + timedelta(days=i % 5)  # ties and NULLs
        made.append(
            ServiceRequestFactory(service=svc, due_at=due, submitted_at=base - timedelta(hours=i % 4))
        )
    seen, flt = [], QueueFilter(sort=sort)
    while True:
        page = list_queue([dept.id], flt, 0, limit=5)
        seen += [r.id for r in page.rows]
        if not page.next_cursor:
            break
        flt = QueueFilter(sort=sort, after=decode_cursor(page.next_cursor, sort))
    assert sorted(seen) == sorted(r.id for r in made)
    assert len(seen) == len(set(seen))
    if sort == "due":
        dues = [r.due_at for r in sorted(made, key=lambda r: seen.index(r.id))]
        dated = [d for d in dues if d is not None]
        assert dated == sorted(dated) and dues[len(dated) :] == [None] * (len(dues) - len(dated))


def test_iter_queue_returns_all_rows(dept):
    svc = ServiceFactory(department=dept)
    made = {ServiceRequestFactory(service=svc).id for _ in range(7)}
    assert {r.id for r in iter_queue([dept.id], QueueFilter(), 0, batch=3)} == made


def test_state_counts(dept):
    svc = ServiceFactory(department=dept)
    for state in ("eingegangen", "eingegangen", "rueckfrage"):
        ServiceRequestFactory(service=svc, state=state)
    ServiceRequestFactory(state="eingegangen")
    assert state_counts([dept.id]) == {"eingegangen": 2, "rueckfrage": 1}


def test_parse_queue_args_accepts_known_values():
    flt = parse_queue_args(
        MultiDict(
            {
                "state": "rueckfrage",
                "service": "3",
                "assignee": "me",
                "overdue": "1",
                "q": " DU-2026 ",
                "sort": "submitted",
            }
        ),
        known_states={"rueckfrage"},
        known_service_ids={3},
    )
    assert flt == QueueFilter("rueckfrage", 3, "me", True, "DU-2026", "submitted", None)
    assert parse_queue_args(MultiDict()) == QueueFilter()


@pytest.mark.parametrize(
    "args",
    [
        {"sort": "due_at; DROP TABLE users"},
        {"sort": "id"},
        {"assignee": "boss"},
        {"overdue": "yes"},
        {"state": "unknown"},
        {"state": "Robert'); --"},
        {"service": "abc"},
        {"service": "99"},
        {"order": "asc"},
        {"q": "x" * 101},
        {"after": "not-a-cursor"},
        {"after": encode_cursor("submitted", utcnow(), 1)},  # cursor of another sort order
    ],
)
def test_parse_queue_args_rejects_unknown_values(args):
    with pytest.raises(ValidationFailed):
        parse_queue_args(MultiDict(args), known_states={"eingegangen"}, known_service_ids={3})


def test_cursor_roundtrip():
    now = utcnow()
    assert decode_cursor(encode_cursor("due", now, 42), "due") == (now, 42)
    assert decode_cursor(encode_cursor("due", None, 7), "due") == (None, 7)


def test_queue_default_hides_closed_but_search_and_state_find_them(dept):
    svc = ServiceFactory(department=dept)
    closed = ServiceRequestFactory(service=svc, state="abgeschlossen", closed_at=utcnow())
    open_ = ServiceRequestFactory(service=svc)
    assert _refs(list_queue([dept.id], QueueFilter(), 0)) == [open_.reference]
    assert _refs(list_queue([dept.id], QueueFilter(state="abgeschlossen"), 0)) == [closed.reference]
    assert _refs(list_queue([dept.id], QueueFilter(q=closed.reference), 0)) == [closed.reference]
    assert state_counts([dept.id]) == {"eingegangen": 1}
