"""Issued notices are PAdES B-LT sealed: pyHanko and poppler's pdfsig both accept them, and reject a
one-byte change."""

import hashlib
import logging
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from models import NoticeState
from services.notices.sign import FIELD_NAME, to_asn1, trust_anchor_certs
from services.notices.verify import verify_pdf_bytes
from tests.unit.notice_helpers import issue_notice


def _root_pem(app) -> Path:
    return Path(app.config["PKI_DIR"]) / "root.cert.pem"


def _pyhanko_status(app, pdf: bytes):
    reader = PdfFileReader(BytesIO(pdf))
    (sig,) = reader.embedded_signatures
    dss = DocumentSecurityStore.read_dss(reader)
    roots = [to_asn1(c) for c in trust_anchor_certs(Path(app.config["PKI_DIR"]))]
    # Offline, revocation checks mandatory: only what is embedded in the PDF may be used.
    vc = dss.as_validation_context(
        {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"}
    )
    return sig, dss, validate_pdf_signature(sig, signer_validation_context=vc)


def _flip_signed_byte(pdf: bytes) -> bytes:
    """Change one byte inside the signed range (in the document title of the first revision)."""
    at = pdf.index(b"/Title") + 12
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


def test_issued_notice_is_b_lt_sealed_for_pyhanko(app, db):
    notice, pdf = issue_notice("approval", data={"text": "Genehmigt."})

    assert notice.state == NoticeState.ISSUED
    assert notice.sha256 == hashlib.sha256(pdf).hexdigest() and notice.size == len(pdf)
    sig, dss, status = _pyhanko_status(app, pdf)
    assert sig.field_name == FIELD_NAME
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None
    assert (
        status.timestamp_validity.intact
        and status.timestamp_validity.valid
        and status.timestamp_validity.trusted
    )
    assert status.bottom_line
    assert status.modification_level <= ModificationLevel.LTA_UPDATES  # only the DSS was appended
    assert len(list(dss.load_certs())) >= 3 and dss.crls  # validation data embedded (B-LT)
    assert "Stadt Duisburg" in status.signing_cert.subject.human_friendly


def test_issued_notice_chain_is_untrusted_without_our_root(app, db):
    _, pdf = issue_notice("receipt")
    reader = PdfFileReader(BytesIO(pdf))
    (sig,) = reader.embedded_signatures
    status = validate_pdf_signature(
        sig, signer_validation_context=ValidationContext(trust_roots=[], allow_fetching=False)
    )
    assert status.intact and not status.trusted


def test_one_byte_change_fails_pyhanko(app, db):
    _, pdf = issue_notice("rejection", data={"reasons": "Unterlagen fehlen."})
    _, _, status = _pyhanko_status(app, _flip_signed_byte(pdf))
    assert not status.intact
    assert not status.bottom_line


def test_verify_pdf_bytes_matches_record_and_rejects_tampering(app, db):
    notice, pdf = issue_notice("fee", data={"fee_cents": 4550})

    ok = verify_pdf_bytes(pdf)
    assert ok.authentic and ok.matched_by == "sha256" and ok.notice.id == notice.id
    assert ok.validation_data_embedded and ok.signed_at is not None

    bad = verify_pdf_bytes(_flip_signed_byte(pdf))
    assert not bad.authentic and not bad.intact
    assert (
        bad.notice.id == notice.id and bad.matched_by == "code"
    )  # found by the embedded code, still rejected


def test_verify_pdf_bytes_refuses_garbage_and_unsigned(app, db):
    assert verify_pdf_bytes(b"%PDF-1.7\nnonsense").problems == ["unreadable"]
    from services.notices.render import render_pdf

    unsigned = verify_pdf_bytes(render_pdf("<p>Kein Siegel</p>"))
    assert unsigned.readable and not unsigned.signed and not unsigned.authentic


def _nss_db(tmp_path, root_pem: Path) -> str:
    if shutil.which("certutil") is None:
        pytest.fail("certutil missing: install Debian package libnss3-tools (needed to trust the test root)")
    nssdir = tmp_path / "nss"
    nssdir.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdir}", "--empty-password"], check=True)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{nssdir}",
            "-n",
            "amtsweg-test-root",
            "-t",
            "C,C,C",
            "-i",
            str(root_pem),
        ],
        check=True,
    )
    return f"sql:{nssdir}"


def _pdfsig(nssdir: str, pdf: bytes, tmp_path) -> str:
    if shutil.which("pdfsig") is None:
        pytest.fail("pdfsig missing: install Debian package poppler-utils")
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf)
    run = subprocess.run(["pdfsig", "-nssdir", nssdir, str(path)], capture_output=True, text=True, timeout=60)
    return run.stdout + run.stderr


def test_pdfsig_accepts_notice_and_rejects_one_byte_change(app, db, tmp_path):
    _, pdf = issue_notice("approval")
    nssdir = _nss_db(tmp_path, _root_pem(app))

    out = _pdfsig(nssdir, pdf, tmp_path)
    assert "Signature Field Name: Siegel" in out
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Certificate Validation: Certificate is Trusted." in out, out

    tampered = _pdfsig(nssdir, _flip_signed_byte(pdf), tmp_path)
    assert "Signature Validation: Signature is Valid." not in tampered, tampered
    assert "Digest Mismatch" in tampered or "Signature is Invalid" in tampered, tampered


def test_pdfsig_does_not_trust_notice_without_our_root(app, db, tmp_path):
    _, pdf = issue_notice("approval")
    empty = tmp_path / "empty-nss"
    empty.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{empty}", "--empty-password"], check=True)
    out = _pdfsig(f"sql:{empty}", pdf, tmp_path)
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate Validation: Certificate is Trusted." not in out


def test_verify_pdf_bytes_logs_a_tampered_file_as_info_without_traceback(app, db, caplog):
    _, pdf = issue_notice("rejection")
    at = pdf.rindex(b"/EmbeddedFiles") + 2  # in the last revision: "/EmbeddedGiles"
    altered = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]
    caplog.set_level(logging.INFO)
    result = verify_pdf_bytes(altered)  # pyHanko's diff analysis logs this with a traceback
    assert not result.authentic and "modified" in result.problems
    pyhanko = [r for r in caplog.records if r.name.startswith("pyhanko")]
    assert any("diff" in r.getMessage() for r in pyhanko)
    assert all(r.levelno == logging.INFO and not r.exc_info for r in pyhanko)


def test_verify_pdf_bytes_answers_a_damaged_timestamp_token(app, db, caplog):
    _, pdf = issue_notice("rejection")
    signed_data = b"06092A864886F70D010702"  # the OID of signedData; its second use is the timestamp token's
    at = pdf.index(signed_data, pdf.index(signed_data) + 1) + 16
    damaged = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]
    caplog.set_level(logging.INFO)
    result = verify_pdf_bytes(damaged)
    assert not result.authentic and "invalid_signature" in result.problems
    assert all(r.levelno < logging.WARNING for r in caplog.records)


def test_verify_pdf_bytes_reports_unexpected_errors_at_error(app, db, caplog, monkeypatch):
    _, pdf = issue_notice("rejection")

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("pyhanko.sign.validation.validate_pdf_signature", broken)
    result = verify_pdf_bytes(pdf)
    assert not result.authentic and "invalid_signature" in result.problems
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.name == "services.notices.verify" and record.exc_info
