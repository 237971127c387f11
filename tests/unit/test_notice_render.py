"""Notice rendering: receipt content, PDF/A-3b with bundled fonts, JSON attachment, templates, the job."""

import hashlib
import json
import re
import subprocess
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from extensions import db as _db
from models import Attachment, FormDefinition, FormVersion, Notice, NoticeState, OutboxJob, RequestEvent
from services.errors import InvalidDefinition
from services.formdefs import checksum
from services.notices import CODE_ALPHABET, normalise_code, request_notice
from services.notices.context import verify_url
from services.notices.files import notice_dir, notice_file_path
from services.notices.issue import issue_notice_job, mark_notice_failed
from services.notices.templates import check_template, get_template, publish_template
from services.seed import SeedReport
from services.seed.notices import seed_notice_templates
from tests.factories import ServiceFactory, ServiceRequestFactory
from tests.unit.notice_helpers import issue_notice

FORM = {
    "schema_version": 1,
    "title": {"de": "Antrag", "en": "Application"},
    "pages": [
        {
            "key": "person",
            "title": {"de": "Zur Person", "en": "Person"},
            "fields": [
                {
                    "key": "name",
                    "type": "text",
                    "label": {"de": "Name", "en": "Name"},
                    "required": True,
                    "privacy": "personal",
                },
                {
                    "key": "geburtstag",
                    "type": "date",
                    "label": {"de": "Geburtsdatum", "en": "Birth date"},
                    "required": True,
                    "privacy": "personal",
                },
                {
                    "key": "anschrift",
                    "type": "address",
                    "label": {"de": "Anschrift", "en": "Address"},
                    "required": True,
                    "privacy": "personal",
                },
            ],
        },
        {
            "key": "antrag",
            "title": {"de": "Zum Antrag", "en": "Application"},
            "fields": [
                {
                    "key": "betrag",
                    "type": "money",
                    "label": {"de": "Kaution", "en": "Deposit"},
                    "required": True,
                    "privacy": "public",
                },
                {
                    "key": "eilig",
                    "type": "yesno",
                    "label": {"de": "Eilbedürftig", "en": "Urgent"},
                    "required": True,
                    "privacy": "public",
                },
                {
                    "key": "nachweis",
                    "type": "file",
                    "label": {"de": "Nachweis", "en": "Proof"},
                    "required": False,
                    "privacy": "personal",
                },
            ],
        },
    ],
}
ANSWERS = {
    "name": "Erika Mustermann",
    "geburtstag": "1980-02-29",
    "anschrift": {"street": "Königstraße", "number": "12a", "postcode": "47051", "city": "Duisburg"},
    "betrag": 123450,
    "eilig": True,
    "nachweis": [
        {
            "id": "f1",
            "name": "nachweis.pdf",
            "size": 2048,
            "mime": "application/pdf",
            "sha256": "c0ffee" + "0" * 58,
        }
    ],
}


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "n.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _request_with_form():
    service = ServiceFactory(title_de="Sondernutzungserlaubnis")
    definition = FormDefinition(service=service, draft=FORM)
    _db.session.add(FormVersion(definition=definition, number=1, document=FORM, checksum=checksum(FORM)))
    _db.session.flush()
    req = ServiceRequestFactory(service=service, answers=ANSWERS, applicant_name="Erika Mustermann")
    _db.session.add(
        Attachment(
            request=req,
            field_key="nachweis",
            original_name="nachweis.pdf",
            stored_name="stored-1",
            mime_type="application/pdf",
            size=2048,
            sha256="c0ffee" + "0" * 58,
        )
    )
    _db.session.flush()
    return req


def _issue(req, kind="receipt", data=None):
    notice = request_notice(req, kind, data=data)
    _db.session.commit()
    issue_notice_job({"notice_id": notice.id})
    _db.session.refresh(notice)
    return notice, notice_file_path(notice).read_bytes()


def test_receipt_lists_every_answer_by_field_type_and_attachment_hashes(db, tmp_path):
    notice, pdf = _issue(_request_with_form())
    text = _pdf_text(pdf, tmp_path)

    assert "Eingangsbestätigung: Sondernutzungserlaubnis" in text
    for expected in (
        "Zur Person",
        "Zum Antrag",
        "Erika Mustermann",
        "29.02.1980",
        "Königstraße 12a",
        "47051 Duisburg",
        "1.234,50",
        "Ja",
        "nachweis.pdf",
        "c0ffee",
    ):
        assert expected in text, expected
    assert notice.request.reference in text
    assert notice.verification_code in text
    assert "Seite 1 von" in text
    assert "Rechtsbehelfsbelehrung" not in text  # a receipt is not an administrative act


def test_decisions_carry_fee_table_and_legal_remedy(db, tmp_path):
    req = _request_with_form()
    _, pdf = _issue(
        req,
        "approval",
        data={
            "text": "Die Sondernutzung wird erlaubt.",
            "fee_items": [{"label": "Grundgebühr", "cents": 2500}, {"label": "Zuschlag", "cents": 570}],
        },
    )
    text = _pdf_text(pdf, tmp_path)
    assert "Die Sondernutzung wird erlaubt." in text
    assert "Grundgebühr" in text and "25,00 €" in text and "30,70 €" in text
    assert "Rechtsbehelfsbelehrung" in text and "Verwaltungsgericht Düsseldorf" in text


