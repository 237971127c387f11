"""An issued notice reaches the applicant: inbox entry and an e-mail, PDF attached only if configured."""

import pytest

from models import InboxItem, Notice, NoticeState
from services import notifications
from tests.factories import started_request
from tests.support import Mailbox


@pytest.fixture
def issued_notice(db, app, tmp_path):
    req = started_request()
    pdf = tmp_path / "n.pdf"
    pdf.write_bytes(b"%PDF-1.7 test")
    notice = Notice(
        public_id="n1", request_id=req.id, kind="approval", verification_code="ABCD-EFGH-JKMN",
        state=NoticeState.ISSUED, file_name="n.pdf",
    )
    db.session.add(notice)
    db.session.flush()
    return req, notice


def _deliver(app, db, req, notice, monkeypatch, attach):
    monkeypatch.setitem(app.config, "MAIL_ATTACH_NOTICES", attach)
    monkeypatch.setitem(app.config, "NOTICE_DIR", str(notice_dir_of(app)))
    notifications.notify_citizen(req, "notice_issued", notice=notice, notice_kind=notice.kind)
    db.session.commit()
    return Mailbox(app).deliver(req.applicant.email)


def notice_dir_of(app):
    from pathlib import Path

    return Path(app.config["INSTANCE_PATH"]) / "notices-test"


def test_notice_issued_creates_inbox_entry_and_mail_without_pdf(app, db, issued_notice, monkeypatch):
    req, notice = issued_notice
    messages = _deliver(app, db, req, notice, monkeypatch, attach=False)
    assert db.session.query(InboxItem).filter_by(kind="notice_issued", request_id=req.id).count() == 1
    assert len(messages) == 1
    body = messages[0].get_body(preferencelist=("plain",)).get_content()
    assert req.reference in body and "ABCD-EFGH-JKMN" in body
    assert not list(messages[0].iter_attachments())


def test_notice_issued_mail_attaches_pdf_when_configured(app, db, issued_notice, monkeypatch):
    req, notice = issued_notice
    folder = notice_dir_of(app)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "n.pdf").write_bytes(b"%PDF-1.7 test")
    messages = _deliver(app, db, req, notice, monkeypatch, attach=True)
    attachments = list(messages[0].iter_attachments())
    assert [a.get_content_type() for a in attachments] == ["application/pdf"]
    assert attachments[0].get_content() == b"%PDF-1.7 test"


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        ("receipt", "Eingangsbestätigung erstellt"),
        ("information_request", "Schreiben zur Rückfrage erstellt"),
        ("approval", "Genehmigungsbescheid erstellt"),
        ("rejection", "Ablehnungsbescheid erstellt"),
        ("fee", "Gebührenbescheid erstellt"),
        ("later_kind", "Dokument erstellt"),
    ],
)
def test_citizen_timeline_names_the_issued_notice(db, kind, title):
    from services.events import append_event
    from services.messages import citizen_timeline

    req = started_request()
    append_event(req, "notice_issued", data={"kind": kind, "revision": 1}, visible_to_citizen=True)
    db.session.flush()
    assert citizen_timeline(req, "de")[0].title == title
