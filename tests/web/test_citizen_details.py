"""Details of the citizen side found in testing: date rules on the seeded forms, downloads, a11y."""

from datetime import UTC, datetime

import pytest
from flask_babel import refresh
from sqlalchemy import select

from models import Draft, Notice, NoticeState, Service
from models.base import new_public_id
from services.formdefs import latest_version, load_spec
from services.messages import run_clerk_transition
from services.notices.files import ascii_file_name, notice_dir
from tests.factories import CitizenFactory, ServiceRequestFactory, clerk_of, started_request
from tests.web.journey import (
    PDF,
    SEEDED_JOURNEYS,
    TEST_ANSWERS,
    fill_all_pages,
    page_formdata,
    seeded,
    seeded_citizen,
    start_draft,
    test_service,
)

FIXTURES = (seeded, seeded_citizen, test_service)  # imported for pytest


def _spec(db, slug):
    return load_spec(latest_version(db.session.scalar(select(Service).where(Service.slug == slug))))


def _post_page(client, draft_id, page, answers, files=None):
    return client.post(
        f"/antrag/{draft_id}/{page.key}",
        data=page_formdata(page, answers, files),
        content_type="multipart/form-data",
    )


def test_seeded_special_use_permit_refuses_an_end_before_the_start(client, db, seeded_citizen):
    spec = _spec(db, "sondernutzungserlaubnis")
    answers = dict(SEEDED_JOURNEYS["sondernutzungserlaubnis"][0])
    answers["von"], answers["bis"] = answers["bis"], answers["von"]  # 12 days ahead .. 10 days ahead
    draft_id = start_draft(client, "sondernutzungserlaubnis")
    page = spec.page_of("bis")
    resp = _post_page(client, draft_id, page, answers, {"skizze": [(PDF, "skizze.pdf")]})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Das Datum darf nicht vor dem Datum bei „Nutzung ab“" in body and 'href="#bis-day"' in body
    db.session.expire_all()
    assert "bis" not in db.session.scalar(select(Draft).where(Draft.public_id == draft_id)).answers


def test_seeded_dog_tax_refuses_a_dog_kept_before_it_was_born(client, db, seeded_citizen):
    spec = _spec(db, "hundesteuer-anmeldung")
    answers = dict(SEEDED_JOURNEYS["hundesteuer-anmeldung"][0])
    answers["hunde"] = [dict(answers["hunde"][0], wurfdatum="2021-06-01", haltungsbeginn="2021-01-01")]
    draft_id = start_draft(client, "hundesteuer-anmeldung")
    resp = _post_page(client, draft_id, spec.page_of("hunde"), answers)
    assert resp.status_code == 400
    assert "Das Datum darf nicht vor dem Datum bei „Geburtsdatum des Hundes (ungefähr)“ (01.06.2021)" in (
        resp.get_data(as_text=True)
    )


def test_my_requests_shows_dates_in_the_chosen_language(client, db, seeded_citizen):
    draft_id = start_draft(client, "sondernutzungserlaubnis")
    draft = db.session.scalar(select(Draft).where(Draft.public_id == draft_id))
    draft.updated_at = datetime(2026, 12, 4, 4, 1, tzinfo=UTC)  # 05:01 in Duisburg
    db.session.commit()
    german = client.get("/meine-antraege?lang=de").get_data(as_text=True)
    assert "Zuletzt gespeichert: 04.12.2026, 05:01" in german
    refresh()  # the tests share one app context, which caches the locale
    english = client.get("/meine-antraege?lang=en").get_data(as_text=True)
    assert "4 December 2026, 5:01\u202fAM" in english and "04.12.2026" not in english


