"""Notice pipeline benchmark: in-process floor vs. outbox → RQ → worker → stored notice.

In one run, on a scratch database and a private Redis:
  1. floor: render + seal notices in this process (WeasyPrint + pyHanko, warmed up, heap frozen like
     the worker's), per notice = total time / N (a mean, like the per-job cost it is compared with:
     a median would hide the garbage collections every process pays). Measured again right before
     each end-to-end phase, and each phase is compared with the floor next to it: this machine's
     speed drifts by up to ±30 % over minutes (other tenants), which a single floor would mistake
     for overhead. The drift-free figure is the last one per phase: the workers' whole CPU per
     notice against the render + seal CPU those same jobs logged (same process, same moment);
  2. end to end with 1 worker process, then with 2: commit N pending notices (the after-commit hook
     enqueues them), time until all are issued *and* the e-mail each one triggers is delivered (its
     outbox row done: the e-mails otherwise queue behind the whole notice backlog and would escape
     the clock); print notices/s and the per-job cost (elapsed × workers / N) as a multiple of the floor;
  3. worker memory (RSS per worker process) after warm-up and after 1,000 notices.
Targets (2 cores): ≥ 10 notices/s with 2 workers, per-job cost ≤ 1.3× floor, memory flat.

    .venv/bin/python -m bench.notices [--floor 30] [--one 200] [--two 1000]

Database: PostgreSQL database `amtsweg_bench_notices` (recreated) on BENCH_PG_URL
(default postgresql://postgres@127.0.0.1:5432), else SQLite in the temporary instance.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from config import BASE_DIR

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
DB_NAME = "amtsweg_bench_notices"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", type=int, default=30, help="notices rendered in-process for the floor")
    parser.add_argument("--one", type=int, default=200, help="notices through 1 worker")
    parser.add_argument("--two", type=int, default=1000, help="notices through 2 workers")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up workers and Redis on kill
    instance = Path(tempfile.mkdtemp(prefix="amtsweg-bench-"))
    bench = Bench(instance, _database_url(instance))
    try:
        bench.run(args)
    finally:
        bench.close()
        shutil.rmtree(instance, ignore_errors=True)


# How often the bench looks for finished work: one grouped query per look, over an id range where
# the ids are consecutive (a 1,000-value IN list cost this process ~4 ms of CPU per notice).
POLL_SECONDS = 0.25


def _counts(query) -> dict:
    """Run a (key, count) poll on a connection of its own: through the session, each poll's
    rollback expired the thousands of objects the bench holds (~1 ms of CPU per notice)."""
    from extensions import db

    with db.engine.connect() as conn:
        return dict(conn.execute(query).all())


def _among(column, ids):
    ids = sorted(ids)
    if ids and ids[-1] - ids[0] + 1 == len(ids):
        return column.between(ids[0], ids[-1])
    return column.in_(ids)


def _busy(times) -> float:
    return times.user + times.nice + times.system + times.irq + times.softirq


def _database_url(instance: Path) -> str:
    try:
        import psycopg

        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        return f"{PG_URL.replace('postgresql://', 'postgresql+psycopg://')}/{DB_NAME}"
    except Exception as exc:  # no PostgreSQL here: SQLite still shows the pipeline's overhead
        print(f"PostgreSQL not reachable ({exc.__class__.__name__}); using SQLite")
        return f"sqlite:///{instance / 'bench.db'}"


class Bench:
    def __init__(self, instance: Path, db_url: str):
        from app import create_app
        from services.redis_conn import EmbeddedRedis

        self.instance, self.db_url = instance, db_url
        self.redis = EmbeddedRedis(instance)
        self.redis_url = self.redis.ensure_running()
        self.app = create_app(
            {
                "INSTANCE_PATH": str(instance),
                "SQLALCHEMY_DATABASE_URI": db_url,
                "REDIS_URL": self.redis_url,
                "ENV_NAME": "embedded",
                "OUTBOX_DISPATCH": True,
            }
        )
        self.ctx = self.app.app_context()
        self.ctx.push()
        self.workers = None

    def close(self) -> None:
        self._stop_workers()
        from extensions import db

        db.session.remove()
        db.engine.dispose()
        self.ctx.pop()
        self.redis.stop()

    def run(self, args) -> None:
        print(f"database: {self.db_url.split('@')[-1]}   redis: {self.redis_url}   cores: {os.cpu_count()}")
        print(f"load average at start (other processes share the cores): {_load()}")
        self._prepare()
        for step, (workers, n, checkpoints) in enumerate(
            ((1, args.one, ()), (2, args.two, tuple(range(200, args.two + 1, 200)))), start=1
        ):
            floor = self._floor(args.floor)
            print(
                f"\n{step}a. floor (in-process render + seal, n={args.floor}): "
                f"{floor * 1000:.1f} ms per notice = {1 / floor:.1f} notices/s per core "
                f"(median {self.floor_median * 1000:.1f} ms, CPU {self.floor_cpu * 1000:.1f} ms)"
            )
            self._phase(workers, n, floor, checkpoints=checkpoints, label=f"{step}b")
        print(f"\nload average at end: {_load()}")

    def _prepare(self) -> None:
        from extensions import db
        from services.seed import seed_demo

        db.drop_all()
        db.create_all()
        seed_demo()
        db.session.commit()
        from services.notices import warm_up

        warm_up()

    def _requests(self, n: int) -> list:
        """n submitted requests of one seeded service (answers as the seed's forms would have them)."""
        from extensions import db
        from models import Service
        from services.events import GENESIS
        from tests.factories import CitizenFactory, ServiceRequestFactory

        service = db.session.scalars(db.select(Service).order_by(Service.id)).first()
        applicant = CitizenFactory()  # one applicant: argon2 per request would dominate the set-up
        # Chain head tracked, as on every submitted request (else each notice reads the chain once).
        head = {"last_event_seq": 0, "last_event_hash": GENESIS}
        reqs = [ServiceRequestFactory(service=service, applicant=applicant, **head) for _ in range(n)]
        db.session.commit()
        return reqs

    def _floor(self, n: int) -> float:
        from extensions import db
        from services.notices import request_notice
        from services.notices.issue import build_notice_pdf
        from workers.worker import freeze_heap

        self.app.config["OUTBOX_DISPATCH"] = False  # only measuring rendering here
        notices = [request_notice(req, "approval") for req in self._requests(n + 1)]
        db.session.flush()
        build_notice_pdf(notices[0])  # the first one pays lazy set-up; the floor is the steady state
        # as the worker does after its warm-up: heap frozen, its young-generation GC threshold
        freeze_heap(self.app.config["WORKER_GC_THRESHOLD"])
        times = []
        started, cpu_started = time.perf_counter(), time.process_time()
        for notice in notices[1:]:
            one = time.perf_counter()
            build_notice_pdf(notice)
            times.append(time.perf_counter() - one)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        db.session.rollback()
        self.app.config["OUTBOX_DISPATCH"] = True
        self.floor_cpu, self.floor_median = cpu / n, statistics.median(times)
        return wall / n

    def _phase(self, workers: int, n: int, floor: float, checkpoints, label: str) -> None:
        from extensions import db
        from services.notices import request_notice

        reqs = self._requests(n)
        self._start_workers(workers)
        rss_start = self._worker_rss()
        cpu_start = self._worker_cpu()
        machine_start, others_start = psutil.cpu_times(), self._other_cpu()
        notices = [request_notice(req, "approval") for req in reqs]
        ids = [x.id for x in notices]
        request_ids = [r.id for r in reqs]
        db.session.flush()
        started = time.perf_counter()
        db.session.commit()  # after commit, the hook hands all n outbox rows to RQ
        marks = self._wait_issued(ids, started, checkpoints)
        issued = marks[n][0]
        elapsed = self._wait_mailed(request_ids, started)
        cpu = (self._worker_cpu() - cpu_start) / n
        machine_end = psutil.cpu_times()
        machine = _busy(machine_end) - _busy(machine_start)
        steal = getattr(machine_end, "steal", 0.0) - getattr(machine_start, "steal", 0.0)
        others = dict.fromkeys(("PostgreSQL", "Redis", "bench", "supervisor"), 0.0)
        for pid, (kind, seconds) in self._other_cpu().items():  # processes gone since: not counted
            others[kind] += (seconds - others_start.get(pid, (kind, 0.0))[1]) / n
        per_job = elapsed * workers / n
        print(
            f"{label}. end to end, {workers} worker(s), n={n}: "
            f"{elapsed:.1f} s = {n / elapsed:.1f} notices/s (notices issued after {issued:.1f} s, "
            f"their e-mails delivered after {elapsed:.1f} s)"
        )
        print(f"   per-job cost {per_job * 1000:.1f} ms = {per_job / floor:.2f}× floor (notice + its e-mail)")
        print(
            f"   worker CPU per notice {cpu * 1000:.1f} ms = {cpu / self.floor_cpu:.2f}× the floor's CPU "
            f"({self.floor_cpu * 1000:.1f} ms)"
        )
        own = self._render_cpu_in_jobs(ids)
        print(
            f"   worker CPU per notice {cpu * 1000:.1f} ms = {cpu / own:.2f}× the render + seal CPU "
            f"inside the same jobs ({own * 1000:.1f} ms): the overhead ratio, immune to the machine's drift"
        )
        rest = machine / n - cpu - sum(others.values())
        print(
            f"   the whole machine's CPU per notice {machine / n * 1000:.1f} ms "
            f"of {os.cpu_count() * elapsed / n * 1000:.1f} ms available: workers {cpu * 1000:.1f}, "
            + ", ".join(f"{k} {v * 1000:.1f}" for k, v in others.items())
            + f", everything else {rest * 1000:.1f}; stolen by the hypervisor {steal / n * 1000:.1f}"
        )
        inside = self._job_seconds(ids)
        print(f"   median time inside the worker per notice job (RQ started→ended): {inside * 1000:.1f} ms")
        print(f"   worker RSS after warm-up: {_mb(rss_start)}")
        for count in (c for c in checkpoints if c <= n):
            print(f"   worker RSS after {count} notices: {_mb(marks[count][1])}")
        self._stop_workers()

    def _render_cpu_in_jobs(self, notice_ids) -> float:
        """Mean render + seal CPU seconds the workers logged for these notices (services/notices/issue.py)."""
        wanted, seconds = {str(i) for i in notice_ids}, []
        for line in (self.instance / "worker.log").read_text(errors="replace").splitlines():
            match = _ISSUED_LOG.search(line)
            if match and match.group(1) in wanted:
                seconds.append(float(match.group(2)) / 1000)
        return statistics.mean(seconds) if seconds else float("nan")

    def _job_seconds(self, notice_ids) -> float:
        """Median RQ execution time of these notices' jobs (tells queueing overhead from CPU contention)."""
        from rq.job import Job
        from rq.serializers import JSONSerializer

        from extensions import db
        from models import OutboxJob
        from services.redis_conn import get_redis

        wanted = set(notice_ids)
        rows = db.session.scalars(db.select(OutboxJob).where(OutboxJob.kind == "render_notice")).all()
        job_ids = [r.job_id for r in rows if r.payload.get("notice_id") in wanted]
        db.session.rollback()
        jobs = Job.fetch_many(job_ids, connection=get_redis(), serializer=JSONSerializer)
        spans = [
            (j.ended_at - j.started_at).total_seconds() for j in jobs if j and j.started_at and j.ended_at
        ]
        return statistics.median(spans) if spans else float("nan")

    def _wait_mailed(self, request_ids, started) -> float:
        """Seconds from `started` until every e-mail recorded for these requests is delivered (row done)."""
        from extensions import db
        from models import OutboxJob, OutboxState

        while True:
            states = _counts(
                db.select(OutboxJob.state, db.func.count(OutboxJob.id))
                .where(_among(OutboxJob.request_id, request_ids), OutboxJob.kind == "send_email")
                .group_by(OutboxJob.state)
            )
            if failed := states.get(OutboxState.FAILED):
                raise SystemExit(f"{failed} e-mail(s) failed; see {self.instance}/worker.log")
            if not any(count for state, count in states.items() if state != OutboxState.DONE):
                return time.perf_counter() - started
            time.sleep(POLL_SECONDS)

    def _wait_issued(self, ids, started, checkpoints) -> dict:
        from extensions import db
        from models import Notice, NoticeState

        marks, wanted = {}, sorted({len(ids), *(c for c in checkpoints if c <= len(ids))})
        query = (
            db.select(Notice.state, db.func.count(Notice.id))
            .where(_among(Notice.id, ids))
            .group_by(Notice.state)
        )
        while wanted:
            states = _counts(query)
            if failed := states.get(NoticeState.FAILED):
                raise SystemExit(f"{failed} notice(s) failed; see {self.instance}/worker.log")
            done = states.get(NoticeState.ISSUED, 0)
            while wanted and done >= wanted[0]:
                marks[wanted.pop(0)] = (time.perf_counter() - started, self._worker_rss())
            time.sleep(POLL_SECONDS)
        return marks

    def _start_workers(self, count: int) -> None:
        env = dict(
            os.environ,
            FLASK_APP="app:create_app",
            AMTSWEG_ENV="embedded",
            AMTSWEG_INSTANCE=str(self.instance),
            DATABASE_URL=self.db_url,
            REDIS_URL=self.redis_url,
        )
        log = open(self.instance / "worker.log", "a")  # noqa: SIM115
        cmd = [sys.executable, "-m", "flask", "worker", "--count", str(count)]
        self.workers = (
            subprocess.Popen(cmd, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT),
            log,
        )
        deadline = time.monotonic() + 60
        while len(self._worker_procs()) < count or not self._idle_workers(count):
            if time.monotonic() > deadline or self.workers[0].poll() is not None:
                raise SystemExit(f"workers did not start; see {self.instance}/worker.log")
            time.sleep(0.2)

    def _idle_workers(self, count: int) -> bool:
        from rq.serializers import JSONSerializer
        from rq.worker import Worker

        from services.redis_conn import get_redis

        return len(Worker.all(connection=get_redis(), serializer=JSONSerializer)) >= count

    def _worker_procs(self) -> list[psutil.Process]:
        """The RQ worker processes: children of `flask worker` (not RQ's scheduler, a grandchild)."""
        if self.workers is None:
            return []
        try:
            return psutil.Process(self.workers[0].pid).children()
        except psutil.NoSuchProcess:
            return []

    def _worker_cpu(self) -> float:
        """User + system CPU seconds used so far by the worker processes."""
        total = 0.0
        for proc in self._worker_procs():
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def _other_cpu(self) -> dict[int, tuple[str, float]]:
        """pid → (kind, CPU seconds so far) of what shares the cores with the workers: PostgreSQL's
        backends (the bench database's and the machine's own), Redis, this bench process, and the
        worker's supervisor + RQ scheduler."""
        found = {}
        workers = {p.pid for p in self._worker_procs()}
        supervisor = self.workers[0].pid if self.workers else None
        for proc in psutil.process_iter(["name", "pid", "ppid", "cpu_times"]):
            info, name, kind = proc.info, proc.info["name"] or "", None
            if info["pid"] == os.getpid():
                kind = "bench"
            elif name.startswith("postgres") or name == "postmaster":
                kind = "PostgreSQL"
            elif name.startswith("redis-server"):
                kind = "Redis"
            elif info["pid"] == supervisor or info["ppid"] in workers:
                kind = "supervisor"
            if kind and info["cpu_times"]:
                found[info["pid"]] = (kind, info["cpu_times"].user + info["cpu_times"].system)
        return found

    def _worker_rss(self) -> list[int]:
        sizes = []
        for proc in self._worker_procs():
            try:
                sizes.append(proc.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
        return sizes

    def _stop_workers(self) -> None:
        if self.workers is None:
            return
        proc, log = self.workers
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        self.workers = None
        from services.redis_conn import get_redis

        get_redis().flushdb()  # worker registrations and finished jobs of this phase


_ISSUED_LOG = re.compile(r"notice (\d+) issued: render \+ seal ([\d.]+) ms CPU")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _mb(sizes) -> str:
    return ", ".join(f"{s / 2**20:.0f} MB" for s in sizes) or "–"


if __name__ == "__main__":
    main()
