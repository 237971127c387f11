"""Demo data for a realistic Stadt Duisburg: `seed_demo()` runs the ordered `SEED_STEPS`.

Every step is idempotent: it upserts by a natural key (slug, email, ...) and changes a row only when
its values differ from the demo definition, so running the seed twice changes nothing.

Adding a step (forms, workflows, notice templates, ...): write `def seed_things(report: SeedReport)`
in `services/seed/<things>.py` using `upsert()` / `report.record()`, and append ONE line to
`SEED_STEPS` below. Steps run in list order, so put yours after the steps it depends on. Steps
flush, never commit: `seed_demo()` runs inside the caller's transaction.
"""

import importlib
from collections import Counter
from dataclasses import dataclass, field

from extensions import db

# "module:function", run in order. Append one line per step.
SEED_STEPS: list[str] = [
    "services.seed.catalog:seed_catalog",
    "services.seed.users:seed_users",
    "services.seed.notices:seed_notice_templates",
    "services.seed.forms:seed_forms",
    "services.seed.workflows:seed_workflows",
]

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass(frozen=True)
class DemoLogin:
    """A demo account the seed prints: clearly marked demo, known password."""

    email: str
    password: str
    role: str


@dataclass
class SeedReport:
    """What a seed run did: per kind, how many rows were created / updated / left unchanged."""

    counts: dict[str, Counter] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)

    def record(self, kind: str, outcome: str) -> None:
        self.counts.setdefault(kind, Counter())[outcome] += 1

    @property
    def changed(self) -> int:
        """Rows created or updated by this run (0 on a repeated run)."""
        return sum(c[CREATED] + c[UPDATED] for c in self.counts.values())

    def lines(self) -> list[str]:
        return [
            f"{kind}: {c[CREATED]} created, {c[UPDATED]} updated, {c[UNCHANGED]} unchanged"
            for kind, c in self.counts.items()
        ]


def upsert(model, key: dict, values: dict, report: SeedReport, kind: str):
    """Find `model` by `key` and make it carry `values`; record created/updated/unchanged."""
    obj = db.session.execute(db.select(model).filter_by(**key)).scalar_one_or_none()
    if obj is None:
        obj = model(**key, **values)
        db.session.add(obj)
        outcome = CREATED
    else:
        changed = {k: v for k, v in values.items() if getattr(obj, k) != v}
        for name, value in changed.items():
            setattr(obj, name, value)
        outcome = UPDATED if changed else UNCHANGED
    db.session.flush()
    report.record(kind, outcome)
    return obj


def _resolve(path: str):
    module, _, func = path.partition(":")
    return getattr(importlib.import_module(module), func)


def seed_demo(steps: list[str] | None = None) -> SeedReport:
    """Run every seed step in order (flush only; the caller commits)."""
    report = SeedReport()
    for path in steps if steps is not None else SEED_STEPS:
        _resolve(path)(report)
    return report
