"""Department dashboard figures: open requests, overdue count, median processing time."""

from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from sqlalchemy import func, select

from extensions import db
from models import ServiceRequest
from models.base import utcnow
from services.queue import overdue_condition

PERIODS = (30, 90)


@dataclass
class ServiceFigures:
    service_id: int
    open_by_state: dict
    medians: dict  # period days -> (median days or None, number of decided requests)

    @property
    def open_total(self) -> int:
        return sum(self.open_by_state.values())


def _open(department_ids):
    return (
        ServiceRequest.department_id.in_(list(department_ids) or [-1]),
        ServiceRequest.decided_at.is_(None),
        ServiceRequest.closed_at.is_(None),
    )


def open_counts(department_ids) -> dict[tuple[int, str], int]:
    """Undecided, unclosed requests per (service id, state)."""
    stmt = (
        select(ServiceRequest.service_id, ServiceRequest.state, func.count())
        .where(*_open(department_ids))
        .group_by(ServiceRequest.service_id, ServiceRequest.state)
    )
    return {(service_id, state): n for service_id, state, n in db.session.execute(stmt)}


def overdue_count(department_ids, now=None) -> int:
    """Requests past their due date with the clock running."""
    stmt = select(func.count()).select_from(ServiceRequest).where(
        ServiceRequest.department_id.in_(list(department_ids) or [-1]), overdue_condition(now or utcnow())
    )
    return db.session.scalar(stmt)


def replied_count(department_ids) -> int:
    """Requests whose applicant answered a question since staff last acted on them."""
    stmt = select(func.count()).select_from(ServiceRequest).where(
        ServiceRequest.department_id.in_(list(department_ids) or [-1]),
        ServiceRequest.citizen_replied_at.is_not(None),
    )
    return db.session.scalar(stmt)


def median_processing_days(department_ids, days: int, now=None) -> dict[int, tuple[float, int]]:
    """Median days from submission to decision per service, for decisions in the last `days` days.

    Computed in Python over the fetched durations, so it is the same on SQLite and PostgreSQL.
    """
    since = (now or utcnow()) - timedelta(days=days)
    stmt = select(ServiceRequest.service_id, ServiceRequest.submitted_at, ServiceRequest.decided_at).where(
        ServiceRequest.department_id.in_(list(department_ids) or [-1]), ServiceRequest.decided_at >= since
    )
    durations: dict[int, list[float]] = {}
    for service_id, submitted, decided in db.session.execute(stmt):
        durations.setdefault(service_id, []).append((decided - submitted).total_seconds() / 86400)
    return {sid: (round(median(values), 1), len(values)) for sid, values in durations.items()}


def department_figures(department_ids, now=None) -> list[ServiceFigures]:
    """Per-service figures for the dashboard, services with anything to show only."""
    counts = open_counts(department_ids)
    medians = {days: median_processing_days(department_ids, days, now) for days in PERIODS}
    service_ids = {sid for sid, _ in counts} | {sid for m in medians.values() for sid in m}
    figures = []
    for sid in sorted(service_ids):
        by_state = {state: n for (s, state), n in counts.items() if s == sid}
        figures.append(ServiceFigures(sid, by_state, {d: medians[d].get(sid, (None, 0)) for d in PERIODS}))
    return figures
