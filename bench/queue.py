"""Clerk queue benchmark on PostgreSQL with 1,000,000 requests.

Creates (or reuses with --reuse) the database `amtsweg_bench_queue`, bulk-loads requests with COPY,
then times through the real code:
  1. the first queue page of one department, filtered by state, sorted by due date
     (services.queue.list_queue, and the whole HTTP view /sachbearbeitung/ via the test client);
  2. a search by reference number;
each next to the same SQL run raw through psycopg in the same process and run: the statement text
and parameters the service sent (captured), on the same connection, alternating with the service
call after the same warm-up. Target: p95 < 50 ms and at most 3x the raw query.

    .venv/bin/python bench/queue.py [--rows 1000000] [--reuse] [--runs 200]
"""

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and `queue.py` would shadow the
# standard library module that psycopg imports: put the project root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

import psycopg  # noqa: E402

DB_NAME = "amtsweg_bench_queue"
SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DEPARTMENTS = 20
SERVICES_PER_DEPT = 3
CITIZENS = 2000
CLERKS_PER_DEPT = 5
STATES = [("eingegangen", 8), ("in_bearbeitung", 12), ("rueckfrage", 5), ("genehmigt", 5), ("abgelehnt", 3),
          ("abgeschlossen", 57), ("zurueckgezogen", 10)]
PASSWORD = "bench password 0123456789"  # noqa: S105  (bench accounts only)


def make_app():
    from app import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{DB_NAME}",
        "SECRET_KEY": "bench-secret-key-0123456789-0123456789-abcdef",
        "WTF_CSRF_ENABLED": False, "TESTING": True, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024,
        "RATELIMIT_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://",
    })


def recreate_database():
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def seed_catalog(db):
    """Departments, services with a form version and the default workflow, citizens, clerks."""
    from models import Department, FormDefinition, FormVersion, Membership, Service, User
    from services.passwords import hash_password
    from services.workflow import link_service
    from tests.factories import MINIMAL_FORM, published_workflow

    workflow = published_workflow("standard")
    pw = hash_password(PASSWORD)
    for d in range(DEPARTMENTS):
        dept = Department(slug=f"amt-{d}", name_de=f"Amt {d}", name_en=f"Office {d}")
        db.session.add(dept)
        for s in range(SERVICES_PER_DEPT):
            svc = Service(slug=f"leistung-{d}-{s}", title_de=f"Leistung {d}.{s}", title_en=f"Service {d}.{s}",
                          department=dept)
            db.session.add(svc)
            definition = FormDefinition(service=svc, draft=MINIMAL_FORM)
            version = FormVersion(definition=definition, number=1, document=MINIMAL_FORM, checksum="0" * 64)
            db.session.add(version)
            db.session.flush()
            link_service(svc, workflow.definition)
        for c in range(CLERKS_PER_DEPT):
            user = User(email=f"clerk{d}-{c}@bench.invalid", password_hash=pw, full_name=f"Clerk {d}-{c}",
                        kind="staff", email_confirmed_at=datetime.now(UTC))
            db.session.add(Membership(user=user, department=dept))
    db.session.flush()
    citizens = [
        {"email": f"citizen{i}@bench.invalid", "password_hash": pw, "full_name": f"Bürger {i}",
         "kind": "citizen"}
        for i in range(CITIZENS)
    ]
    db.session.execute(User.__table__.insert(), citizens)
    workflow_version_id = workflow.id
    db.session.commit()
    return workflow_version_id


