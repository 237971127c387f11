"""Where a notice job's time goes beyond the floor: floor vs. the same notices run through RQ in-process.

    .venv/bin/python -m bench.profile_notices [--n 60] [--top 35] [--sort cumulative] [--no-profile]

Same set-up as bench/notices.py (scratch PostgreSQL database, private embedded Redis, seeded demo,
warmed notices area), but the jobs run in *this* process through the worker's own RQ worker class
(`workers.worker.AmtswegWorker`, burst mode), so one cProfile sees everything a worker does per job.
Prints, per notice: the floor (render + seal), the wall time per job kind measured inside RQ
(job function only) and around it (RQ bookkeeping included), the SQL statements per job kind, the
garbage collector's share, and a cProfile listing of the whole burst.
"""

import argparse
import cProfile
import gc
import io
import pstats
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.notices import Bench, _database_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="notices (each also triggers one e-mail job)")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--no-profile", action="store_true", help="timings only (cProfile inflates them)")
    parser.add_argument("--rq-mail", action="store_true", help="e-mails as RQ jobs of their own (as before)")
    parser.add_argument("--no-freeze", action="store_true", help="skip gc.freeze() after warm-up (as before)")
    parser.add_argument(
        "--stub-pdf",
        action="store_true",
        help="jobs store one pre-built sealed PDF instead of rendering: everything left is overhead",
    )
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp(prefix="amtsweg-prof-"))
    bench = Bench(instance, _database_url(instance))
    try:
        bench._prepare()
        floor = bench._floor(20)
        print(f"floor: {floor * 1000:.1f} ms per notice")
        if args.stub_pdf:
            _stub_pdf(bench)
        _run(bench, args, floor)
    finally:
        bench.close()
        shutil.rmtree(instance, ignore_errors=True)


def _run(bench, args, floor: float) -> None:
    from rq.serializers import JSONSerializer
    from sqlalchemy import event

    from extensions import db
    from services.notices import request_notice
    from workers import registry, tasks
    from workers.queues import QUEUE_NAMES, get_queue
    from workers.worker import AmtswegWorker, Slot, freeze_heap

    tasks.set_app(bench.app)
    if args.rq_mail:
        registry.RUN_IN_PLACE = frozenset()
    inner = defaultdict(list)  # kind -> seconds inside the job function
    statements = defaultdict(int)
    current = {"kind": None}

    def timed(kind, func):
        def run(payload):
            current["kind"] = kind
            started = time.perf_counter()
            try:
                return func(payload)
            finally:
                inner[kind].append(time.perf_counter() - started)
                current["kind"] = None

        return run

    originals = dict(registry.JOBS)
    resolve = registry.resolve
    registry.resolve = lambda kind: timed(kind, resolve(kind))
    event.listen(db.engine, "before_cursor_execute", lambda *a: _count(statements, current))

    gc_time = {"t": 0.0, "start": 0.0, "n": 0, "full": 0.0, "n_full": 0}

    def gc_cb(phase, info):
        if phase == "start":
            gc_time["start"] = time.perf_counter()
        else:
            spent = time.perf_counter() - gc_time["start"]
            gc_time["t"] += spent
            gc_time["n"] += 1
            if info["generation"] == 2:
                gc_time["full"] += spent
                gc_time["n_full"] += 1

    def burst(n, profile):
        reqs = bench._requests(n)
        [request_notice(req, "approval") for req in reqs]
        db.session.commit()  # enqueues n render jobs; each issued notice enqueues one e-mail job
        db.session.remove()
        queues = [get_queue(name) for name in QUEUE_NAMES]
        worker = AmtswegWorker(queues, connection=queues[0].connection, serializer=JSONSerializer)
        worker.slot = Slot()
        inner.clear()
        statements.clear()
        gc_time.update(t=0.0, n=0, full=0.0, n_full=0)
        gc.callbacks.append(gc_cb)
        prof = cProfile.Profile() if profile else None
        started, cpu = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        worker.work(burst=True, logging_level="WARNING")
        if prof:
            prof.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        gc.callbacks.remove(gc_cb)
        return wall, cpu, prof

    burst(5, False)  # warm: first e-mail render, first RQ round trips
    if not args.no_freeze:
        freeze_heap(bench.app.config["WORKER_GC_THRESHOLD"])  # what workers.worker does before forking
    print(f"gc: {gc.get_freeze_count()} objects frozen, {len(gc.get_objects())} tracked")
    redis_before = _redis_commands(bench)
    wall, cpu, _ = burst(args.n, False)
    redis_after = _redis_commands(bench)
    n = args.n
    mails = len(inner["send_email"])
    print(f"\n{n} notices (+ {mails} e-mails) through RQ in-process: {wall:.2f} s wall, {cpu:.2f} s CPU")
    per = wall / n
    print(f"   per notice: {per * 1000:.1f} ms = {per / floor:.2f}× floor (CPU {cpu / n * 1000:.1f} ms)")
    accounted = 0.0
    for kind, times in sorted(inner.items()):
        accounted += sum(times)
        print(
            f"   {kind}: median {statistics.median(times) * 1000:.1f} ms inside the job function, "
            f"sum per notice {sum(times) / n * 1000:.1f} ms, "
            f"SQL statements per job {statements[kind] / len(times):.1f}"
        )
    outside = (wall - accounted) / n * 1000
    print(f"   outside the job functions (RQ + outbox bookkeeping): {outside:.1f} ms per notice")
    print(f"   SQL statements outside job functions per notice: {statements[None] / n:.1f}")
    print(
        f"   GC: {gc_time['n']} collections, {gc_time['t'] / n * 1000:.2f} ms per notice "
        f"(of which {gc_time['n_full']} full: {gc_time['full'] / n * 1000:.2f} ms per notice)"
    )
    jobs = sum(len(t) for t in inner.values())
    calls = {k: redis_after[k][0] - redis_before.get(k, (0, 0))[0] for k in redis_after}
    usec = sum(redis_after[k][1] - redis_before.get(k, (0, 0))[1] for k in redis_after)
    busy = {k: v for k, v in sorted(calls.items(), key=lambda kv: -kv[1]) if v}
    print(
        f"   Redis: {sum(busy.values()) / jobs:.1f} commands per job "
        f"({usec / jobs / 1000:.2f} ms server time): "
        + ", ".join(f"{k} {v / jobs:.1f}" for k, v in busy.items())
    )
    registry.JOBS.update(originals)
    if args.no_profile:
        return
    _, _, prof = burst(args.n, True)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


def _stub_pdf(bench) -> None:
    """issue_notice_job stores one real sealed PDF made once (keeps the job's DB and file work)."""
    from extensions import db
    from services.notices import issue, request_notice

    bench.app.config["OUTBOX_DISPATCH"] = False
    pdf = issue.build_notice_pdf(request_notice(bench._requests(1)[0], "approval"))
    db.session.rollback()
    bench.app.config["OUTBOX_DISPATCH"] = True
    issue.build_notice_pdf = lambda notice: pdf
    print("build_notice_pdf stubbed: the numbers below are the pipeline's overhead only")


def _redis_commands(bench) -> dict:
    from services.redis_conn import get_redis

    stats = get_redis().info("commandstats")
    return {k.removeprefix("cmdstat_"): (v["calls"], v["usec"]) for k, v in stats.items()}


def _count(statements, current) -> None:
    statements[current["kind"]] += 1


if __name__ == "__main__":
    main()
