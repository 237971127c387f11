"""The clerk queue query: scoping, filters, search, keyset pagination, allow-listed arguments."""

from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from models import ServiceRequest
from models.base import utcnow
from services.errors import ValidationFailed
from services.queue import (
    QueueFilter,
    QueueRow,
    decode_cursor,
    encode_cursor,
    iter_queue,
    list_queue,
    page_query,
    parse_queue_args,
    state_counts,
)
from services.workflow import deadline_status
from tests.factories import (
    CitizenFactory,
    DepartmentFactory,
    ServiceFactory,
    ServiceRequestFactory,
    clerk_of,
    form_version_for,
    started_request,
)


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


def test_queue_search_by_reference_without_the_city_prefix(dept, app):
    svc = ServiceFactory(department=dept)
    r1 = ServiceRequestFactory(service=svc, reference="DU-2026-000101")
    r2 = ServiceRequestFactory(service=svc, reference="DU-2026-000102")
    ServiceRequestFactory(service=svc, reference="DU-2025-000101")
    ids = [dept.id]
    assert app.config["REFERENCE_PREFIX"] == "DU"
    assert _refs(list_queue(ids, QueueFilter(q="2026-000101"), 0)) == [r1.reference]
    assert set(_refs(list_queue(ids, QueueFilter(q="2026-0001"), 0))) == {r1.reference, r2.reference}


@pytest.mark.parametrize("q", ["M", "5", "-"])
def test_parse_queue_args_refuses_a_search_too_short_to_find_anything(q):
    with pytest.raises(ValidationFailed, match="mindestens zwei Zeichen"):
        parse_queue_args(MultiDict({"q": q}))
    assert parse_queue_args(MultiDict({"q": "Li"})).q == "Li"


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
    assert state_counts([dept.id], 0) == {"eingegangen": 2, "rueckfrage": 1}


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
        {"q": "x" * 101},
        {"after": "not-a-cursor"},
        {"after": encode_cursor("submitted", utcnow(), 1)},  # cursor of another sort order
    ],
)
def test_parse_queue_args_rejects_unknown_values(args):
    with pytest.raises(ValidationFailed):
        parse_queue_args(MultiDict(args), known_states={"eingegangen"}, known_service_ids={3})


def test_parse_queue_args_ignores_unknown_parameter_names():
    args = MultiDict({"page": "2", "order": "asc", "sort": "newest"})
    assert parse_queue_args(args, known_states={"eingegangen"}) == QueueFilter(sort="newest")


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
    assert state_counts([dept.id], 0) == {"eingegangen": 1}


def test_queue_rows_carry_what_the_page_shows(dept):
    clerk = clerk_of(dept)
    clerk.full_name = "Clara Clerk"
    svc = ServiceFactory(department=dept, title_de="Sondernutzung", title_en="Special use")
    untranslated = ServiceFactory(department=dept, title_de="Hundesteuer", title_en="")
    base = utcnow()
    mine = ServiceRequestFactory(service=svc, assignee=clerk, applicant_name="Anna A", due_at=base)
    free = ServiceRequestFactory(service=untranslated, due_at=base + timedelta(days=1), clock_paused_at=base)
    first, second = list_queue([dept.id], QueueFilter(), clerk.id).rows
    assert isinstance(first, QueueRow)
    assert (first.id, first.public_id, first.reference, first.applicant_name, first.state) == (
        mine.id,
        mine.public_id,
        mine.reference,
        "Anna A",
        "eingegangen",
    )
    assert (first.due_at, first.submitted_at, first.department_id) == (
        mine.due_at,
        mine.submitted_at,
        dept.id,
    )
    assert first.service_title("de") == "Sondernutzung" and first.service_title("en") == "Special use"
    assert first.assignee_id == clerk.id and first.assignee_name == "Clara Clerk"
    assert (
        second.reference == free.reference and second.service_title("en") == "Hundesteuer"
    )  # falls back to German like Service.title
    assert second.assignee_id is None and second.assignee_name == ""
    assert second.clock_paused_at == base and second.workflow_version_id is None


