"""Checking notices: a PDF's seal (pyHanko, offline, against our trust anchors) and a verification code."""

import hashlib
import importlib
import json
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path

from asn1crypto import cms, tsp
from flask import current_app
from sqlalchemy import func, select

from extensions import db
from models import Notice, NoticeState
from services.notices import normalise_code, notice_title
from services.notices.sign import FIELD_NAME, to_asn1, trust_anchor_certs

log = logging.getLogger(__name__)
ATTACHMENT_NAME = "bescheid.json"
# Loggers whose warnings and errors (with tracebacks) during an upload check describe the file, not us.
_FINDING_LOGGERS = ("pyhanko", "pyhanko_certvalidator")


@dataclass
class VerificationResult:
    """Outcome of checking an uploaded PDF. `authentic` is the one answer a person needs."""

    readable: bool = False
    signed: bool = False
    intact: bool = False  # the signed bytes are unchanged and the signature is mathematically valid
    trusted: bool = False  # the seal certificate chains to our trust anchor, not revoked at signing time
    timestamp_valid: bool = False
    validation_data_embedded: bool = False  # DSS with certificates and CRLs (PAdES B-LT)
    unmodified: bool = False  # nothing but validation data was appended after signing
    signer: str = ""
    signed_at: datetime | None = None
    notice: Notice | None = None
    matched_by: str | None = None  # "sha256" (our exact file) or "code" (embedded verification code)
    problems: list[str] = field(default_factory=list)

    @property
    def seal_valid(self) -> bool:
        return all((self.signed, self.intact, self.trusted, self.timestamp_valid, self.unmodified))

    @property
    def authentic(self) -> bool:
        return self.seal_valid and self.notice is not None and self.notice.state == NoticeState.ISSUED


def verify_pdf_bytes(data: bytes) -> VerificationResult:
    """Check a PDF's seal offline and match it to our record (by SHA-256, else by embedded code)."""
    with _findings_as_info():
        return _verify(data)


def _verify(data: bytes) -> VerificationResult:
    from pyhanko.pdf_utils.reader import PdfFileReader

    result = VerificationResult()
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
        result.readable = True
    except Exception as exc:  # any parser error means: not a PDF we can read
        log.info("unreadable PDF uploaded for verification: %s", type(exc).__name__)
        result.problems.append("unreadable")
        return result
    sig = next((s for s in signatures if s.field_name == FIELD_NAME), signatures[0] if signatures else None)
    if sig is None:
        result.problems.append("unsigned")
    else:
        _check_signature(reader, sig, result)
    _match_record(data, reader, result)
    return result


def _check_signature(reader, sig, result: VerificationResult) -> None:
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
    from pyhanko_certvalidator.errors import ValidationError

    result.signed = True
    dss = _read_dss(reader, DocumentSecurityStore)
    result.validation_data_embedded = bool(dss and dss.certs and dss.crls)
    kwargs = {"trust_roots": [to_asn1(c) for c in trust_anchors()], "allow_fetching": False}
    try:
        signed_at = _timestamp_time(sig.signer_info)
        if signed_at is not None:
            # Long-term validation: judge the chain at the time the TSA vouches for, with the embedded CRLs.
            kwargs.update(moment=signed_at, revocation_mode="hard-fail")
        vc = dss.as_validation_context(kwargs) if dss else _plain_context(kwargs)
        status = validate_pdf_signature(sig, signer_validation_context=vc)
    except (ValueError, TypeError, KeyError, IndexError, PdfError, ValidationError) as exc:
        # Malformed CMS or objects (what a damaged or altered file produces): the seal cannot be confirmed.
        log.info("signature validation error: %s", type(exc).__name__)
        result.problems.append("invalid_signature")
        return
    except Exception:  # anything else is our problem: still answer, but report it with its traceback
        log.exception("unexpected error while checking an uploaded seal")
        result.problems.append("invalid_signature")
        return
    ts = status.timestamp_validity
    result.intact = bool(status.intact and status.valid)
    result.trusted = bool(status.trusted)
    result.timestamp_valid = bool(ts and ts.intact and ts.valid and ts.trusted)
    level = status.modification_level
    result.unmodified = bool(
        status.docmdp_ok and level is not None and level <= ModificationLevel.LTA_UPDATES
    )
    result.signer = status.signing_cert.subject.human_friendly
    result.signed_at = ts.timestamp if ts else None
    result.problems += [
        name
        for name, ok in (
            ("not_intact", result.intact),
            ("untrusted", result.trusted),
            ("no_timestamp", result.timestamp_valid),
            ("modified", result.unmodified),
        )
        if not ok
    ]


