"""Retention periods: which closed requests are due, what a purge deletes and leaves (services.retention)."""

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from commands.audit import cli as audit_cli
from commands.retention import cli as retention_cli
from models import (
    ApprovalProposal,
    Attachment,
    Draft,
    InboxItem,
    Message,
    Notice,
    OutboxJob,
    RequestEvent,
    RetentionDeletion,
    ServiceRequest,
)
from services.errors import ValidationFailed
from services.events import append_event
from services.notices.files import notice_dir
from services.retention import (
    RetentionRefused,
    due_for_deletion,
    hold_request,
    lift_hold,
    purge_due,
    purge_request,
    retention_ends,
    years_before,
)
from services.uploads import save_bytes, upload_root
from services.workflow import verify_chains
from tests.factories import ServiceFactory, clerk_of, form_version_for, started_request

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _closed(service, closed_at):
    req = started_request(service=service)
    req.closed_at = closed_at
    req.state = "abgeschlossen"
    return req


def _full_request(db, service, closed_at):
    """A closed request with one of everything that hangs off a request, files included."""
    req = _closed(service, closed_at)
    clerk = clerk_of(req.department)
    draft = Draft(
        user_id=req.applicant_id, service_id=service.id, form_version_id=form_version_for(service).id,
        answers={"name": "Erika Mustermann"}, submitted_at=req.submitted_at,
    )  # fmt: skip
    db.session.add(draft)
    db.session.flush()
    req.draft_id = draft.id
    question = Message(request_id=req.id, author_id=clerk.id, body="Bitte Lageplan")
    db.session.add(question)
    db.session.flush()
    answer = Message(request_id=req.id, from_citizen=True, body="Anbei", in_reply_to_id=question.id)
    db.session.add(answer)
    db.session.flush()
    for kwargs in ({"draft_id": draft.id}, {"message_id": answer.id}, {}):
        db.session.add(
            Attachment(
                request_id=req.id, field_key="plan", original_name="plan.pdf", stored_name=save_bytes(PDF),
                mime_type="application/pdf", size=len(PDF), sha256="0" * 64, **kwargs,
            )
        )  # fmt: skip
    db.session.add(
        Attachment(
            draft_id=draft.id, field_key="alt", original_name="alt.pdf", stored_name=save_bytes(PDF),
            mime_type="application/pdf", size=len(PDF), sha256="0" * 64,
        )
    )  # fmt: skip  (a file the draft kept: replaced before submitting)
    pdf = notice_dir() / f"bescheid-{req.id}.pdf"
    pdf.write_bytes(PDF)
    db.session.add(
        Notice(
            public_id=f"n{req.id}", request_id=req.id, kind="approval", state="issued",
            verification_code=f"V{req.id}", file_name=pdf.name, sha256="0" * 64, size=len(PDF),
        )
    )  # fmt: skip
    db.session.add(InboxItem(user_id=req.applicant_id, request_id=req.id, kind="approved", data={}))
    db.session.add(OutboxJob(kind="send_mail", payload={}, request_id=req.id, state="done"))
    db.session.add(ApprovalProposal(request_id=req.id, transition="genehmigen", proposed_by_id=clerk.id))
    append_event(req, "note", clerk, {"text": "Vorgang abgeschlossen"})
    db.session.commit()
    return req


def _rows(db, model, request_id):
    return db.session.scalar(select(func.count()).select_from(model).where(model.request_id == request_id))


def test_retention_years_before_handles_the_leap_day():
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 10) == datetime(2018, 2, 28, tzinfo=UTC)
    assert years_before(NOW, 10) == datetime(2016, 12, 4, 12, 0, tzinfo=UTC)


def test_retention_due_only_closed_requests_past_their_services_period(db):
    ten, two = ServiceFactory(retention_years=10), ServiceFactory(retention_years=2)
    open_old = started_request(service=two)
    open_old.submitted_at = NOW - timedelta(days=365 * 20)  # open: never due, however old
    old_ten = _closed(ten, NOW - timedelta(days=365 * 10 + 5))
    young_ten = _closed(ten, NOW - timedelta(days=365 * 3))  # within its ten years
    old_two = _closed(two, NOW - timedelta(days=365 * 3))  # the same age, but a two-year service
    edge_two = _closed(two, years_before(NOW, 2) + timedelta(seconds=1))  # one second short
    db.session.commit()

    due = due_for_deletion(NOW)
    assert [r.id for r in due] == [old_ten.id, old_two.id]
    assert {open_old.id, young_ten.id, edge_two.id}.isdisjoint(r.id for r in due)
    assert retention_ends(young_ten) == young_ten.closed_at.replace(year=young_ten.closed_at.year + 10)
    assert retention_ends(open_old) is None
    assert [r.id for r in due_for_deletion(NOW, limit=1)] == [old_ten.id]
    assert [r.id for r in due_for_deletion(NOW + timedelta(seconds=2))] == [
        old_ten.id, old_two.id, edge_two.id,
    ]  # fmt: skip