@pytest.mark.parametrize(
    ("kind", "revision", "lang", "expected"),
    [
        (
            "receipt", 1, "de",
            "attachment; filename=\"Eingangsbestaetigung-DU-2026-000004.pdf\"; "
            "filename*=UTF-8''Eingangsbest%C3%A4tigung-DU-2026-000004.pdf",
        ),
        ("approval", 2, "de", "filename*=UTF-8''Bescheid-Genehmigung-DU-2026-000004-2.pdf"),
    ],
)  # fmt: skip
def test_notice_download_name_is_readable_per_kind(client, db, login_as, kind, revision, lang, expected):
    citizen = login_as(CitizenFactory())
    req = ServiceRequestFactory(applicant=citizen, reference="DU-2026-000004")
    notice = Notice(public_id=new_public_id(), request_id=req.id, kind=kind, revision=revision,
                    state=NoticeState.ISSUED, verification_code="ABCD-EFGH-JKMN",
                    file_name="n.pdf")  # fmt: skip
    db.session.add(notice)
    notice_dir().joinpath("n.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    db.session.commit()
    resp = client.get(f"/antraege/{req.public_id}/dokumente/{notice.public_id}?lang={lang}")
    resp.close()
    assert resp.status_code == 200
    assert expected in resp.headers["Content-Disposition"]


def test_notice_download_name_in_english_and_ascii_fallback(client, db, login_as):
    citizen = login_as(CitizenFactory())
    req = ServiceRequestFactory(applicant=citizen, reference="DU-2026-000004")
    notice = Notice(public_id=new_public_id(), request_id=req.id, kind="receipt", state=NoticeState.ISSUED,
                    verification_code="ABCD-EFGH-JKMN", file_name="n.pdf")  # fmt: skip
    db.session.add(notice)
    notice_dir().joinpath("n.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    db.session.commit()
    refresh()
    resp = client.get(f"/antraege/{req.public_id}/dokumente/{notice.public_id}?lang=en")
    resp.close()
    assert 'filename="Acknowledgement-of-receipt-DU-2026-000004.pdf"' in resp.headers["Content-Disposition"]
    assert ascii_file_name("Gebührenbescheid für Groß.pdf") == "Gebuehrenbescheid-fuer-Gross.pdf"


def test_inline_errors_have_a_hidden_prefix_and_only_the_summary_is_an_alert(client):
    data = {"full_name": "Erika", "email": "e@example.org", "password": "kurz", "password_confirm": "kurz"}
    body = client.post("/registrieren", data=data).get_data(as_text=True)
    assert '<span class="kern-sr-only">Fehler: </span>' in body
    assert body.count('role="alert"') == 1 and 'aw-error-summary" role="alert"' in body


def test_form_page_inline_errors_are_not_alerts_either(client, db, login_as, test_service):
    login_as(CitizenFactory())
    draft_id = start_draft(client, "testantrag")
    resp = client.post(f"/antrag/{draft_id}/person", data={"vorname": "", "weiter": "1"})
    body = resp.get_data(as_text=True)
    assert body.count('role="alert"') == 1 and "Fehler: </span>" in body


def test_review_page_links_back_to_the_last_page(client, db, login_as, test_service):
    login_as(CitizenFactory())
    draft_id = start_draft(client, "testantrag")
    spec = load_spec(latest_version(test_service))
    fill_all_pages(client, draft_id, spec, TEST_ANSWERS, {"dokument": [(PDF, "n.pdf")]})
    body = client.get(f"/antrag/{draft_id}/pruefen").get_data(as_text=True)
    assert f'class="kern-link aw-back-link" href="/antrag/{draft_id}/nachweis">Zurück</a>' in body


def test_reply_page_links_back_and_marks_its_errors(client, db, login_as):
    citizen = login_as(CitizenFactory())
    req = started_request(applicant=citizen)
    clerk = clerk_of(req.department)
    run_clerk_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    run_clerk_transition(req, "rueckfrage_stellen", clerk, {"message": "Bitte Skizze."}, req.row_version)
    db.session.commit()
    question = req.messages[-1]
    url = f"/antraege/{req.public_id}/rueckfrage/{question.id}"
    body = client.post(url, data={f"q{question.id}-row_version": str(req.row_version)}).get_data(as_text=True)
    assert f'class="kern-link aw-back-link" href="/antraege/{req.public_id}">Zurück</a>' in body
    assert body.count('role="alert"') == 1 and "Fehler: </span>" in body


def test_seeded_parking_permit_accepts_a_lower_case_number_plate(client, db, seeded_citizen):
    spec = _spec(db, "bewohnerparkausweis")
    answers = dict(SEEDED_JOURNEYS["bewohnerparkausweis"][0], kennzeichen="du-ab 123")
    draft_id = start_draft(client, "bewohnerparkausweis")
    resp = _post_page(client, draft_id, spec.page_of("kennzeichen"), answers)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-3000:]
    db.session.expire_all()
    draft = db.session.scalar(select(Draft).where(Draft.public_id == draft_id))
    assert draft.answers["kennzeichen"] == "DU-AB 123"


def test_favicon_is_served_and_linked(client):
    resp = client.get("/favicon.ico")
    resp.close()
    assert resp.status_code == 200 and resp.mimetype == "image/vnd.microsoft.icon"
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("slug", "page"), [("sondernutzungserlaubnis", "antragsteller"), ("hundesteuer-anmeldung", "halter")]
)
def test_seeded_applicant_fields_are_prefilled_from_the_account(client, db, seeded_citizen, slug, page):
    draft_id = start_draft(client, slug)
    html = client.get(f"/antrag/{draft_id}/{page}").get_data(as_text=True)
    assert 'value="Erika"' in html and 'value="Mustermann"' in html
    assert f'value="{seeded_citizen.email}"' in html
    draft = db.session.scalar(select(Draft).where(Draft.public_id == draft_id))
    assert draft.last_page == ""  # suggestions only: the page still has to be confirmed with "Weiter"
