"""The notice pipeline end to end: PostgreSQL + a private redis-server + real worker processes.

Each test starts its own `redis-server` on a free loopback port (never the machine's shared
Redis) and its own `flask worker` / `flask outbox relay` processes, then drives the system the
way clerks do: approving requests commits outbox rows, and signed notices must appear.
"""

import hashlib
import os
import signal
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from rq.serializers import JSONSerializer
from rq.worker import Worker
from sqlalchemy import func, select, text

from config import BASE_DIR
from extensions import db as _db
from models import Notice, NoticeState, OutboxJob, OutboxState
from services.notices import request_notice
from services.notices.files import notice_file_path
from services.notices.sign import to_asn1, trust_anchor_certs
from services.redis_conn import get_redis
from services.workflow import apply_transition
from tests.factories import ServiceFactory, clerk_of, started_request
from tests.integration.pipeline_support import RedisServer, free_port

pytestmark = pytest.mark.usefixtures("postgres")

JOB_TIMEOUT = 30
SLOW_JOB_SECONDS = 4  # the "slow" worker sleeps this long inside each notice job


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(free_port(), tmp_path / "redis")
    server.start()
    yield server
    server.stop()


class Pipeline:
    """Worker and relay processes of one test, all pointed at the test's database and Redis."""

    def __init__(self, app, redis_server):
        self.app, self.redis, self.procs, self.logs = app, redis_server, [], []
        self.env = dict(
            os.environ,
            FLASK_APP="app:create_app",
            AMTSWEG_ENV="test",
            AMTSWEG_INSTANCE=app.config["INSTANCE_PATH"],
            DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
            REDIS_URL=redis_server.url,
            SECRET_KEY=app.config["SECRET_KEY"],
            JOB_TIMEOUT=str(JOB_TIMEOUT),
            PYTHONUNBUFFERED="1",
        )

    def start_workers(self, count=2, slow=False):
        code = "from tests.integration.pipeline_support import run_worker; run_worker()"
        env = dict(self.env, PIPELINE_SLOW=str(SLOW_JOB_SECONDS if slow else 0), WORKER_COUNT=str(count))
        return self._start([sys.executable, "-c", code], env)

    def start_relay(self, interval=0.5):
        cmd = [sys.executable, "-m", "flask", "outbox", "relay", "--interval", str(interval)]
        return self._start(cmd, self.env)

    def _start(self, cmd, env):
        log_dir = Path(os.environ.get("PIPELINE_LOG_DIR") or self.app.config["INSTANCE_PATH"])
        test = os.environ.get("PYTEST_CURRENT_TEST", "test").split("::")[-1].split(" ")[0]
        log = open(log_dir / f"{test}-{len(self.procs)}.log", "w")  # noqa: SIM115
        self.logs.append(log)
        proc = subprocess.Popen(cmd, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=JOB_TIMEOUT + 10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()


@pytest.fixture
def pipeline(app, db, redis_server, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", redis_server.url)
    # As in production on PostgreSQL: the relay, woken by NOTIFY, hands the rows to RQ, not the writer.
    monkeypatch.setitem(app.config, "OUTBOX_DISPATCH", False)
    monkeypatch.setitem(app.config, "JOB_TIMEOUT", JOB_TIMEOUT)
    service = ServiceFactory()
    clerk = clerk_of(service.department)
    db.session.commit()
    pipe = Pipeline(app, redis_server)
    pipe.service, pipe.clerk = service, clerk
    yield pipe
    pipe.stop()


def _approve(pipe, count) -> list[int]:
    """Clerk approves `count` fresh requests, one transaction each; returns the request ids."""
    ids = []
    for _ in range(count):
        req = started_request(pipe.service)
        _db.session.commit()
        apply_transition(req, "bearbeitung_beginnen", pipe.clerk, {}, req.row_version)
        _db.session.commit()
        apply_transition(req, "genehmigen", pipe.clerk, {}, req.row_version)
        _db.session.commit()
        ids.append(req.id)
    return ids


def _approval_notices(request_ids):
    _db.session.rollback()
    return list(
        _db.session.scalars(
            select(Notice).where(Notice.request_id.in_(request_ids), Notice.kind == "approval")
        )
    )


def _wait_for_issued(request_ids, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        notices = _approval_notices(request_ids)
        if len(notices) >= len(request_ids) and all(n.state == NoticeState.ISSUED for n in notices):
            return notices
        time.sleep(0.25)
    states = {n.id: n.state for n in _approval_notices(request_ids)}
    raise AssertionError(f"notices not issued in {timeout} s: {states}")


def _assert_valid(app, notice):
    """File and row agree, and pyHanko finds the seal intact and trusted with our development root."""
    pdf = Path(notice_file_path(notice)).read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == notice.sha256 and len(pdf) == notice.size
    reader = PdfFileReader(BytesIO(pdf))
    (sig,) = reader.embedded_signatures
    roots = [to_asn1(c) for c in trust_anchor_certs(Path(app.config["PKI_DIR"]))]
    vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"}
    )
    status = validate_pdf_signature(sig, signer_validation_context=vc)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()


def _notice_files(app, notice) -> list[Path]:
    return sorted(Path(app.config["NOTICE_DIR"]).glob(f"*{notice.public_id}*"))


def _assert_exactly_once(app, request_ids):
    notices = _wait_for_issued(request_ids)
    assert sorted(n.request_id for n in notices) == sorted(request_ids)  # one per request, no duplicates
    for notice in notices:
        assert len(_notice_files(app, notice)) == 1  # no leftover file of a lost attempt
    return notices


def test_pipeline_turns_20_approvals_into_20_valid_notices(app, pipeline):
    pipeline.start_workers(count=2)
    pipeline.start_relay()
    ids = _approve(pipeline, 20)
    notices = _assert_exactly_once(app, ids)
    for notice in notices:
        _assert_valid(app, notice)
    assert all(p.poll() is None for p in pipeline.procs)  # workers and relay still running
    rows = _db.session.scalars(select(OutboxJob.id).where(OutboxJob.kind == "render_notice")).all()
    assert len(rows) == 20 and all(_wait_row_done(i).state == OutboxState.DONE for i in rows)


def test_relay_woken_by_notify_hands_over_without_polling(app, pipeline):
    pipeline.start_workers(count=1)
    pipeline.start_relay(interval=300)  # no pass of its own for five minutes: only NOTIFY wakes it
    _wait_for_listening_relay(app)
    ids = _approve(pipeline, 3)
    _assert_exactly_once(app, ids)  # well before any polling pass


def _wait_for_listening_relay(app, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listening = _db.session.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN amtsweg_outbox'")
        )
        _db.session.rollback()
        if listening:
            return
        time.sleep(0.1)
    raise AssertionError("the relay did not start listening")


def test_sigkill_of_a_worker_mid_job_still_yields_exactly_one_notice(app, pipeline):
    pipeline.start_workers(count=1, slow=True)
    pipeline.start_relay()
    (req_id,) = _approve(pipeline, 1)
    outbox_id = _db.session.scalar(select(OutboxJob.id).where(OutboxJob.kind == "render_notice"))
    pid = _wait_for_busy_worker_pid(app, f"outbox-{outbox_id}")
    os.kill(pid, signal.SIGKILL)
    (notice,) = _assert_exactly_once(app, [req_id])
    _assert_valid(app, notice)
    row = _wait_row_done(outbox_id)  # the row is marked done just after the notice commits
    assert row.payload == {"notice_id": notice.id}
    assert row.state == OutboxState.DONE and row.attempts == 1  # the killed run counted as one attempt


def _wait_row_done(outbox_id, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        _db.session.rollback()
        row = _db.session.get(OutboxJob, outbox_id)
        if row.state == OutboxState.DONE or time.monotonic() > deadline:
            return row
        time.sleep(0.1)


def _wait_for_busy_worker_pid(app, job_id, timeout=60.0) -> int:
    """The pid of the RQ worker process currently running job `job_id`."""
    conn = get_redis(app)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in Worker.all(connection=conn, serializer=JSONSerializer):
            if worker.get_current_job_id() == job_id:
                return worker.pid
        time.sleep(0.05)
    raise AssertionError("no worker picked up the job")


def test_notices_appear_after_redis_was_down_during_approval(app, pipeline, redis_server):
    pipeline.start_workers(count=2)
    pipeline.start_relay()
    redis_server.stop()
    ids = _approve(pipeline, 5)  # the database accepts the decisions; Redis is not the record
    pending = _db.session.scalar(
        select(func.count(OutboxJob.id)).where(OutboxJob.state == OutboxState.PENDING)
    )
    assert pending >= 5
    time.sleep(2)  # workers and relay must survive the outage, not crash
    assert all(p.poll() is None for p in pipeline.procs)
    redis_server.start()
    _assert_exactly_once(app, ids)


def test_same_job_run_twice_concurrently_issues_one_notice(app, pipeline, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_DISPATCH", False)  # only the two direct runs below
    req = started_request(pipeline.service)
    notice = request_notice(req, "approval")
    _db.session.commit()
    outbox_id = _db.session.scalar(select(OutboxJob.id).where(OutboxJob.kind == "render_notice"))
    code = (
        "import sys; from tests.integration.pipeline_support import run_outbox_directly; "
        "run_outbox_directly(int(sys.argv[1]))"
    )
    env = dict(Pipeline(app, pipeline.redis).env, PIPELINE_SLOW="1")
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(outbox_id)], cwd=BASE_DIR, env=env)
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    (issued,) = _assert_exactly_once(app, [req.id])
    assert issued.id == notice.id
    _assert_valid(app, issued)