def test_retention_purge_deletes_everything_and_leaves_a_record(app, db):
    service = ServiceFactory(retention_years=5)
    req = _full_request(db, service, NOW - timedelta(days=365 * 6))
    other = _full_request(db, service, NOW - timedelta(days=30))  # not due: untouched
    request_id, reference, draft_id = req.id, req.reference, req.draft_id
    head = (req.last_event_seq, req.last_event_hash)
    stored = select(Attachment.stored_name)
    names = set(db.session.scalars(stored.where(Attachment.draft_id == draft_id)))
    names |= set(db.session.scalars(stored.where(Attachment.request_id == request_id)))
    assert len(names) == 4 and all((upload_root() / n).is_file() for n in names)
    pdf = notice_dir() / f"bescheid-{request_id}.pdf"

    record = purge_request(req, NOW)
    assert pdf.is_file() and all((upload_root() / n).is_file() for n in names)  # files wait for the commit
    db.session.commit()

    assert not pdf.exists() and not any((upload_root() / n).exists() for n in names)
    assert db.session.get(ServiceRequest, request_id) is None and db.session.get(Draft, draft_id) is None
    for model in (RequestEvent, Message, Attachment, Notice, InboxItem, OutboxJob, ApprovalProposal):
        assert _rows(db, model, request_id) == 0, model
        assert _rows(db, model, other.id) > 0, model
    assert (record.request_id, record.reference, record.service_id) == (request_id, reference, service.id)
    assert record.department_id == service.department_id and record.retention_years == 5
    assert (record.final_seq, record.final_hash) == head and record.event_count == head[0]
    assert record.deleted_at == NOW and record.closed_at == NOW - timedelta(days=365 * 6)
    assert record.counts["files"] == 5 and record.counts["messages"] == 2
    assert (notice_dir() / f"bescheid-{other.id}.pdf").is_file()


def test_retention_purge_rolled_back_keeps_the_files(app, db):
    req = _full_request(db, ServiceFactory(retention_years=1), NOW - timedelta(days=800))
    pdf = notice_dir() / f"bescheid-{req.id}.pdf"
    purge_request(req, NOW)
    db.session.rollback()
    assert pdf.is_file() and db.session.get(ServiceRequest, req.id) is not None


def test_retention_purge_refuses_open_young_and_tampered_requests(db):
    service = ServiceFactory(retention_years=1)
    with pytest.raises(RetentionRefused):
        purge_request(started_request(service=service), NOW)
    with pytest.raises(RetentionRefused, match="läuft bis"):
        purge_request(_closed(service, NOW - timedelta(days=30)), NOW)
    tampered = _closed(service, NOW - timedelta(days=800))
    kept = _closed(service, NOW - timedelta(days=900))
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE request_events SET data = '{}' WHERE request_id = :r"), {"r": tampered.id})
    db.session.expire_all()

    report = purge_due(NOW)
    db.session.commit()
    assert [r.reference for r in report.deleted] == [kept.reference]
    assert [ref for ref, _ in report.refused] == [tampered.reference]
    assert "nicht intakt" in report.refused[0][1]
    assert db.session.get(ServiceRequest, tampered.id) is not None  # the evidence stays


def test_retention_purged_requests_are_not_reported_broken_by_the_audit(app, db):
    service = ServiceFactory(retention_years=1)
    gone = _full_request(db, service, NOW - timedelta(days=800))
    kept = _closed(service, NOW - timedelta(days=10))
    db.session.commit()
    purge_due(NOW)
    db.session.commit()
    assert verify_chains() == []
    result = CliRunner().invoke(audit_cli, ["verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 1 Anträge" in result.output
    assert "1 Anträge nach Ablauf der Aufbewahrungsfrist gelöscht" in result.output
    listed = CliRunner().invoke(retention_cli, ["deleted"])
    assert gone.reference in listed.output and gone.last_event_hash in listed.output
    assert kept.reference not in listed.output


def test_retention_cli_dry_run_changes_nothing_then_purge_deletes(app, db):
    service = ServiceFactory(retention_years=1)
    first = _closed(service, datetime(2020, 1, 1, tzinfo=UTC))
    second = _closed(service, datetime(2021, 1, 1, tzinfo=UTC))
    _closed(service, datetime.now(UTC) - timedelta(days=10))
    db.session.commit()
    runner = CliRunner()

    dry = runner.invoke(retention_cli, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert first.reference in dry.output and second.reference in dry.output
    assert "2 Antrag/Anträge würden gelöscht" in dry.output
    assert db.session.scalar(select(func.count()).select_from(RetentionDeletion)) == 0

    one = runner.invoke(retention_cli, ["purge", "--limit", "1"])
    assert one.exit_code == 0, one.output
    assert f"gelöscht {first.reference}" in one.output and second.reference not in one.output
    rest = runner.invoke(retention_cli, ["purge"])
    assert f"gelöscht {second.reference}" in rest.output and "1 Antrag/Anträge gelöscht" in rest.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == 1


def test_a_held_request_is_neither_due_nor_purged_until_the_hold_is_lifted(db):
    req = _closed(ServiceFactory(retention_years=2), NOW - timedelta(days=365 * 3))
    clerk = clerk_of(req.department)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        hold_request(req, clerk, "  ", req.row_version)
    hold_request(req, clerk, "Widerspruch vom 3. März, Klage anhängig", req.row_version)
    db.session.commit()
    assert due_for_deletion(NOW) == []
    with pytest.raises(RetentionRefused):
        purge_request(req, NOW)
    assert [e.kind for e in req.events][-1] == "retention_hold"
    lift_hold(req, clerk, req.row_version)
    db.session.commit()
    assert req.retention_hold_reason is None and [r.id for r in due_for_deletion(NOW)] == [req.id]