@contextmanager
def _findings_as_info():
    """pyHanko logs a broken or altered seal as WARNING/ERROR with a traceback. For an uploaded file
    that is an expected answer, not a server fault: while this thread checks one, such records are
    logged at INFO, on one line. Other threads (e.g. sealing a notice) keep their levels."""
    for module in ("pyhanko.pdf_utils.reader", "pyhanko.sign.validation"):
        importlib.import_module(module)  # first, so that their loggers exist when collected below

    demote = _DemoteFindings(threading.get_ident())
    names = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in _FINDING_LOGGERS]
    loggers = [logging.getLogger(n) for n in names]  # filters do not apply to child loggers: each one
    for logger in loggers:
        logger.addFilter(demote)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(demote)


class _DemoteFindings(logging.Filter):
    def __init__(self, thread_id: int):
        super().__init__()
        self.thread_id = thread_id

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread_id or record.levelno <= logging.INFO:
            return True
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message} ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        record.msg, record.args, record.exc_info, record.exc_text = message, None, None, None
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        return True


def _plain_context(kwargs):
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(**kwargs)


def _read_dss(reader, dss_cls):
    try:
        return dss_cls.read_dss(reader)
    except Exception:  # no DSS in the file
        return None


def _timestamp_time(signer_info) -> datetime | None:
    """genTime of the signature timestamp token (unsigned attribute), if there is one."""
    for attr in signer_info["unsigned_attrs"] or ():
        if attr["type"].native == "signature_time_stamp_token":
            token: cms.ContentInfo = attr["values"][0]
            tst_info: tsp.TSTInfo = token["content"]["encap_content_info"]["content"].parsed
            return tst_info["gen_time"].native
    return None


def trust_anchors():
    return trust_anchor_certs(Path(current_app.config["PKI_DIR"]))


def _match_record(data: bytes, reader, result: VerificationResult) -> None:
    digest = hashlib.sha256(data).hexdigest()
    notice = db.session.scalar(select(Notice).where(Notice.sha256 == digest))
    if notice is not None:
        result.notice, result.matched_by = notice, "sha256"
        return
    code = embedded_code(reader)
    if code:
        result.notice = db.session.scalar(select(Notice).where(Notice.verification_code == code))
        result.matched_by = "code" if result.notice is not None else None
    if result.notice is None:
        result.problems.append("unknown_notice")


def embedded_code(reader) -> str | None:
    """The verification code from the attached bescheid.json, if present and well-formed."""
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        for i in range(0, len(names), 2):
            if str(names[i]) == ATTACHMENT_NAME:
                stream = names[i + 1].get_object()["/EF"]["/F"].get_object()
                return normalise_code(json.loads(stream.data.decode("utf-8")).get("verification_code", ""))
    except Exception:  # absent or malformed attachment: no code to match
        return None
    return None


def verify_code(raw_code: str, locale: str = "de") -> dict | None:
    """Public facts about the notice with this code (no personal data), or None if there is none;
    department and service named in `locale` where they have a name in it."""
    code = normalise_code(raw_code)
    notice = db.session.scalar(select(Notice).where(Notice.verification_code == code)) if code else None
    if notice is None:
        return None
    req = notice.request
    newest = db.session.scalar(
        select(func.max(Notice.revision)).where(
            Notice.request_id == req.id, Notice.kind == notice.kind, Notice.state == NoticeState.ISSUED
        )
    )
    return {
        "verification_code": notice.verification_code,
        "reference": req.reference,
        "kind": notice.kind,
        "title": notice_title(notice.kind),
        "revision": notice.revision,
        "superseded": bool(newest and newest > notice.revision),
        "department": req.department.name(locale),
        "service": req.service.title(locale),
        "issued_at": notice.issued_at,
        "issued": notice.state == NoticeState.ISSUED,
        "sha256": notice.sha256,
        "size": notice.size,
    }
