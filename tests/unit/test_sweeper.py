"""The upload sweeper: orphan files past the grace period, expired anonymous drafts (services.sweeper)."""

import os
import time
from datetime import timedelta

from models import Attachment, Draft, FormDefinition, FormVersion
from models.base import utcnow
from services.sweeper import sweep_uploads
from services.uploads import save_bytes, upload_root
from tests.factories import CitizenFactory, ServiceFactory

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _version(db):
    service = ServiceFactory()
    definition = FormDefinition(service_id=service.id, draft={})
    db.session.add(definition)
    db.session.flush()
    version = FormVersion(definition_id=definition.id, number=1, document={}, checksum="0" * 64)
    db.session.add(version)
    db.session.flush()
    return service, version


def _draft(db, service, version, user=None, idle=timedelta(0), token_hash="a" * 64):
    draft = Draft(user_id=user.id if user else None, anon_token_hash=None if user else token_hash,
                  service_id=service.id, form_version_id=version.id, answers={})
    db.session.add(draft)
    db.session.flush()
    draft.updated_at = utcnow() - idle
    db.session.flush()
    return draft


def _attach(db, draft):
    attachment = Attachment(draft=draft, field_key="dokument", original_name="a.pdf",
                            stored_name=save_bytes(PDF), mime_type="application/pdf", size=len(PDF),
                            sha256="0" * 64)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def _age(path, minutes):
    then = time.time() - minutes * 60
    os.utime(path, (then, then))


def test_sweep_removes_old_orphans_keeps_fresh_and_referenced_files(app, db):
    service, version = _version(db)
    kept = _attach(db, _draft(db, service, version, user=CitizenFactory()))
    db.session.commit()
    root = upload_root()
    referenced = root / kept.stored_name
    orphan, fresh, partial = root / ("ab" * 20), root / ("cd" * 20), root / (".ef.part")
    for path in (orphan, fresh, partial):
        path.write_bytes(PDF)
    grace = app.config["UPLOAD_ORPHAN_GRACE_MINUTES"]
    for path in (orphan, partial, referenced):
        _age(path, grace + 5)
    _age(fresh, grace - 5)  # an upload whose transaction may still be running

    report = sweep_uploads()
    db.session.commit()

    assert sorted(report.files) == sorted([orphan.name, partial.name])
    assert not orphan.exists() and not partial.exists()
    assert fresh.exists() and referenced.exists()


def test_sweep_deletes_expired_anonymous_drafts_with_their_files(app, db):
    service, version = _version(db)
    ttl = timedelta(minutes=app.config["ANONYMOUS_DRAFT_TTL_MINUTES"])
    expired = _draft(db, service, version, idle=ttl + timedelta(minutes=1))
    file_of_expired = upload_root() / _attach(db, expired).stored_name
    active = _draft(db, service, version, idle=ttl - timedelta(minutes=5))
    idle_account_draft = _draft(db, service, version, user=CitizenFactory(), idle=ttl * 10)
    submitted = _draft(db, service, version, idle=ttl * 10)
    submitted.submitted_at = utcnow() - ttl * 10
    db.session.commit()
    expired_id = expired.public_id

    report = sweep_uploads()
    assert file_of_expired.exists()  # removed files go only once the deletion is committed
    db.session.commit()

    assert report.drafts == [expired_id] and report.draft_files == 1
    assert not file_of_expired.exists()
    remaining = {d.public_id for d in db.session.scalars(db.select(Draft))}
    assert remaining == {active.public_id, idle_account_draft.public_id, submitted.public_id}
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0


def test_sweep_command_prints_what_it_removed(app, db):
    service, version = _version(db)
    expired = _draft(db, service, version, idle=timedelta(days=1))
    orphan = upload_root() / ("12" * 20)
    upload_root().mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(PDF)
    _age(orphan, app.config["UPLOAD_ORPHAN_GRACE_MINUTES"] + 1)
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["uploads", "sweep"])

    assert result.exit_code == 0, result.output
    assert f"removed anonymous draft {expired.public_id}" in result.output
    assert f"removed orphan file {orphan.name}" in result.output
    assert "1 expired anonymous draft(s) with 0 file(s), 1 orphan file(s) removed" in result.output


def test_relay_loop_runs_the_sweeper_when_due(app, db, monkeypatch):
    from workers import relay

    calls = []
    monkeypatch.setattr(relay, "sweep_and_commit", lambda: calls.append(1))
    loop = relay.Relay()
    loop._sweep_when_due()
    loop._sweep_when_due()  # not due again before UPLOAD_SWEEP_INTERVAL_SECONDS
    assert calls == [1]
    monkeypatch.setitem(app.config, "UPLOAD_SWEEP_INTERVAL_SECONDS", 0)
    loop.next_sweep = 0.0
    loop._sweep_when_due()
    assert calls == [1]
