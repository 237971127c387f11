"""Ops page for background jobs: platform admins only, failed/stuck rows, retry with CSRF."""

from datetime import timedelta

import pytest

from models import OutboxJob, OutboxState
from models.base import utcnow
from tests.conftest import csrf_token_from
from tests.factories import CitizenFactory, DepartmentFactory, StaffFactory, clerk_of

URL = "/betrieb/auftraege/"


def _row(db, state, error="", age=timedelta(0)):
    row = OutboxJob(
        kind="send_email", payload={"user_id": 1}, state=state, last_error=error, created_at=utcnow() - age
    )
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def admin(db):
    return StaffFactory(is_platform_admin=True)


@pytest.mark.parametrize("who", ["anonymous", "citizen", "clerk", "staff_without_admin"])
def test_jobs_page_is_404_for_everyone_but_platform_admins(client, db, login_as, who):
    failed = _row(db, OutboxState.FAILED, "boom")
    if who == "citizen":
        login_as(CitizenFactory())
    elif who == "clerk":
        login_as(clerk_of(DepartmentFactory()))
    elif who == "staff_without_admin":
        login_as(StaffFactory())
    assert client.get(URL).status_code == 404
    assert client.post(f"{URL}{failed.id}/wiederholen").status_code == 404
    db.session.refresh(failed)
    assert failed.state == OutboxState.FAILED


def test_jobs_page_lists_failed_and_stuck_rows_with_counts(client, db, login_as, admin):
    _row(db, OutboxState.FAILED, "Traceback...\nRuntimeError: TSA nicht erreichbar")
    _row(db, OutboxState.PENDING, age=timedelta(hours=1))
    _row(db, OutboxState.PENDING)  # fresh: not stuck
    _row(db, OutboxState.DONE)
    login_as(admin)
    html = client.get(URL).get_data(as_text=True)
    assert "RuntimeError: TSA nicht erreichbar" in html
    assert html.count("/wiederholen") == 2
    assert 'data-state="pending">2<' in html and 'data-state="failed">1<' in html


def test_jobs_page_is_linked_from_the_ops_home(client, db, login_as, admin):
    login_as(admin)
    assert f'href="{URL}"' in client.get("/betrieb/").get_data(as_text=True)
    assert "Zurück zu Betrieb" in client.get(URL).get_data(as_text=True)


def test_retry_resets_failed_row(client, db, login_as, admin):
    failed = _row(db, OutboxState.FAILED, "boom")
    failed.attempts = 5
    db.session.commit()
    login_as(admin)
    resp = client.post(f"{URL}{failed.id}/wiederholen")
    assert resp.status_code == 302
    db.session.refresh(failed)
    assert failed.state == OutboxState.PENDING and failed.attempts == 0
    assert "erneut ausgeführt" in client.get(URL).get_data(as_text=True)


def test_retry_of_done_row_is_refused_with_message(client, db, login_as, admin):
    done = _row(db, OutboxState.DONE)
    login_as(admin)
    resp = client.post(f"{URL}{done.id}/wiederholen", follow_redirects=True)
    assert resp.status_code == 200 and "bereits erledigt" in resp.get_data(as_text=True)
    assert client.post(f"{URL}999999/wiederholen").status_code == 404


def test_retry_requires_csrf_token(client, db, login_as, admin, app, monkeypatch):
    failed = _row(db, OutboxState.FAILED, "boom")
    login_as(admin)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(f"{URL}{failed.id}/wiederholen").status_code == 400
    token = csrf_token_from(client.get(URL))
    assert client.post(f"{URL}{failed.id}/wiederholen", data={"csrf_token": token}).status_code == 302
    db.session.refresh(failed)
    assert failed.state == OutboxState.PENDING


def test_jobs_page_warns_when_a_row_waits_too_long_for_its_hand_over(client, db, login_as, admin):
    login_as(admin)
    _row(db, OutboxState.PENDING, age=timedelta(seconds=5))  # normal: the relay is about to take it
    html = client.get(URL).get_data(as_text=True)
    assert "Relay-Prozess" not in html and 'data-state="oldest-pending">–<' not in html
    _row(db, OutboxState.PENDING, age=timedelta(minutes=3))  # no relay has taken it
    html = client.get(URL).get_data(as_text=True)
    assert "Relay-Prozess (flask outbox relay)" in html and 'role="status"' in html
    db.session.query(OutboxJob).update({"state": OutboxState.DONE})
    db.session.commit()
    html = client.get(URL).get_data(as_text=True)
    assert "Relay-Prozess" not in html and 'data-state="oldest-pending">–<' in html


def test_outbox_status_counts_rows_and_names_the_oldest_pending_one(app, db):
    _row(db, OutboxState.DONE)
    old = _row(db, OutboxState.PENDING, age=timedelta(minutes=5))
    out = app.test_cli_runner().invoke(args=["outbox", "status"]).output
    assert "done       1" in out and "pending    1" in out
    assert old.created_at.isoformat(timespec="seconds") in out and "is `flask outbox relay` running?" in out
