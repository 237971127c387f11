"""Where one submission spends its time: SQL statements, CPU, garbage collection, a cProfile listing.

    .venv/bin/python bench/profile_submit.py [--submits 60] [--database amtsweg_perf] [--top 40]

In-process (Flask test client, no gunicorn) against a fresh PostgreSQL database seeded like
bench/submit.py (same 15-field form, same workflow). Logs one citizen in, warms up with 5
submissions, then prints for one submission every SQL statement, for --submits more the wall and
CPU time per submit and the garbage collector's share, and finally a cProfile of another --submits
sorted by cumulative time. Drops its database and flushes its Redis database afterwards.
"""

import argparse
import cProfile
import gc
import io
import pstats
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench import submit as bench  # noqa: E402  (after the sys.path fix above)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--submits", type=int, default=60)
    parser.add_argument("--database", default="amtsweg_perf")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--top", type=int, default=40, help="cProfile lines to print")
    parser.add_argument("--freeze", action="store_true", help="gc.freeze() after warm-up")
    parser.add_argument("--gc-threshold", type=int, default=0, help="gc.set_threshold(N)")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (cumulative, tottime, ...)")
    parser.add_argument("--cpu-profile", action="store_true",
                        help="cProfile counts CPU time (time.process_time) instead of wall time")
    args = parser.parse_args()

    n = args.submits
    env = bench.bench_env(bench.recreate_database(args.database), Path("/tmp/amtsweg-perf"), args.redis_url)
    bench.flush_redis(args.redis_url)
    plan = bench.seed(env, 1, 2 * n + 6)
    try:
        _profile(plan[0], n, args.top, args.sort, args.freeze, args.gc_threshold, args.cpu_profile)
    finally:
        bench.recreate_database(args.database)
        bench.flush_redis(args.redis_url)
    return 0


def _profile(
    jobs, n: int, top: int, sort: str, freeze: bool = False, threshold: int = 0, cpu_profile: bool = False
) -> None:
    from sqlalchemy import event

    from extensions import db

    app, client, drafts, submit = logged_in_client(jobs)
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    for draft_id in drafts[:5]:
        submit(draft_id)
    statements.clear()
    submit(drafts[5])
    print(f"SQL statements per submit: {len(statements)}")
    for sql in statements:
        print("   ", " ".join(sql.split())[:150])

    collections = {"n": 0, "seconds": 0.0, "started": 0.0}

    def on_gc(phase, _info):
        if phase == "start":
            collections["started"] = time.perf_counter()
        else:
            collections["n"] += 1
            collections["seconds"] += time.perf_counter() - collections["started"]

    for _ in range(20):
        client.post("/bench/baseline")
    if threshold:
        gc.set_threshold(threshold)
    if freeze:
        gc.collect()
        gc.freeze()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        client.post("/bench/baseline")
    base_cpu = (time.process_time() - cpu) * 1000 / n
    print(f"baseline: {(time.perf_counter() - wall) * 1000 / n:.2f} ms wall, {base_cpu:.2f} ms CPU")
    gc.callbacks.append(on_gc)
    wall, cpu = time.perf_counter(), time.process_time()
    for draft_id in drafts[6 : 6 + n]:
        submit(draft_id)
    wall, cpu = (time.perf_counter() - wall) * 1000 / n, (time.process_time() - cpu) * 1000 / n
    gc.callbacks.remove(on_gc)
    print(
        f"per submit: {wall:.2f} ms wall, {cpu:.2f} ms CPU, of which garbage collection "
        f"{collections['seconds'] * 1000 / n:.2f} ms ({collections['n'] / n:.1f} collections)"
    )

    profile = cProfile.Profile(time.process_time) if cpu_profile else cProfile.Profile()
    profile.enable()
    for draft_id in drafts[6 + n : 6 + 2 * n]:
        submit(draft_id)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(sort).print_stats(top)
    print(out.getvalue())
    with app.app_context():
        db.engine.dispose()


def logged_in_client(jobs):
    """The bench app, a test client logged in as the citizen of `jobs` [(email, draft id)], the draft
    ids, and submit(draft_id), which posts a draft as its check-answers page does (stamp included)."""
    from bench.bench_app import create_bench_app

    app = create_bench_app()
    client = app.test_client()
    email, first = jobs[0]
    csrf = _csrf(client.get("/anmelden").get_data(as_text=True))
    client.post("/anmelden", data={"email": email, "password": bench.PASSWORD, "csrf_token": csrf})
    csrf = _csrf(client.get(f"/antrag/{first}/pruefen").get_data(as_text=True))
    drafts = [d for _, d in jobs]
    # each draft's check-answers page, as a citizen opens it before submitting (bench.submit does alike)
    pages = {d: client.get(f"/antrag/{d}/pruefen").get_data(as_text=True) for d in drafts}
    stamps = {d: bench.review_stamp(page) for d, page in pages.items()}

    def submit(draft_id):
        form = {"csrf_token": csrf, "declaration": "y", "checked": stamps[draft_id]}
        resp = client.post(f"/antrag/{draft_id}/absenden", data=form)
        assert resp.status_code in (302, 303) and "/bestaetigung" in resp.headers["Location"], resp.status

    return app, client, drafts, submit


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


if __name__ == "__main__":
    sys.exit(main())
