"""The citizen journey without an account: fill, log in or register on the way (drafts adopted),
or submit anonymously where the service allows it and follow the request through its status link."""

import re
from urllib.parse import quote

from flask import g
from flask_babel import refresh
from sqlalchemy import func, select

from extensions import limiter
from models import Attachment, Draft, InboxItem, Message, OutboxJob, Service, ServiceRequest
from models.base import utcnow
from services.formdefs import latest_version, load_spec
from services.messages import run_clerk_transition
from services.tokens import request_access_token, token_digest
from tests.factories import PASSWORD, CitizenFactory, clerk_of
from tests.web.journey import (
    PDF,
    SEEDED_JOURNEYS,
    TEST_ANSWERS,
    fill_all_pages,
    seeded,
    start_draft,
    test_service,
)

FIXTURES = (seeded, test_service)  # imported for pytest
ANON_SERVICE = "sondernutzungserlaubnis"  # seeded with login_required=False


def _spec(service):
    return load_spec(latest_version(service))


def _draft(db, draft_id):
    db.session.expire_all()
    return db.session.scalar(select(Draft).where(Draft.public_id == draft_id))


def _fresh_client(app):
    g.pop("_login_user", None)
    return app.test_client()


def _fill_test_service(client, test_service):
    draft_id = start_draft(client, test_service.slug)
    location = fill_all_pages(client, draft_id, _spec(test_service), TEST_ANSWERS,
                              {"dokument": [(PDF, "nachweis.pdf")]})
    assert location.endswith(f"/antrag/{draft_id}/pruefen")
    return draft_id


def _login(client, user, next_url=None):
    url = "/anmelden" + (f"?next={quote(next_url)}" if next_url else "")
    return client.post(url, data={"email": user.email, "password": PASSWORD})


# --- services that require login (the default) -------------------------------------------------


def test_anonymous_fill_then_login_adopts_draft_and_returns_to_review(app, client, db, test_service):
    draft_id = _fill_test_service(client, test_service)
    draft = _draft(db, draft_id)
    assert draft.user_id is None and draft.anon_token_hash and len(draft.answers["hunde"]) == 2
    page = client.get(f"/antrag/{draft_id}/person").get_data(as_text=True)
    assert "nur für diesen Besuch gespeichert" in page and "später fortsetzen" not in page
    assert f"/anmelden?next=/antrag/{draft_id}/person" in page

    review = client.get(f"/antrag/{draft_id}/pruefen").get_data(as_text=True)
    review_url = f"/antrag/{draft_id}/pruefen"
    assert "Zum Absenden anmelden" in review and "Antrag verbindlich absenden" not in review
    assert f'href="/anmelden?next={review_url}"' in review
    assert f'href="/registrieren?next={review_url}"' in review
    refused = client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y"})
    assert refused.status_code == 302 and "/anmelden?next=" in refused.headers["Location"]
    assert db.session.scalar(select(ServiceRequest)) is None

    user = CitizenFactory()
    db.session.commit()
    resp = _login(client, user, review_url)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(review_url)
    draft = _draft(db, draft_id)
    assert (draft.user_id, draft.anon_token_hash) == (user.id, None)
    assert db.session.scalar(select(Attachment.uploaded_by_id)) == user.id
    assert test_service.title_de in client.get("/meine-antraege").get_data(as_text=True)
    done = client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y"})
    assert done.status_code == 302 and "/bestaetigung" in done.headers["Location"]
    req = db.session.scalar(select(ServiceRequest))
    assert req.applicant_id == user.id and req.contact_email is None and req.access_token_hash is None


