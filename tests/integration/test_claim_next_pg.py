"""'Nächsten Antrag übernehmen' under contention on real PostgreSQL: no request is claimed twice."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from extensions import db as _db
from models import RequestEvent, ServiceRequest, User
from models.base import new_public_id, utcnow
from services.assignment import claim_next
from services.tx import transaction
from tests.factories import CitizenFactory, DepartmentFactory, ServiceFactory, clerk_of, form_version_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

THREADS = 10
REQUESTS = 2000


def _bulk_requests(service, applicant, n):
    start = utcnow() - timedelta(days=30)
    form_version = form_version_for(service)
    rows = [
        {
            "public_id": new_public_id(),
            "reference": f"PG-2026-{i:06d}",
            "service_id": service.id,
            "form_version_id": form_version.id,
            "applicant_id": applicant.id,
            "applicant_name": "Test",
            "answers": {},
            "computed": {},
            "state": "eingegangen",
            "department_id": service.department_id,
            "submitted_at": start + timedelta(seconds=i),
            "due_at": start + timedelta(days=14),
            "row_version": 1,
        }
        for i in range(n)
    ]
    _db.session.execute(insert(ServiceRequest), rows)


def test_claim_next_pg_each_request_claimed_exactly_once(postgres, db):
    dept = DepartmentFactory()
    service = ServiceFactory(department=dept)
    clerks = [clerk_of(dept) for _ in range(THREADS)]
    _bulk_requests(service, CitizenFactory(), REQUESTS)
    _db.session.commit()
    clerk_ids = [c.id for c in clerks]
    claims: dict[int, list[int]] = {cid: [] for cid in clerk_ids}
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def work(clerk_id):
        try:
            with postgres.app_context():
                actor = _db.session.get(User, clerk_id)
                barrier.wait()
                while True:
                    with transaction():
                        req = claim_next(actor, [dept.id])
                        if req is None:
                            break
                        claims[clerk_id].append(req.id)
                _db.session.remove()
        except BaseException as exc:  # reported below: a thread must not fail silently
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(cid,)) for cid in clerk_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    claimed = [rid for ids in claims.values() for rid in ids]
    assert len(claimed) == REQUESTS
    assert len(set(claimed)) == REQUESTS
    assert sum(1 for ids in claims.values() if ids) > 1  # the work really was shared
    per_request = Counter(
        dict(
            _db.session.execute(
                select(ServiceRequest.assignee_id, func.count()).group_by(ServiceRequest.assignee_id)
            ).all()
        )
    )
    assert per_request == Counter({cid: len(ids) for cid, ids in claims.items() if ids})
    claimed_events = select(func.count()).select_from(RequestEvent).where(RequestEvent.kind == "claimed")
    events = _db.session.scalar(claimed_events)
    assert events == REQUESTS
