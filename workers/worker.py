"""Worker entry point: create the app once, warm WeasyPrint and pyHanko, then fork N RQ workers.

Why not the stock `rq worker`: it forks a fresh work horse per job, and each horse pays the
import and font set-up of WeasyPrint again (≈ 1.2 s per notice here, ~13× the actual work). Here
the parent process does that once; the children are forked *after* warm-up (copy-on-write) and
run jobs in-process (`SimpleWorker`).

Trade-off of in-process jobs, and how it is covered:
- Job timeout: RQ's SIGALRM death penalty still works in a SimpleWorker, but only when the
  interpreter gets control back. A job hung inside C code (a stuck font lookup, a blocking call
  without timeout) would never see it, so the parent is a watchdog: each child publishes the start
  time of its current job in shared memory, and a child busy for longer than the job timeout plus
  WATCHDOG_GRACE seconds is SIGKILLed.
- A crashed or killed child takes only its current job with it. The parent notices the death
  at once, counts a failed attempt on the outbox row, re-enqueues the job and forks a fresh child.
  If the whole worker process group dies, the relay re-sends the job once it is stale.
- Memory: a child can be recycled after `max_jobs` jobs (fork from the warm parent is cheap).

SIGTERM/SIGINT: children finish their current job and exit (RQ's warm shutdown); whatever is
still running after the job timeout is killed and later re-sent by the relay.
"""

import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import socket
import time

import redis
from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker

from extensions import db
from workers import registry, tasks
from workers.queues import QUEUE_NAMES, discard_job, enqueue_outbox, get_queue

log = logging.getLogger("amtsweg.worker")

WATCHDOG_GRACE = 15  # seconds past the job timeout before the parent kills a child
RESPAWN_DELAY = (0.0, 1.0, 5.0, 15.0)  # back off when children keep dying right after start


class AmtswegWorker(SimpleWorker):
    """Runs jobs in this (pre-warmed) process and reports the running job to the watchdog."""

    slot: "Slot"

    def execute_job(self, job, queue):
        self.slot.start(job.id)
        try:
            super().execute_job(job, queue)
        finally:
            self.slot.clear()


class Slot:
    """Shared memory of one child: start time and outbox id of its running job (0 = idle)."""

    def __init__(self):
        self._started = multiprocessing.RawValue(ctypes.c_double, 0.0)
        self._outbox_id = multiprocessing.RawValue(ctypes.c_long, 0)

    def start(self, job_id: str) -> None:
        prefix, _, number = job_id.partition("-")
        self._outbox_id.value = int(number) if prefix == "outbox" and number.isdigit() else 0
        self._started.value = time.time()

    def clear(self) -> None:
        self._started.value, self._outbox_id.value = 0.0, 0

    def busy_for(self) -> float:
        return time.time() - self._started.value if self._started.value else 0.0

    @property
    def outbox_id(self) -> int:
        return self._outbox_id.value


def warm_up(app) -> None:
    """Import every job module and let the notices area warm WeasyPrint and pyHanko once."""
    started = time.perf_counter()
    with app.app_context():
        for kind in registry.JOBS:
            try:
                registry.resolve(kind)
            except (ImportError, AttributeError) as exc:
                log.warning("job %s not importable yet: %s", kind, exc)
        try:
            from services.notices import warm_up as warm_notices
        except ImportError:
            warm_notices = _warm_weasyprint
        warm_notices()
    log.info("warm-up done in %.2f s", time.perf_counter() - started)


def freeze_heap(young_threshold: int = 700) -> None:
    """Move everything alive after warm-up out of the collector's sight (before forking).

    Imports, fonts, stylesheets and seal keys leave ~260k long-lived objects. Without this, every
    full collection in a child walks them all: measured 3 full collections per 40 notices costing
    ≈ 20 ms per notice (bench/profile_notices.py), pauses the in-process floor does not see. It also
    keeps the collector from writing to the shared pages, so forked children stay copy-on-write.
    """
    gc.collect()
    gc.freeze()
    # A notice allocates millions of short-lived objects (layout boxes, ASN.1 nodes): with
    # Python's default young-generation threshold (700) the collector ran ~10 times per notice.
    # A higher one (WORKER_GC_THRESHOLD, 5,000) lets most of them die unscanned: ≈ 4 % less CPU
    # per notice, with memory still flat over 1,000 notices (bench/notices.py); 20,000 saved no
    # more CPU and let the workers' RSS creep from 170 to 181 MB.
    gc.set_threshold(young_threshold, *gc.get_threshold()[1:])
    log.info("gc: %d warm-up objects frozen", gc.get_freeze_count())


def _warm_weasyprint() -> None:
    """Fallback warm-up until the notices area provides one: first PDF pays the font set-up."""
    import pyhanko.sign  # noqa: F401
    import weasyprint

    weasyprint.HTML(string="<p>warm-up</p>").write_pdf()