def load_requests(rows: int, workflow_version_id: int):
    """COPY `rows` requests in (psycopg 3 cursor.copy), spread over departments, states and time."""
    rnd = random.Random(42)
    with psycopg.connect(f"{SERVER}/{DB_NAME}") as conn:
        services = conn.execute(
            "SELECT s.id, s.department_id, fv.id FROM services s "
            "JOIN form_definitions fd ON fd.service_id = s.id "
            "JOIN form_versions fv ON fv.definition_id = fd.id"
        ).fetchall()
        citizens = [r[0] for r in conn.execute("SELECT id FROM users WHERE kind = 'citizen'")]
        clerks = {}
        for uid, dept in conn.execute("SELECT user_id, department_id FROM memberships"):
            clerks.setdefault(dept, []).append(uid)
        weights = [w for _s, w in STATES]
        names = [s for s, _w in STATES]
        start = datetime(2024, 1, 1, tzinfo=UTC)
        span = (datetime.now(UTC) - start).total_seconds()
        columns = ("public_id, reference, service_id, form_version_id, workflow_version_id, applicant_id, "
                   "applicant_name, answers, computed, locale, state, department_id, assignee_id, "
                   "submitted_at, due_at, clock_paused_at, decided_at, closed_at, row_version")
        t0 = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY service_requests ({columns}) FROM STDIN") as copy:
            for i in range(rows):
                service_id, dept, form_version_id = services[rnd.randrange(len(services))]
                state = rnd.choices(names, weights)[0]
                submitted = start + timedelta(seconds=span * i / rows)
                decided = submitted + timedelta(days=rnd.randint(1, 40)) if state in (
                    "genehmigt", "abgelehnt", "abgeschlossen") else None
                copy.write_row((
                    f"{i:032x}", f"DU-{submitted.year}-{i + 1:07d}", service_id, form_version_id,
                    workflow_version_id, citizens[i % len(citizens)], f"Bürger {i % 50000} Nachname{i % 997}",
                    '{"name": "x"}', "{}", "de", state, dept,
                    rnd.choice(clerks[dept]) if state != "eingegangen" and rnd.random() < 0.7 else None,
                    submitted, submitted + timedelta(days=14),
                    submitted + timedelta(days=3) if state == "rueckfrage" else None,
                    decided, decided if state in ("abgeschlossen", "zurueckgezogen") else None, 1,
                ))
        conn.commit()
        print(f"loaded {rows:,} requests with COPY in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    with psycopg.connect(f"{SERVER}/{DB_NAME}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        print(f"vacuum analyze {time.perf_counter() - t0:.1f} s")


def timed(fn, runs):
    """p50 and p95 of `fn` in milliseconds (after a warm-up)."""
    return timed_pair(fn, None, runs)[0]


def timed_pair(fn, baseline, runs):
    """p50/p95 of `fn` and of `baseline`, run alternately so that both see the same machine load."""
    pairs = [(fn, []), (baseline, [])] if baseline is not None else [(fn, [])]
    for f, _samples in pairs:
        for _ in range(5):
            f()
    for _ in range(runs):
        for f, samples in pairs:
            t0 = time.perf_counter()
            f()
            samples.append((time.perf_counter() - t0) * 1000)
    out = []
    for _f, samples in pairs:
        samples.sort()
        out.append((statistics.median(samples), samples[int(len(samples) * 0.95) - 1]))
    return out


def report(name, served, raw, judge_ratio=True):
    """One result line; the whole-page rows are judged on p95 only (they add session, counts and HTML)."""
    ratio = served[1] / raw[1] if raw[1] else float("inf")
    ok = served[1] < 50 and (ratio <= 3 or not judge_ratio)
    print(f"{name:<44} p50 {served[0]:7.2f} ms  p95 {served[1]:7.2f} ms | raw SQL p50 {raw[0]:6.2f} ms "
          f"p95 {raw[1]:6.2f} ms | p95 ratio {ratio:4.1f}x{'' if judge_ratio else ' (not judged)'}  "
          f"{'OK' if ok else 'MISSED'}")
    return {"name": name, "p50": served[0], "p95": served[1], "raw_p50": raw[0], "raw_p95": raw[1], "ok": ok}


def captured_statement(call):
    """The one SQL text and parameters that `call` sends to the database, as handed to psycopg."""
    from sqlalchemy import event

    from extensions import db

    seen = []

    def grab(_conn, _cursor, statement, parameters, _context, _executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    assert len(seen) == 1, seen
    return seen[0]


def raw_runner(sql, params):
    """The service's statement (same text, same bound parameters) run through the bare psycopg
    connection that the service's session holds: same server session, same prepared statements."""
    from extensions import db

    conn = db.session.connection().connection.driver_connection

    def run():
        conn.execute(sql, params).fetchall()

    return run


def inlined_runner(stmt):
    """For reference only (the baseline of earlier runs): the statement with its values inlined as
    literals, on a connection of its own. Run --runs times, psycopg prepares the literal text and
    PostgreSQL stops planning it, which a real search (new value each time) never gets."""
    from extensions import db

    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True})).replace("%%", "%")
    conn = psycopg.connect(f"{SERVER}/{DB_NAME}")

    def run():
        conn.execute(sql).fetchall()

    return run