@pytest.mark.parametrize(
    ("kind", "data", "printed"),
    [
        ("rejection", {"reason": "Der Stellplatz liegt außerhalb der Bewohnerparkzone."}, "außerhalb der"),
        ("information_request", {"message": "Bitte reichen Sie den Fahrzeugschein nach."}, "Fahrzeugschein"),
    ],
)
def test_shipped_templates_print_what_the_shipped_workflow_asks_the_clerk(db, tmp_path, kind, data, printed):
    """The shipped "ablehnen" asks for `reason`, "rueckfrage_stellen" for `message`: both reach the PDF."""
    _notice, pdf = _issue(_request_with_form(), kind, data=data)
    assert printed in " ".join(_pdf_text(pdf, tmp_path).split())


def test_pdf_is_pdf_a_3b_with_bundled_fonts_and_json_attachment(db, tmp_path):
    notice, pdf = _issue(_request_with_form(), "rejection", data={"reasons": "Fehlende Unterlagen."})
    path = tmp_path / "n.pdf"
    path.write_bytes(pdf)

    meta = subprocess.run(["pdfinfo", "-meta", str(path)], capture_output=True, text=True, check=True).stdout
    # PDF/A identification must survive signing (pyHanko rewrites the XMP packet).
    assert re.search(r'pdfaid:part(="|>)3', meta) and re.search(r'pdfaid:conformance(="|>)B', meta), meta
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    font_names = [line.split()[0] for line in fonts.splitlines()[2:]]
    assert font_names and all("Fira-Sans" in name for name in font_names), fonts

    reader = PdfFileReader(BytesIO(pdf))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert str(names[0]) == "bescheid.json"
    spec = names[1].get_object()
    assert str(spec["/AFRelationship"]) == "/Data"
    body = json.loads(spec["/EF"]["/F"].get_object().data)
    assert body["verification_code"] == notice.verification_code
    assert body["reference"] == notice.request.reference and body["kind"] == "rejection"
    assert body["decision"] == {"reasons": "Fehlende Unterlagen."}


def test_qr_code_on_the_notice_decodes_to_its_verification_link(db, tmp_path):
    import zxingcpp
    from PIL import Image

    notice, pdf = _issue(_request_with_form(), "approval", data={"text": "Erlaubt."})
    path = tmp_path / "n.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page")], check=True)
    decoded = [
        result.text
        for page in sorted(tmp_path.glob("page*.png"))
        for result in zxingcpp.read_barcodes(Image.open(page))
    ]
    assert decoded == [verify_url(notice.verification_code)]


def test_request_notice_numbers_revisions_and_records_job(db):
    req = ServiceRequestFactory()
    first = request_notice(req, "approval", data={"text": "a"})
    second = request_notice(req, "approval")
    other = request_notice(req, "fee")

    assert (first.revision, second.revision, other.revision) == (1, 2, 1)
    assert first.state == NoticeState.PENDING and first.public_id
    assert len({first.verification_code, second.verification_code, other.verification_code}) == 3
    assert len(first.verification_code.replace("-", "")) == 12
    assert set(first.verification_code.replace("-", "")) <= set(CODE_ALPHABET)
    jobs = db.session.scalars(db.select(OutboxJob).where(OutboxJob.kind == "render_notice")).all()
    assert sorted(j.payload["notice_id"] for j in jobs) == sorted([first.id, second.id, other.id])


def test_request_notice_refuses_unknown_kind(db):
    from services.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        request_notice(ServiceRequestFactory(), "mahnung")


def test_normalise_code_accepts_typing_variants():
    assert normalise_code(" abcd efgh-jkmn ") == "ABCD-EFGH-JKMN"
    assert normalise_code("ABCD-EFGH-JKM0") is None  # 0 is not in the alphabet
    assert normalise_code("ABCD") is None


def test_issue_job_is_idempotent_and_file_matches_row(db):
    notice, pdf = issue_notice("approval")
    assert hashlib.sha256(pdf).hexdigest() == notice.sha256
    assert notice_file_path(notice).name == notice.file_name
    files_before = sorted(p.name for p in notice_dir().iterdir())
    events_before = db.session.query(RequestEvent).filter_by(kind="notice_issued").count()

    issue_notice_job({"notice_id": notice.id})

    assert sorted(p.name for p in notice_dir().iterdir()) == files_before
    assert db.session.query(RequestEvent).filter_by(kind="notice_issued").count() == events_before == 1
    event = db.session.query(RequestEvent).filter_by(kind="notice_issued").one()
    assert event.visible_to_citizen and event.data["sha256"] == notice.sha256