class Supervisor:
    """Forks, watches and restarts `count` RQ worker processes."""

    def __init__(self, app, count: int, max_jobs: int | None = None, burst: bool = False):
        self.app, self.count, self.max_jobs, self.burst = app, max(1, count), max_jobs, burst
        self.slots = [Slot() for _ in range(self.count)]
        self.children: dict[int, int] = {}  # pid -> slot index
        self.deaths: list[float] = []
        self.stopping = False

    def run(self) -> None:
        tasks.set_app(self.app)
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        with self.app.app_context():
            db.engine.dispose()  # children must not inherit pooled connections
        freeze_heap(self.app.config["WORKER_GC_THRESHOLD"])
        for index in range(self.count):
            self._spawn(index)
        while not self.stopping and self.children:
            self._reap()
            self._watchdog()
            time.sleep(0.2)
        self._shutdown()

    def _spawn(self, index: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                code = self._child(index)
            except BaseException:  # the child must never return into the parent's loop
                log.exception("worker %s crashed", index)
                code = 1
            finally:
                os._exit(code)
        self.children[pid] = index
        log.info("worker %s started (pid %s)", index, pid)

    def _child(self, index: int) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)  # RQ installs its own handlers in work()
        self.slots[index].clear()
        with self.app.app_context():
            db.engine.dispose(close=False)
            queues = [get_queue(name, connection=self._child_redis()) for name in QUEUE_NAMES]
        name = f"amtsweg.{socket.gethostname()}.{os.getpid()}"
        worker = AmtswegWorker(queues, connection=queues[0].connection, serializer=JSONSerializer, name=name)
        worker.slot = self.slots[index]
        worker.work(with_scheduler=True, burst=self.burst, max_jobs=self.max_jobs, logging_level="INFO")
        return 0

    def _child_redis(self):
        from services.redis_conn import redis_url

        return redis.Redis.from_url(redis_url(self.app), socket_connect_timeout=5)

    def _reap(self) -> bool:
        """Collect dead children (recovering their job, respawning them); True if any is left."""
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                break
            if pid == 0:
                break
            index = self.children.pop(pid, None)
            if index is not None:
                self._on_child_exit(index, pid, status)
        return bool(self.children)

    def _on_child_exit(self, index: int, pid: int, status: int) -> None:
        slot = self.slots[index]
        if slot.outbox_id:
            log.error("worker %s (pid %s) died during outbox job %s", index, pid, slot.outbox_id)
            self._recover(slot.outbox_id, pid)
        slot.clear()
        clean = os.waitstatus_to_exitcode(status) == 0
        if self.stopping or (self.burst and clean):
            return
        self.deaths.append(time.monotonic())
        time.sleep(self._respawn_delay())
        self._spawn(index)

    def _respawn_delay(self) -> float:
        recent = [t for t in self.deaths if time.monotonic() - t < 60]
        self.deaths = recent
        return RESPAWN_DELAY[min(len(recent) - 1, len(RESPAWN_DELAY) - 1)]

    def _recover(self, outbox_id: int, pid: int) -> None:
        """Count the lost attempt and hand the job to RQ again (the relay would, later)."""
        from models import OutboxJob, OutboxState

        try:
            with self.app.app_context():
                row = db.session.get(OutboxJob, outbox_id)
                if row is None or row.state in (OutboxState.DONE, OutboxState.FAILED):
                    return
                gave_up = tasks.record_failure(
                    outbox_id, row.kind, dict(row.payload), WorkerDied(f"worker process {pid} died")
                )
                discard_job(outbox_id)
                if not gave_up:
                    enqueue_outbox(outbox_id)
        except Exception:  # Redis or the database down: the relay re-sends it when stale
            log.exception("could not recover outbox job %s", outbox_id)
        finally:
            with self.app.app_context():
                db.session.remove()
                db.engine.dispose()

    def _watchdog(self) -> None:
        limit = int(self.app.config["JOB_TIMEOUT"]) + WATCHDOG_GRACE
        for pid, index in list(self.children.items()):
            if self.slots[index].busy_for() > limit:
                log.error("worker %s (pid %s) exceeded %s s on one job: killing it", index, pid, limit)
                os.kill(pid, signal.SIGKILL)

    def _request_stop(self, signum, _frame) -> None:
        if not self.stopping:
            log.info("stopping workers (signal %s); running jobs may finish", signum)
            self.stopping = True
            self._stop_deadline = time.monotonic() + int(self.app.config["JOB_TIMEOUT"]) + 5
            for pid in self.children:
                _signal(pid, signal.SIGTERM)

    def _shutdown(self) -> None:
        while self._reap() and time.monotonic() < getattr(self, "_stop_deadline", 0):
            time.sleep(0.1)
        for pid in list(self.children):
            _signal(pid, signal.SIGKILL)
        while self._reap():
            time.sleep(0.05)
        log.info("all workers stopped")


class WorkerDied(RuntimeError):
    """The process running the job exited (killed, out of memory, crashed) before it finished."""


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def configure_logging() -> None:
    """INFO for our processes; WeasyPrint and fontTools narrate every step at INFO, keep them quiet."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("weasyprint", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_workers(app, count: int | None = None, max_jobs: int | None = None, burst: bool = False) -> None:
    """Warm up once, then supervise `count` (default WORKER_COUNT) forked RQ workers until stopped."""
    warm_up(app)
    Supervisor(app, count or int(app.config["WORKER_COUNT"]), max_jobs=max_jobs, burst=burst).run()


def main() -> None:
    """`python -m workers.worker`: same as `flask worker`."""
    from app import create_app

    configure_logging()
    run_workers(create_app())


if __name__ == "__main__":
    main()