def test_queue_assignee_name_falls_back_to_email(dept):
    clerk = clerk_of(dept)
    clerk.full_name = ""
    ServiceRequestFactory(service=ServiceFactory(department=dept), assignee=clerk)
    assert list_queue([dept.id], QueueFilter(), 0).rows[0].assignee_name == clerk.email


def test_queue_over_several_departments(dept):
    other = DepartmentFactory()
    a = ServiceRequestFactory(service=ServiceFactory(department=dept))
    b = ServiceRequestFactory(service=ServiceFactory(department=other))
    ServiceRequestFactory()  # a third department
    assert set(_refs(list_queue([dept.id, other.id], QueueFilter(), 0))) == {a.reference, b.reference}
    assert _refs(list_queue([], QueueFilter(), 0)) == []


def test_queue_sees_requests_not_yet_flushed(dept, db):
    svc = ServiceFactory(department=dept)
    db.session.flush()
    pending = ServiceRequest(
        service=svc,
        form_version=form_version_for(svc),
        applicant=CitizenFactory(),
        reference="DU-2026-777777",
        answers={},
        state="eingegangen",
        department=dept,
    )
    db.session.add(pending)
    assert _refs(list_queue([dept.id], QueueFilter(), 0)) == ["DU-2026-777777"]


def test_queue_reference_search_is_prefix_within_departments(dept):
    svc = ServiceFactory(department=dept)
    short = ServiceRequestFactory(service=svc, reference="DU-2026-100000")
    longer = ServiceRequestFactory(service=svc, reference="DU-2026-1000001")  # counter past six digits
    ServiceRequestFactory(service=svc, reference="DU-2026-200000")
    ServiceRequestFactory(service=svc, reference="DUX-2026-100000")
    ServiceRequestFactory(reference="DU-2026-100009")  # another department
    ids = [dept.id]
    assert set(_refs(list_queue(ids, QueueFilter(q="du-2026-100000"), 0))) == {
        short.reference,
        longer.reference,
    }
    assert _refs(list_queue(ids, QueueFilter(q="DU-2026-1000001"), 0)) == [longer.reference]
    assert len(_refs(list_queue(ids, QueueFilter(q="DU-"), 0))) == 3
    assert _refs(list_queue(ids, QueueFilter(q="DU-2026-3"), 0)) == []
    assert _refs(list_queue(ids, QueueFilter(q="x"), 0)) == []  # one character: no name search


def test_queue_statement_is_reused_and_values_stay_bound(dept):
    from extensions import db as _db

    first, params = page_query([dept.id], QueueFilter(state="rueckfrage", q="Robert'); --"), 7)
    again, other = page_query([dept.id + 1], QueueFilter(state="eingegangen", q="Alice"), 8)
    assert first is again  # same shape: built once, compiled once
    assert params["state"] == "rueckfrage" and other["state"] == "eingegangen"
    sql = str(first.compile(_db.engine))
    assert "Robert" not in sql and "rueckfrage" not in sql
    assert page_query([dept.id], QueueFilter(state="rueckfrage"), 7)[0] is not first


def test_queue_rows_work_with_the_state_and_deadline_helpers(dept, app):
    from views import clerk_detail

    svc = ServiceFactory(department=dept)
    started = started_request(service=svc)
    bare = ServiceRequestFactory(service=svc, due_at=utcnow() - timedelta(days=1))  # no workflow pinned
    rows = {r.id: r for r in list_queue([dept.id], QueueFilter(), 0).rows}
    with app.test_request_context():
        for req in (started, bare):
            row = rows[req.id]
            assert clerk_detail.queue_state_label(row) == clerk_detail.staff_state_label(req)
            assert clerk_detail.queue_deadline_status(row) == deadline_status(req)
    assert clerk_detail.staff_state_label(bare) == "eingegangen"
    assert deadline_status(bare) == "overdue"