def test_issue_job_removes_file_when_commit_fails(db, monkeypatch):
    req = ServiceRequestFactory()
    notice = request_notice(req, "approval")
    db.session.commit()
    before = set(notice_dir().iterdir())

    def broken_commit():
        raise RuntimeError("database went away")

    monkeypatch.setattr(db.session, "commit", broken_commit)
    with pytest.raises(RuntimeError):
        issue_notice_job({"notice_id": notice.id})
    monkeypatch.undo()

    assert set(notice_dir().iterdir()) == before  # neither file nor row
    fresh = db.session.get(Notice, notice.id)
    assert fresh.state == NoticeState.PENDING and fresh.file_name is None


def test_mark_notice_failed_records_error_for_clerks(db):
    req = ServiceRequestFactory()
    notice = request_notice(req, "fee")
    mark_notice_failed(notice.id, "Vorlage fehlerhaft")
    assert notice.state == NoticeState.FAILED and notice.error == "Vorlage fehlerhaft"
    event = db.session.query(RequestEvent).filter_by(kind="notice_failed").one()
    assert not event.visible_to_citizen


def test_seeded_templates_are_used_and_seeding_is_idempotent(db):
    first = SeedReport()
    seed_notice_templates(first)
    again = SeedReport()
    seed_notice_templates(again)
    assert first.counts["notice_templates"]["created"] == 5
    assert again.changed == 0

    notice, _ = issue_notice("information_request", data={"documents": ["Meldebescheinigung"]})
    assert notice.template_version_id == get_template(None, "information_request").latest.id


def test_service_template_overrides_city_default(db, tmp_path):
    seed_notice_templates(SeedReport())
    req = ServiceRequestFactory()
    from models import NoticeTemplate

    template = NoticeTemplate(
        service_id=req.service_id,
        kind="approval",
        draft_css="h1 { color: #333; }",
        draft_html='{% extends "approval.html" %}{% block inhalt %}<p>Sondertext '
        "{{ service.title }}</p>{% endblock %}",
    )
    db.session.add(template)
    version = publish_template(template, actor=None, change_note="eigene Vorlage")
    notice, pdf = _issue(req, "approval")
    assert notice.template_version_id == version.id
    assert f"Sondertext {req.service.title_de}" in _pdf_text(pdf, tmp_path)


def test_publish_refuses_template_that_does_not_render(db):
    from models import NoticeTemplate

    template = NoticeTemplate(service_id=None, kind="approval", draft_html="{% if %}kaputt", draft_css="")
    db.session.add(template)
    with pytest.raises(InvalidDefinition) as err:
        publish_template(template)
    assert err.value.errors[0][0] == "html"
    assert template.versions == []


@pytest.mark.parametrize("kind", ["receipt", "approval", "rejection", "information_request", "fee"])
def test_bundled_templates_pass_the_publish_check(kind):
    from services.notices.context import bundled_source

    assert check_template(kind, bundled_source(kind)) == []


def test_render_notice_job_runs_through_the_outbox_registry(db):
    from workers.inline import run_outbox_job

    req = ServiceRequestFactory()
    notice = request_notice(req, "receipt")
    db.session.commit()
    job = db.session.scalars(db.select(OutboxJob).where(OutboxJob.kind == "render_notice")).one()

    run_outbox_job(job.id)

    db.session.refresh(notice)
    assert notice.state == NoticeState.ISSUED and notice_file_path(notice) is not None


def test_warm_up_prepares_every_department_seal(db, app):
    from pathlib import Path

    from services.notices import warm_up
    from tests.factories import DepartmentFactory

    departments = [DepartmentFactory(), DepartmentFactory()]
    db.session.commit()
    warm_up()
    seals = Path(app.config["PKI_DIR"]) / "seals"
    assert all((seals / f"{d.slug}.cert.pem").exists() for d in departments)


def test_notice_is_addressed_to_the_applicant_not_the_place_of_use(db):
    """Sondernutzung asks for the place of use first: the approval still goes to the applicant's home."""
    from models.base import new_public_id
    from services.notices.context import build_context
    from services.seed.forms import demo_documents

    document = demo_documents()["sondernutzungserlaubnis"]
    service = ServiceFactory(title_de="Sondernutzungserlaubnis")
    definition = FormDefinition(service=service, draft=document)
    version = FormVersion(definition=definition, number=1, document=document, checksum=checksum(document))
    _db.session.add(version)
    _db.session.flush()
    answers = {
        "ort": {"street": "Sonnenwall", "number": "5", "postcode": "47051", "city": "Duisburg"},
        "vorname": "Erika", "nachname": "Mustermann",
        "anschrift": {"street": "Heerstraße", "number": "12", "postcode": "47053", "city": "Duisburg"},
    }  # fmt: skip
    req = ServiceRequestFactory(service=service, form_version=version, answers=answers)
    notice = Notice(
        public_id=new_public_id(), request_id=req.id, kind="approval", verification_code="AAAA-BBBB-CCCC"
    )
    _db.session.add(notice)
    _db.session.flush()
    assert build_context(notice)["applicant"]["address_lines"] == ["Heerstraße 12", "47053 Duisburg"]
