"""Uploads: content-sniffed allow-list, size limits, generated names, cleanup on rollback."""

import hashlib
import io

import pytest
from werkzeug.datastructures import FileStorage

from models import Attachment
from services import uploads
from services.errors import UploadRejected
from services.formatting import format_alternatives
from tests.factories import CitizenFactory

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")  # PNG header + IHDR


@pytest.fixture
def draft(db):
    from models import Draft, FormDefinition, FormVersion
    from tests.factories import ServiceFactory

    user = CitizenFactory()
    service = ServiceFactory()
    definition = FormDefinition(service_id=service.id, draft={})
    db.session.add(definition)
    db.session.flush()
    version = FormVersion(definition_id=definition.id, number=1, document={}, checksum="0" * 64)
    db.session.add(version)
    db.session.flush()
    row = Draft(user_id=user.id, service_id=service.id, form_version_id=version.id, answers={})
    db.session.add(row)
    db.session.flush()
    return row


def _file(data, name="nachweis.pdf"):
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type="application/octet-stream")


def test_store_upload_keeps_pdf_under_generated_name(app, db, draft):
    attachment = uploads.store_upload(draft, "nachweis", _file(PDF, "../../etc/passwd.pdf"), draft.user)
    path = uploads.attachment_path(attachment)
    assert path.read_bytes() == PDF
    assert attachment.stored_name not in ("passwd.pdf", "nachweis.pdf") and "/" not in attachment.stored_name
    assert path.parent == uploads.upload_root()
    assert attachment.original_name == "passwd.pdf"
    assert attachment.mime_type == "application/pdf"
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert attachment.size == len(PDF)
    assert not list(uploads.upload_root().glob(".*.part"))
    assert uploads.attachment_answer(attachment)["id"] == attachment.public_id


def test_store_upload_sniffs_content_not_name(db, draft):
    with pytest.raises(UploadRejected, match=r"^Die Datei muss vom Typ PDF, JPG oder PNG sein\.$"):
        html = b"<html><script>alert(1)</script></html>"
        uploads.store_upload(draft, "nachweis", _file(html, "bild.pdf"), None)
    attachment = uploads.store_upload(draft, "foto", _file(PNG, "foto.pdf"), None)
    assert attachment.mime_type == "image/png"


def test_allowed_types_read_as_alternatives_in_both_languages(app_ctx):
    assert format_alternatives(["PDF", "JPG", "PNG"], "de") == "PDF, JPG oder PNG"
    assert format_alternatives(["PDF", "JPG", "PNG"], "en") == "PDF, JPG or PNG"
    assert format_alternatives(["PDF"], "en") == "PDF"


def test_store_upload_respects_field_allow_list(db, draft):
    with pytest.raises(UploadRejected, match="PDF"):
        uploads.store_upload(draft, "nachweis", _file(PNG, "x.png"), None, allowed=("application/pdf",))


def test_store_upload_rejects_empty_file(db, draft):
    with pytest.raises(UploadRejected, match="leer"):
        uploads.store_upload(draft, "nachweis", _file(b""), None)


def test_store_upload_rejects_file_over_field_limit(db, draft):
    with pytest.raises(UploadRejected, match="zu groß"):
        uploads.store_upload(draft, "nachweis", _file(PDF + b"x" * 2000), None, max_bytes=1024)
    assert db.session.query(Attachment).count() == 0


def test_store_upload_field_limit_never_exceeds_global_limit(app, db, draft, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(UploadRejected, match="zu groß"):
        uploads.store_upload(draft, "nachweis", _file(PDF + b"x" * 200), None, max_bytes=10_000)


def test_store_upload_enforces_total_per_request(app, db, draft, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_REQUEST_UPLOAD_BYTES", len(PDF) * 2 + 10)
    uploads.store_upload(draft, "a", _file(PDF), None)
    uploads.store_upload(draft, "b", _file(PDF), None)
    with pytest.raises(UploadRejected, match="zusammen"):
        uploads.store_upload(draft, "c", _file(PDF), None)


def test_rollback_removes_written_file(db, draft):
    attachment = uploads.store_upload(draft, "nachweis", _file(PDF), None)
    path = uploads.attachment_path(attachment)
    assert path.exists()
    db.session.rollback()
    assert not path.exists()


def test_removed_attachment_file_deleted_only_after_commit(db, draft):
    attachment = uploads.store_upload(draft, "nachweis", _file(PDF), None)
    db.session.commit()
    path = uploads.attachment_path(attachment)
    uploads.remove_attachment(attachment)
    assert path.exists()
    db.session.rollback()
    assert path.exists()  # the removal was rolled back, the file must still be there
    uploads.remove_attachment(db.session.get(Attachment, attachment.id))
    db.session.commit()
    assert not path.exists()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("C:\\Users\\x\\Ausweis.pdf", "Ausweis.pdf"), ("..\x00.pdf", "pdf"), ("", "Datei"),
     ("a" * 300, "a" * 200), ("Rechnung 01/2026.pdf", "Rechnung 01/2026.pdf"),
     ("C:\\Scans\\Miete 03/2026.pdf", "Miete 03/2026.pdf"), ("/home/x/Scan.pdf", "Scan.pdf"),
     ("a/../b.pdf", "b.pdf")],
)
def test_clean_filename(app_ctx, raw, expected):
    assert uploads.clean_filename(raw) == expected