def measure(app, runs):
    from sqlalchemy import select

    from extensions import db
    from models import Membership, ServiceRequest, User
    from services.queue import QueueFilter, list_queue, page_query

    results, statements = [], []
    with app.test_request_context():
        clerk = db.session.scalar(select(User).join(Membership).where(Membership.department_id == 1).limit(1))
        depts = sorted(clerk.department_ids())
        ref = db.session.scalar(select(ServiceRequest.reference).where(
            ServiceRequest.department_id == depts[0]).order_by(ServiceRequest.id.desc()).limit(1))
        cases = [
            ("queue page: state filter, due date sort", QueueFilter(state="in_bearbeitung", sort="due"),
             "/sachbearbeitung/?state=in_bearbeitung&sort=due", None),
            ("search by reference number", QueueFilter(q=ref.lower()),
             f"/sachbearbeitung/?q={ref.lower()}", ref),
        ]
        for name, flt, _url, expect in cases:

            def service_call(flt=flt, expect=expect):
                page = list_queue(depts, flt, clerk.id)
                assert expect is None or [r.reference for r in page.rows] == [expect]
                db.session.expunge_all()  # nothing cached between calls (the rows are not ORM objects)

            sql, params = captured_statement(service_call)
            statements.append((sql, params))
            served, raw = timed_pair(service_call, raw_runner(sql, params), runs)
            results.append(report(f"{name} (services.queue)", served, raw))
            results[-1]["raw_timing"] = raw
            stmt, values = page_query(depts, flt, clerk.id)
            inlined = timed(inlined_runner(stmt.params(values)), runs)
            print(f"{'':<44} (info: values inlined, own connection: raw SQL p50 {inlined[0]:6.2f} ms "
                  f"p95 {inlined[1]:6.2f} ms)")
        email = clerk.email
    client = app.test_client()
    resp = client.post("/anmelden", data={"email": email, "password": PASSWORD})
    assert resp.status_code in (302, 303), resp.status_code
    for (name, _flt, url, expect), service_result in zip(cases, list(results), strict=True):

        def view_call(url=url, expect=expect):
            resp = client.get(url)
            assert resp.status_code == 200 and (expect is None or expect in resp.get_data(as_text=True))

        results.append(report(f"{name} (whole HTTP view)", timed(view_call, max(runs // 4, 20)),
                              service_result["raw_timing"], judge_ratio=False))
    for r in results:
        r.pop("raw_timing", None)
    return results, statements


def explain(sql, params):
    with psycopg.connect(f"{SERVER}/{DB_NAME}") as conn:
        return "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="keep an existing loaded database")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.reuse:
        recreate_database()
    app = make_app()
    with app.app_context():
        from extensions import db

        if not args.reuse:
            db.create_all()
            workflow_version_id = seed_catalog(db)
            # No open transaction may hold back the xmin horizon: VACUUM must be able to mark the
            # loaded pages all-visible, or the per-state counts cannot use an index-only scan.
            db.session.close()
            load_requests(args.rows, workflow_version_id)
    results, statements = measure(app, args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
    for sql, params in statements:
        print(explain(sql, params))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