def test_register_confirm_and_login_during_the_visit_returns_to_review(app, client, db, test_service):
    from models import User
    from services.tokens import make_token

    draft_id = _fill_test_service(client, test_service)
    review_url = f"/antrag/{draft_id}/pruefen"
    register = client.post(f"/registrieren?next={quote(review_url)}", data={
        "full_name": "Erika Neu", "email": "neu@example.org", "password": "ein langer sicherer Satz",
        "password_confirm": "ein langer sicherer Satz",
    })
    assert register.status_code == 303, register.get_data(as_text=True)[:2000]
    user = db.session.scalar(select(User).where(User.email == "neu@example.org"))
    confirmed = client.post(f"/bestaetigen/{make_token('confirm', user)}")
    assert confirmed.status_code == 303
    resp = client.post("/anmelden", data={"email": "neu@example.org", "password": "ein langer sicherer Satz"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(review_url)
    assert _draft(db, draft_id).user_id == user.id
    assert "Antrag verbindlich absenden" in client.get(review_url).get_data(as_text=True)


def test_anonymous_drafts_stay_with_their_browser_session(app, client, db, test_service):
    draft_id = start_draft(client, test_service.slug)
    other = _fresh_client(app)
    resp = other.get(f"/antrag/{draft_id}/person")
    assert resp.status_code == 302 and "/anmelden" in resp.headers["Location"]
    assert other.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y"}).status_code == 302
    stranger = CitizenFactory()
    db.session.commit()
    _login(other, stranger)
    assert other.get(f"/antrag/{draft_id}/person").status_code == 404
    assert other.get(f"/antrag/{draft_id}/pruefen").status_code == 404
    assert "Angefangene" in other.get("/meine-antraege").get_data(as_text=True)
    assert test_service.title_de not in other.get("/meine-antraege").get_data(as_text=True)
    # Logging in elsewhere adopts nothing of this session's drafts.
    assert _draft(db, draft_id).user_id is None


def test_expired_anonymous_draft_is_gone_for_its_session(app, client, db, test_service):
    from datetime import timedelta

    from models.base import utcnow

    draft_id = start_draft(client, test_service.slug)
    draft = _draft(db, draft_id)
    draft.updated_at = utcnow() - timedelta(minutes=app.config["ANONYMOUS_DRAFT_TTL_MINUTES"] + 1)
    db.session.commit()
    resp = client.get(f"/antrag/{draft_id}/person")
    assert resp.status_code == 302 and "/anmelden" in resp.headers["Location"]


def test_anonymous_starts_are_rate_limited(app, client, db, test_service, monkeypatch):
    monkeypatch.setitem(app.config, "ANONYMOUS_START_RATE_LIMIT", "2 per minute")
    limiter.reset()
    assert [client.post("/antrag/testantrag/starten").status_code for _ in range(3)] == [302, 302, 429]
    user = CitizenFactory()
    db.session.commit()
    _login(client, user)
    assert client.post("/antrag/testantrag/starten").status_code == 302  # accounts are not limited


# --- services that allow anonymous submission ---------------------------------------------------


def _submit_anonymously(client, db):
    service = db.session.scalar(select(Service).where(Service.slug == ANON_SERVICE))
    answers, files, _fee = SEEDED_JOURNEYS[ANON_SERVICE]
    draft_id = start_draft(client, ANON_SERVICE)
    fill_all_pages(client, draft_id, _spec(service), answers, files)
    return draft_id


def test_anonymous_submission_with_contact_address_and_status_link(app, client, db, seeded):
    draft_id = _submit_anonymously(client, db)
    review = client.get(f"/antrag/{draft_id}/pruefen").get_data(as_text=True)
    assert "E-Mail-Adresse für Rückmeldungen" in review and 'value="erika@example.org"' in review
    assert "Zum Absenden anmelden" not in review

    bad = client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y", "email": "erika@"})
    assert bad.status_code == 400 and "Fehler: " in bad.get_data(as_text=True)
    assert "gültige E-Mail-Adresse" in bad.get_data(as_text=True)
    stamp = re.search(r'name="checked" value="([0-9a-f]{64})"', review).group(1)  # the answers validated
    done = client.post(f"/antrag/{draft_id}/absenden",
                       data={"declaration": "y", "email": "kontakt@example.org", "checked": stamp})
    assert done.status_code == 302 and "/bestaetigung" in done.headers["Location"]

    req = db.session.scalar(select(ServiceRequest))
    token = request_access_token(req.public_id)
    assert req.applicant_id is None and req.contact_email == "kontakt@example.org"
    assert req.access_token_hash == token_digest(token) and req.applicant_name == "Erika Mustermann"
    confirmation = client.get(done.headers["Location"]).get_data(as_text=True)
    assert req.reference in confirmation and f"/antraege/{req.public_id}/zugang/{token}" in confirmation
    assert "Meine Anträge" not in confirmation.split("<main", 1)[-1].split("</main>")[0]
    assert db.session.scalar(select(OutboxJob).where(
        OutboxJob.payload["template"].as_string() == "request_access_link")) is not None
    detail = client.get(f"/antraege/{req.public_id}").get_data(as_text=True)
    assert "Gehweg vor dem Haus" in detail and "Ihr persönlicher Link zum Antrag" in detail
    attachment = db.session.scalar(select(Attachment).where(Attachment.request_id == req.id))
    download = client.get(f"/antraege/{req.public_id}/dateien/{attachment.public_id}")
    assert download.status_code == 200 and download.data == PDF
    download.close()


def test_anonymous_submits_are_rate_limited(app, client, db, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "ANONYMOUS_SUBMIT_RATE_LIMIT", "2 per minute;50 per hour")
    limiter.reset()
    draft_id = _submit_anonymously(client, db)
    bad = {"declaration": "y", "email": "erika@"}  # refused, but each try counts
    codes = [client.post(f"/antrag/{draft_id}/absenden", data=bad).status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    assert "Zu viele Versuche" in client.post(f"/antrag/{draft_id}/absenden", data=bad).get_data(as_text=True)
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 0


def test_status_link_opens_the_request_in_another_browser_only_with_the_token(app, client, db, seeded):
    draft_id = _submit_anonymously(client, db)
    client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y", "email": "kontakt@example.org"})
    req = db.session.scalar(select(ServiceRequest))
    token = request_access_token(req.public_id)

    other = _fresh_client(app)
    resp = other.get(f"/antraege/{req.public_id}")
    assert resp.status_code == 302 and "/anmelden" in resp.headers["Location"]  # nothing without the link
    assert other.get(f"/antraege/{req.public_id}/zugang/{'A' * 43}").status_code == 404
    assert other.get(f"/antraege/{'0' * 32}/zugang/{token}").status_code == 404
    other_req_token = request_access_token("f" * 32)
    assert other.get(f"/antraege/{req.public_id}/zugang/{other_req_token}").status_code == 404
    assert other.get(f"/antraege/{req.public_id}").status_code == 302

    opened = other.get(f"/antraege/{req.public_id}/zugang/{token}")
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/antraege/{req.public_id}")
    page = other.get(f"/antraege/{req.public_id}").get_data(as_text=True)
    assert req.reference in page and "Verlauf Ihres Antrags" in page

    stranger = _fresh_client(app)
    user = CitizenFactory()
    db.session.commit()
    _login(stranger, user)
    assert stranger.get(f"/antraege/{req.public_id}").status_code == 404
    # A draft that became a request is not the submitter's session's any more for others either.
    assert stranger.get(f"/antrag/{draft_id}/pruefen").status_code == 404


def test_status_link_holder_answers_question_withdraws_and_gets_mail(app, client, db, seeded):
    draft_id = _submit_anonymously(client, db)
    client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y", "email": "kontakt@example.org"})
    req = db.session.scalar(select(ServiceRequest))
    clerk = clerk_of(req.department)
    run_clerk_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    run_clerk_transition(req, "rueckfrage_stellen", clerk, {"message": "Bitte Skizze mit Maßen."},
                         req.row_version)
    db.session.commit()
    mails = db.session.scalars(select(OutboxJob).where(OutboxJob.kind == "send_email")).all()
    templates = {job.payload["template"]: job.payload for job in mails}
    assert templates["request_information_requested"]["user_id"] is None  # goes to the contact address
    assert db.session.scalar(select(InboxItem)) is None

    holder = _fresh_client(app)
    holder.get(f"/antraege/{req.public_id}/zugang/{request_access_token(req.public_id)}")
    page = holder.get(f"/antraege/{req.public_id}").get_data(as_text=True)
    assert "Bitte Skizze mit Maßen." in page and "Antrag zurückziehen" in page
    question = db.session.scalar(select(Message).where(Message.from_citizen.is_(False)))
    db.session.refresh(req)
    answered = holder.post(f"/antraege/{req.public_id}/rueckfrage/{question.id}", data={
        f"q{question.id}-body": "Skizze folgt anbei.", f"q{question.id}-row_version": str(req.row_version),
    })
    assert answered.status_code == 303
    answer = db.session.scalar(select(Message).where(Message.from_citizen.is_(True)))
    assert answer.body == "Skizze folgt anbei." and answer.author_id is None

    # The clerks see the request with its contact address; the CSV export and dashboard work.
    limiter.reset()
    staff = _fresh_client(app)
    _login(staff, clerk)
    detail = staff.get(f"/sachbearbeitung/antraege/{req.public_id}").get_data(as_text=True)
    assert "kontakt@example.org" in detail and "Erika Mustermann" in detail
    assert "– Antragsteller:in</p>" in detail  # the answer's transition, by the status link's holder
    export = staff.get("/sachbearbeitung/export.csv")
    assert export.status_code == 200 and req.reference in export.get_data(as_text=True)
    assert staff.get("/sachbearbeitung/uebersicht").status_code == 200

    db.session.expire_all()
    req = db.session.scalar(select(ServiceRequest))
    assert holder.get(f"/antraege/{req.public_id}/zurueckziehen").status_code == 200
    withdrawn = holder.post(f"/antraege/{req.public_id}/zurueckziehen",
                            data={"confirm": "y", "row_version": str(req.row_version)})
    assert withdrawn.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(ServiceRequest.closed_at)) is not None
    templates = {job.payload.get("template") for job in db.session.scalars(select(OutboxJob))}
    assert "request_withdrawn" in templates


def test_lost_status_link_is_sent_again_without_revealing_whether_a_request_matched(
    app, client, db, seeded
):
    draft_id = _submit_anonymously(client, db)
    client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y", "email": "kontakt@example.org"})
    req = db.session.scalar(select(ServiceRequest))
    stranger = _fresh_client(app)

    def resent():
        query = select(OutboxJob).where(
            OutboxJob.payload["template"].as_string() == "request_access_link_again"
        )
        return db.session.scalars(query).all()

    form = stranger.get("/antraege/statuslink").get_data(as_text=True)
    assert "Aktenzeichen" in form and "E-Mail-Adresse, die Sie beim Absenden angegeben haben" in form
    assert "/antraege/statuslink" in stranger.get("/anmelden").get_data(as_text=True)
    empty = stranger.post("/antraege/statuslink", data={"reference": "", "email": ""})
    assert empty.status_code == 400 and "Fehler: " in empty.get_data(as_text=True)

    wrong = stranger.post("/antraege/statuslink", data={"reference": req.reference, "email": "x@example.org"})
    right = stranger.post(
        "/antraege/statuslink", data={"reference": req.reference, "email": "kontakt@example.org"}
    )
    assert wrong.status_code == right.status_code == 303
    assert wrong.headers["Location"] == right.headers["Location"] == "/antraege/statuslink/gesendet"
    (job,) = resent()
    assert job.payload["request_id"] == req.id and job.payload["user_id"] is None
    sent = stranger.get("/antraege/statuslink/gesendet").get_data(as_text=True)
    assert "Wenn Aktenzeichen und E-Mail-Adresse" in sent and req.reference not in sent


def test_status_link_requests_are_rate_limited(app, client, db, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "STATUS_LINK_RESEND_RATE_LIMIT", "2 per hour")
    limiter.reset()
    data = {"reference": "DU-2026-000001", "email": "a@example.org"}
    assert [client.post("/antraege/statuslink", data=data).status_code for _ in range(3)] == [303, 303, 429]
    assert client.get("/antraege/statuslink").status_code == 200  # only sending is limited


def _assert_explains_retired_link(page):
    """Not a bare 404: why the link stopped working, and the two ways on (sign in, new link)."""
    assert "Dieser Link gilt nicht mehr" in page and "einem Benutzerkonto zugeordnet" in page
    assert 'href="/anmelden?next=/meine-antraege"' in page and 'href="/antraege/statuslink"' in page


def test_requests_submitted_without_an_account_can_be_taken_into_the_account(app, client, db, seeded):
    """Confirmed address = the mailbox the status link went to: "Meine Anträge" offers the request."""
    draft_id = _submit_anonymously(client, db)
    client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y", "email": "Kontakt@Example.org"})
    req = db.session.scalar(select(ServiceRequest))
    token = request_access_token(req.public_id)
    owner = CitizenFactory(email="KONTAKT@example.org", email_confirmed_at=None)
    stranger = CitizenFactory()
    db.session.commit()

    browser = _fresh_client(app)
    _login(browser, stranger)
    assert "Ohne Benutzerkonto gestellte Anträge" not in browser.get("/meine-antraege").get_data(as_text=True)
    assert browser.post(f"/meine-antraege/zuordnen/{req.public_id}").status_code == 404  # not their address
    browser = _fresh_client(app)
    _login(browser, owner)
    assert "Ohne Benutzerkonto gestellte Anträge" not in browser.get("/meine-antraege").get_data(as_text=True)
    assert browser.post(f"/meine-antraege/zuordnen/{req.public_id}").status_code == 404  # not confirmed yet

    owner.email_confirmed_at = utcnow()
    db.session.commit()
    page = browser.get("/meine-antraege").get_data(as_text=True)
    offered = page.split('id="ohne-konto"', 1)[1]
    assert req.reference in offered and f"/meine-antraege/zuordnen/{req.public_id}" in offered
    assert "unter „Gestellte Anträge“" in offered  # names the heading the linked request moves under
    refresh()  # the test's app context outlives the request: forget its German locale
    english = browser.get("/meine-antraege?lang=en").get_data(as_text=True)
    assert "Submitted applications" in english.split('id="ohne-konto"', 1)[1]
    refresh()
    browser.get("/meine-antraege?lang=de")
    refresh()
    done = browser.post(f"/meine-antraege/zuordnen/{req.public_id}")
    assert done.status_code == 302 and done.headers["Location"].endswith("/meine-antraege")
    page = browser.get("/meine-antraege").get_data(as_text=True)
    assert "jetzt Ihrem Benutzerkonto zugeordnet" in page and 'id="ohne-konto"' not in page
    assert f'href="/antraege/{req.public_id}"' in page  # now among "Gestellte Anträge"
    detail = browser.get(f"/antraege/{req.public_id}").get_data(as_text=True)
    assert "Ihrem Benutzerkonto zugeordnet" in detail  # in the citizen's history

    db.session.expire_all()
    req = db.session.get(ServiceRequest, req.id)
    assert req.applicant_id == owner.id and req.access_token_hash is None
    assert browser.post(f"/meine-antraege/zuordnen/{req.public_id}").status_code == 404  # only once
    link_only = _fresh_client(app)
    retired = link_only.get(f"/antraege/{req.public_id}/zugang/{token}")
    assert retired.status_code == 404
    _assert_explains_retired_link(retired.get_data(as_text=True))


def test_status_link_holder_renews_the_link_and_the_old_one_stops_working(app, client, db, seeded):
    draft_id = _submit_anonymously(client, db)
    client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y", "email": "kontakt@example.org"})
    req = db.session.scalar(select(ServiceRequest))
    old = request_access_token(req.public_id)
    shared = _fresh_client(app)  # someone the link was forwarded to
    assert shared.get(f"/antraege/{req.public_id}/zugang/{old}").status_code == 303

    detail = client.get(f"/antraege/{req.public_id}").get_data(as_text=True)
    assert f"/antraege/{req.public_id}/zugang/erneuern" in detail and "Link erneuern" in detail
    done = client.post(f"/antraege/{req.public_id}/zugang/erneuern")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/antraege/{req.public_id}")
    page = client.get(f"/antraege/{req.public_id}").get_data(as_text=True)  # this browser keeps access
    new = request_access_token(req.public_id, 1)
    assert "bisheriger persönlicher Link gilt nicht mehr" in page and f"/zugang/{new}" in page

    assert shared.get(f"/antraege/{req.public_id}").status_code == 302  # its session token is dead now
    retired = _fresh_client(app).get(f"/antraege/{req.public_id}/zugang/{old}")
    assert retired.status_code == 404
    _assert_explains_retired_link(retired.get_data(as_text=True))
    assert _fresh_client(app).get(f"/antraege/{req.public_id}/zugang/{new}").status_code == 303
    assert shared.post(f"/antraege/{req.public_id}/zugang/erneuern").status_code == 302  # to the login page
    assert db.session.scalar(select(OutboxJob).where(
        OutboxJob.payload["template"].as_string() == "request_access_link_renewed")) is not None
