"""The citizen journey over HTTP: pages, conditions, groups, uploads, drafts, review, submit, access."""

import re

import pytest
from sqlalchemy import func, select

from models import Attachment, Draft, Service, ServiceRequest
from services.formdefs import latest_version, load_spec
from tests.factories import CitizenFactory
from tests.web.journey import (
    PDF,
    PNG,
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
pytestmark = pytest.mark.usefixtures("test_service")


@pytest.fixture
def citizen(db, login_as):
    user = CitizenFactory(full_name="Erika Mustermann")
    db.session.commit()
    return login_as(user)


def _spec(service):
    return load_spec(latest_version(service))


def _page(spec, key):
    return spec.page(key)


def _post(client, draft_id, page_key, data, **query):
    url = f"/antrag/{draft_id}/{page_key}" + (
        f"?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else ""
    )
    return client.post(url, data=data, content_type="multipart/form-data")


def _draft(db, draft_id):
    db.session.expire_all()
    return db.session.scalar(select(Draft).where(Draft.public_id == draft_id))


def _submit(client, draft_id, declaration=True):
    return client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y"} if declaration else {})


def _complete_draft(client, test_service):
    draft_id = start_draft(client, test_service.slug)
    location = fill_all_pages(
        client, draft_id, _spec(test_service), TEST_ANSWERS, {"dokument": [(PDF, "nachweis.pdf")]}
    )
    assert location.endswith(f"/antrag/{draft_id}/pruefen")
    return draft_id


def test_start_page_explains_and_anonymous_start_begins_without_account(client, test_service):
    page = client.get("/antrag/testantrag/starten").get_data(as_text=True)
    assert "Ohne Anmeldung starten" in page and "nur für diesen Besuch" in page
    assert "/anmelden?next=/antrag/testantrag/starten" in page
    resp = client.post("/antrag/testantrag/starten")
    assert resp.status_code == 302 and re.search(r"/antrag/[0-9a-f]{32}/person$", resp.headers["Location"])
    assert client.get("/antrag/unbekannt/starten").status_code == 404


def test_full_journey_with_condition_group_upload_and_submit(client, db, citizen, test_service):
    spec = _spec(test_service)
    draft_id = start_draft(client, "testantrag")
    first = client.get(f"/antrag/{draft_id}/person").get_data(as_text=True)
    assert "Schritt 1 von 3" in first and "novalidate" in first and "Zurück" in first
    resp = _post(client, draft_id, "person", page_formdata(_page(spec, "person"), TEST_ANSWERS))
    assert resp.headers["Location"].endswith(f"/antrag/{draft_id}/firma")  # the condition made it visible
    assert "Schritt 2 von 4" in client.get(f"/antrag/{draft_id}/firma").get_data(as_text=True)
    _post(client, draft_id, "firma", page_formdata(_page(spec, "firma"), TEST_ANSWERS))
    one_dog = {**TEST_ANSWERS, "hunde": TEST_ANSWERS["hunde"][:1]}
    added = _post(
        client, draft_id, "hunde", {**page_formdata(_page(spec, "hunde"), one_dog), "add_item": "hunde"}
    )
    assert added.status_code == 200 and 'name="hunde-1-hundename"' in added.get_data(as_text=True)
    assert (
        _post(client, draft_id, "hunde", page_formdata(_page(spec, "hunde"), TEST_ANSWERS)).status_code == 302
    )
    files = {"dokument": [(PDF, "Nachweis Müller.pdf")]}
    resp = _post(client, draft_id, "nachweis", page_formdata(_page(spec, "nachweis"), TEST_ANSWERS, files))
    assert resp.headers["Location"].endswith(f"/antrag/{draft_id}/pruefen")

    review = client.get(f"/antrag/{draft_id}/pruefen").get_data(as_text=True)
    assert "Angaben prüfen" in review and "Stadtwerke Duisburg" in review and "Luna" in review
    assert "20,00" in review and "Antrag verbindlich absenden" in review
    assert f"/antrag/{draft_id}/hunde?zurueck=pruefen" in review

    refused = _submit(client, draft_id, declaration=False)
    assert refused.status_code == 400 and "Fehler: " in refused.get_data(as_text=True)
    done = _submit(client, draft_id)
    assert done.status_code == 302 and "/bestaetigung" in done.headers["Location"]
    req = db.session.scalar(select(ServiceRequest))
    assert req.answers["hunde"][1]["hundename"] == "Luna" and req.computed["fee_cents"] == 2000
    confirmation = client.get(done.headers["Location"]).get_data(as_text=True)
    assert req.reference in confirmation and "Wie es weitergeht" in confirmation

    detail = client.get(f"/antraege/{req.public_id}").get_data(as_text=True)
    assert "Bello" in detail and "Stadtwerke Duisburg" in detail and req.reference in detail
    attachment = db.session.scalar(select(Attachment).where(Attachment.request_id == req.id))
    link = f"/antraege/{req.public_id}/dateien/{attachment.public_id}"
    assert link in detail
    download = client.get(link)
    assert download.data == PDF and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Nachweis%20M%C3%BCller.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in download.headers["Cache-Control"]
    download.close()


def test_invalid_page_keeps_answers_and_shows_errors(client, citizen, db):
    draft_id = start_draft(client, "testantrag")
    resp = _post(client, draft_id, "person", {"vorname": "Erika", "nachname": "", "weiter": "1"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert re.search(r"<title>\s*Fehler: ", body) and "Es gibt ein Problem" in body
    assert 'value="Erika"' in body and 'href="#nachname"' in body
    assert _draft(db, draft_id).answers == {}


def test_hidden_page_answers_are_dropped_when_condition_changes(client, citizen, db, test_service):
    spec = _spec(test_service)
    draft_id = _complete_draft(client, test_service)
    no_company = {**TEST_ANSWERS, "firmenwagen": False}
    resp = _post(
        client, draft_id, "person", page_formdata(_page(spec, "person"), no_company), zurueck="pruefen"
    )
    assert resp.headers["Location"].endswith(f"/antrag/{draft_id}/pruefen")
    assert "firma_name" not in _draft(db, draft_id).answers
    assert client.get(f"/antrag/{draft_id}/firma").status_code == 404


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (PNG, "foto.pdf", "Typ"),
        (b"", "leer.pdf", "leer"),
        (PDF + b"0" * 3000, "gross.pdf", "zu groß"),  # MAX_UPLOAD_BYTES is lowered to 2 KB below
    ],
)
def test_upload_errors_are_shown_at_the_field(
    app, client, citizen, db, monkeypatch, test_service, content, name, message
):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 2048)
    spec = _spec(test_service)
    draft_id = start_draft(client, "testantrag")
    resp = _post(
        client,
        draft_id,
        "nachweis",
        page_formdata(_page(spec, "nachweis"), {}, {"dokument": [(content, name)]}),
    )
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Attachment.id))) == 0


def test_upload_kept_when_other_field_fails_and_can_be_removed(client, citizen, db, test_service):
    spec = _spec(test_service)
    draft_id = start_draft(client, "testantrag")
    _post(
        client,
        draft_id,
        "nachweis",
        page_formdata(_page(spec, "nachweis"), {}, {"dokument": [(PDF, "a.pdf")]}),
    )
    draft = _draft(db, draft_id)
    [stored] = draft.answers["dokument"]
    page = client.get(f"/antrag/{draft_id}/nachweis").get_data(as_text=True)
    assert "a.pdf" in page and f'name="remove_file" value="{stored["id"]}"' in page
    resp = _post(client, draft_id, "nachweis", {"remove_file": stored["id"]})
    assert resp.status_code == 302
    assert "dokument" not in _draft(db, draft_id).answers or not _draft(db, draft_id).answers["dokument"]
    assert db.session.scalar(select(func.count(Attachment.id))) == 0


@pytest.mark.parametrize("second_tab", ["remove_file", "save_page"])
def test_second_tab_after_submit_keeps_the_requests_file(client, citizen, db, monkeypatch, test_service,
                                                        second_tab):
    """A tab that loaded the draft before the submit (the race): the post is refused, nothing is lost."""
    from sqlalchemy.orm.attributes import set_committed_value

    import views.citizen

    draft_id = _complete_draft(client, test_service)
    [stored] = _draft(db, draft_id).answers["dokument"]
    assert _submit(client, draft_id).status_code == 302
    load = views.citizen.load_draft_for_citizen

    def loaded_before_submit(*args, **kwargs):
        draft = load(*args, **kwargs)
        set_committed_value(draft, "submitted_at", None)
        return draft

    monkeypatch.setattr(views.citizen, "load_draft_for_citizen", loaded_before_submit)
    data = {"remove_file": stored["id"]} if second_tab == "remove_file" else page_formdata(
        _page(_spec(test_service), "nachweis"), {})
    resp = _post(client, draft_id, "nachweis", data)
    assert resp.status_code == 302 and "/bestaetigung" in resp.headers["Location"]
    assert "bereits abgesendet" in client.get(resp.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    [attachment] = db.session.scalars(select(Attachment)).all()
    assert attachment.public_id == stored["id"] and attachment.request_id is not None


def test_oversized_request_shows_friendly_message_and_keeps_draft(
    app, client, citizen, db, monkeypatch, test_service
):
    spec = _spec(test_service)
    draft_id = start_draft(client, "testantrag")
    _post(client, draft_id, "person", page_formdata(_page(spec, "person"), TEST_ANSWERS))
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    resp = _post(
        client,
        draft_id,
        "nachweis",
        page_formdata(_page(spec, "nachweis"), {}, {"dokument": [(PDF + b"0" * 5000, "gross.pdf")]}),
    )
    body = resp.get_data(as_text=True)
    assert resp.status_code == 413 and "zu groß" in body and "Nachweis" in body
    assert _draft(db, draft_id).answers["vorname"] == "Erika"


def test_save_and_resume_later_then_delete_draft(client, citizen, db, test_service):
    spec = _spec(test_service)
    draft_id = start_draft(client, "testantrag")
    data = {**page_formdata(_page(spec, "person"), TEST_ANSWERS), "spaeter": "1"}
    data.pop("weiter")
    resp = _post(client, draft_id, "person", data)
    assert resp.headers["Location"].endswith("/meine-antraege")
    listing = client.get("/meine-antraege").get_data(as_text=True)
    assert f"/antrag/{draft_id}/firma" in listing and "Fortsetzen" in listing
    resumed = client.get(f"/antrag/{draft_id}/person").get_data(as_text=True)
    assert 'value="Mustermann"' in resumed
    assert client.post(f"/antrag/{draft_id}/loeschen").status_code == 302
    assert _draft(db, draft_id) is None


def test_double_submit_creates_one_request(client, citizen, db, test_service):
    draft_id = _complete_draft(client, test_service)
    first, second = _submit(client, draft_id), _submit(client, draft_id)
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 1
    back = client.get(f"/antrag/{draft_id}/pruefen")  # the back button after submitting
    assert back.status_code == 302 and back.headers["Location"] == first.headers["Location"]
    assert client.get(f"/antrag/{draft_id}/person").headers["Location"] == first.headers["Location"]
    assert client.post(f"/antrag/{draft_id}/loeschen").status_code == 404  # a submitted draft stays


def test_review_page_stamps_complete_answers_for_the_submit(client, citizen, db, test_service):
    draft_id = _complete_draft(client, test_service)
    review = client.get(f"/antrag/{draft_id}/pruefen").get_data(as_text=True)
    stamp = re.search(r'name="checked" value="([0-9a-f]{64})"', review).group(1)
    resp = client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y", "checked": stamp})
    assert resp.status_code == 302 and "/bestaetigung" in resp.headers["Location"]
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 1


def test_submit_loads_the_account_with_the_draft_in_one_query(client, citizen, db, test_service):
    """The draft's lock query brings its owner's account along: the login asks the database nothing."""
    from sqlalchemy import event

    draft_id = _complete_draft(client, test_service)
    db.session.expunge_all()  # nothing left over from the pages before: the submit loads what it needs
    statements = []
    listener = lambda *args: statements.append(" ".join(args[2].split()))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        resp = _submit(client, draft_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert resp.status_code == 302 and "/bestaetigung" in resp.headers["Location"]
    reads = [s for s in statements if s.startswith("SELECT") and "FROM users" in s]
    assert reads == [], reads
    lock = next(s for s in statements if "FROM drafts" in s)
    assert "JOIN users ON users.id = drafts.user_id" in lock


def test_incomplete_draft_cannot_be_submitted(client, citizen, db):
    draft_id = start_draft(client, "testantrag")
    review = client.get(f"/antrag/{draft_id}/pruefen").get_data(as_text=True)
    assert "noch nicht vollständig" in review
    assert 'name="checked"' not in review  # no stamp for answers with problems
    resp = _submit(client, draft_id)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/pruefen")
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 0


def test_unconfirmed_citizen_cannot_submit(client, db, login_as, test_service):
    login_as(CitizenFactory(email_confirmed_at=None))
    db.session.commit()
    draft_id = _complete_draft(client, test_service)
    resp = _submit(client, draft_id)
    assert resp.headers["Location"].endswith(f"/antrag/{draft_id}/pruefen")
    assert "bestätigen Sie zuerst" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 0


def test_my_requests_lists_submitted_request_with_state(client, citizen, db, test_service):
    draft_id = _complete_draft(client, test_service)
    _submit(client, draft_id)
    req = db.session.scalar(select(ServiceRequest))
    listing = client.get("/meine-antraege").get_data(as_text=True)
    assert req.reference in listing and "Testantrag" in listing
    assert "eingegangen" not in listing or "Eingegangen" in listing  # a label, not the raw state key


def test_other_citizen_gets_404_everywhere(client, db, login_as, test_service):
    owner = CitizenFactory()
    db.session.commit()
    login_as(owner)
    draft_id = _complete_draft(client, test_service)
    other_draft = start_draft(client, "testantrag")
    _submit(client, draft_id)
    req = db.session.scalar(select(ServiceRequest))
    attachment = db.session.scalar(select(Attachment))
    client.post("/abmelden")
    login_as(CitizenFactory())
    db.session.commit()
    for url in (
        f"/antrag/{other_draft}/person",
        f"/antrag/{other_draft}/pruefen",
        f"/antraege/{req.public_id}",
        f"/antraege/{req.public_id}/bestaetigung",
        f"/antraege/{req.public_id}/dateien/{attachment.public_id}",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/antrag/{other_draft}/person",
        f"/antrag/{other_draft}/absenden",
        f"/antrag/{other_draft}/loeschen",
        f"/antrag/{draft_id}/absenden",
    ):
        assert client.post(url, data={"declaration": "y", "vorname": "X"}).status_code == 404, url
    assert _draft(db, other_draft) is not None


def test_anonymous_user_is_sent_to_login(client, db):
    for url in ("/meine-antraege", f"/antrag/{'0' * 32}/person", f"/antraege/{'0' * 32}"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/anmelden" in resp.headers["Location"], url


@pytest.mark.parametrize("slug", sorted(SEEDED_JOURNEYS))
def test_seeded_service_journey_end_to_end(client, db, seeded_citizen, slug):
    answers, files, fee_cents = SEEDED_JOURNEYS[slug]
    service = db.session.scalar(select(Service).where(Service.slug == slug))
    spec = _spec(service)
    draft_id = start_draft(client, slug)
    assert fill_all_pages(client, draft_id, spec, answers, files).endswith(f"/antrag/{draft_id}/pruefen")
    review = client.get(f"/antrag/{draft_id}/pruefen")
    assert review.status_code == 200 and "noch nicht vollständig" not in review.get_data(as_text=True)
    done = _submit(client, draft_id)
    assert done.status_code == 302 and "/bestaetigung" in done.headers["Location"]
    req = db.session.scalar(select(ServiceRequest))
    expected = {k: v for k, v in answers.items() if v not in ("", None) and spec.field(k) is not None}
    assert {k: req.answers.get(k) for k in expected} == expected
    for key, uploaded in files.items():
        assert [f["name"] for f in req.answers[key]] == [name for _, name in uploaded]
    assert req.computed.get("fee_cents", 0) == fee_cents
    assert len(req.attachments) == sum(len(v) for v in files.values())
    assert client.get(f"/antraege/{req.public_id}").status_code == 200


def test_journey_forms_carry_csrf_tokens(app, client, citizen, db, monkeypatch, test_service):
    from tests.conftest import csrf_token_from

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    token = csrf_token_from(client.get("/antrag/testantrag/starten"))
    assert client.post("/antrag/testantrag/starten").status_code == 400
    resp = client.post("/antrag/testantrag/starten", data={"csrf_token": token})
    draft_id = re.search(r"/antrag/([0-9a-f]{32})/", resp.headers["Location"]).group(1)
    page = client.get(f"/antrag/{draft_id}/person")
    data = page_formdata(_spec(test_service).page("person"), TEST_ANSWERS)
    assert _post(client, draft_id, "person", data).status_code == 400
    assert _post(client, draft_id, "person", {**data, "csrf_token": csrf_token_from(page)}).status_code == 302
    review = client.get(f"/antrag/{draft_id}/pruefen")
    assert csrf_token_from(review)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 500)  # rejected before the CSRF check can read it
    big = _post(
        client, draft_id, "person", {**data, "vorname": "E" * 2000, "csrf_token": csrf_token_from(page)}
    )
    assert big.status_code == 413 and "Es wurde nichts gespeichert" in big.get_data(as_text=True)


def test_parallel_submit_posts_create_one_request_on_postgres(postgres, client, citizen, db, test_service):
    """Six browsers of the same citizen post "absenden" at once: one request, all land on its confirmation."""
    import threading

    from tests.factories import PASSWORD

    draft_id = _complete_draft(client, test_service)
    clients = [postgres.test_client() for _ in range(6)]
    barrier, locations, email = threading.Barrier(len(clients)), [], citizen.email

    def post(other):
        with postgres.app_context():  # each thread: its own app context and database session
            login = other.post("/anmelden", data={"email": email, "password": PASSWORD})
            assert login.status_code in (302, 303)
            barrier.wait()
            resp = other.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y"})
            locations.append(resp.headers["Location"])

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(locations) == 6 and len(set(locations)) == 1 and "/bestaetigung" in locations[0]
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 1


@pytest.mark.parametrize("bad", ["%00", "x" * 32, "0123", "%27%20OR%201%3D1"])
def test_malformed_ids_are_404_not_500(client, citizen, bad):
    for url in (
        f"/antrag/{bad}/person",
        f"/antrag/{bad}/pruefen",
        f"/antraege/{bad}",
        f"/antraege/{bad}/bestaetigung",
        f"/antraege/{'a' * 32}/dateien/{bad}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/antrag/{bad}/absenden").status_code == 404


def _bewohnerpark_until_proofs(client, db):
    """A Bewohnerparkausweis draft filled up to (not including) the proofs page, company car = yes."""
    answers, _files, _fee = SEEDED_JOURNEYS["bewohnerparkausweis"]
    spec = _spec(db.session.scalar(select(Service).where(Service.slug == "bewohnerparkausweis")))
    draft_id = start_draft(client, "bewohnerparkausweis")
    for key in ("antragsteller", "meldeadresse", "fahrzeug"):
        assert _post(client, draft_id, key, page_formdata(spec.page(key), answers)).status_code == 302
    return draft_id, spec.page("nachweise")


def test_invalid_page_lists_the_file_just_uploaded(client, db, seeded_citizen):
    """Only one of two required proofs: the error page shows the stored one with its remove button."""
    draft_id, page = _bewohnerpark_until_proofs(client, db)
    data = page_formdata(page, {}, {"arbeitgeberbestaetigung": [(PNG, "bestaetigung.png")]})
    resp = _post(client, draft_id, "nachweise", data)
    body = resp.get_data(as_text=True)
    [stored] = _draft(db, draft_id).answers["arbeitgeberbestaetigung"]
    assert resp.status_code == 400 and "Fahrzeugschein" in body
    assert "bestaetigung.png" in body and f'name="remove_file" value="{stored["id"]}"' in body
    again = _post(client, draft_id, "nachweise", page_formdata(page, {}, {
        "arbeitgeberbestaetigung": [(PNG, "bestaetigung.png")]}))
    body = again.get_data(as_text=True)
    assert again.status_code == 400
    assert "bestaetigung.png" in body and f'name="remove_file" value="{stored["id"]}"' in body


def test_save_for_later_keeps_a_half_filled_page_without_errors(client, citizen, db, test_service):
    """GOV.UK "save and come back later": valid inputs are kept, none of the page's errors show yet."""
    draft_id = start_draft(client, "testantrag")
    data = {"vorname": "Erika", "nachname": "", "firmenwagen": "", "spaeter": "1"}
    resp = _post(client, draft_id, "person", data)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/meine-antraege")
    assert _draft(db, draft_id).answers == {"vorname": "Erika"}
    listing = client.get("/meine-antraege").get_data(as_text=True)
    assert "Ihr Antrag wurde gespeichert" in listing and "Nicht gespeichert" not in listing
    assert f"/antrag/{draft_id}/person" in listing  # "Fortsetzen" returns to the unfinished page
    resumed = client.get(f"/antrag/{draft_id}/person")
    assert resumed.status_code == 200 and 'value="Erika"' in resumed.get_data(as_text=True)
    assert _post(client, draft_id, "person", {"vorname": "Erika", "weiter": "1"}).status_code == 400


def test_save_for_later_keeps_saved_answer_when_new_input_is_invalid(client, citizen, db, test_service):
    spec = _spec(test_service)
    draft_id = _complete_draft(client, test_service)
    data = {**page_formdata(_page(spec, "person"), TEST_ANSWERS), "nachname": "\x00", "vorname": "Erika M."}
    data.pop("weiter")
    assert _post(client, draft_id, "person", {**data, "spaeter": "1"}).status_code == 302
    answers = _draft(db, draft_id).answers
    assert (answers["vorname"], answers["nachname"]) == ("Erika M.", "Mustermann")  # saved one kept
    data = {**page_formdata(_page(spec, "hunde"), TEST_ANSWERS), "hunde-0-rasse": "\x00"}
    data["hunde-0-hundename"] = "Bello II"
    data.pop("weiter")
    resp = _post(client, draft_id, "hunde", {**data, "spaeter": "1"})
    assert resp.status_code == 302
    hunde = _draft(db, draft_id).answers["hunde"]
    # in a group the invalid breed is dropped: after "Entfernen" saved item 0 may be another dog
    assert hunde[0] == {"hundename": "Bello II"}
    listing = client.get("/meine-antraege").get_data(as_text=True)
    assert "Nicht gespeichert wurden ungültige Eingaben bei Rasse." in listing


def test_save_for_later_shows_the_unsaved_input_with_its_error_on_resume(client, citizen, db, test_service):
    """The warning promises "Wenn Sie fortsetzen, sehen Sie, was zu ändern ist": the page shows it."""
    spec = _spec(test_service)
    draft_id = _complete_draft(client, test_service)
    data = {**page_formdata(_page(spec, "hunde"), TEST_ANSWERS), "hunde-0-rasse": "Dackel\x01"}
    data.pop("weiter")
    assert _post(client, draft_id, "hunde", {**data, "spaeter": "1"}).status_code == 302
    draft = _draft(db, draft_id)
    assert draft.unsaved_input == {"hunde": {"hunde-0-rasse": {"hunde-0-rasse": ["Dackel\x01"]}}}
    assert "\x01" not in str(draft.answers)  # the answers stay normalised
    listing = client.get("/meine-antraege").get_data(as_text=True)
    assert f"/antrag/{draft_id}/hunde" in listing  # "Fortsetzen" returns to that page
    resumed = client.get(f"/antrag/{draft_id}/hunde").get_data(as_text=True)
    assert re.search(r"<title>\s*Fehler: ", resumed)
    assert "Die Eingabe enthält unzulässige Steuerzeichen." in resumed and 'href="#hunde-0-rasse"' in resumed
    assert 'name="hunde-0-rasse" type="text" value="Dackel\x01"' in resumed  # as typed, not the saved one
    assert resumed.count('aria-invalid="true"') == 1  # the rest of the page was saved as it is
    fixed = {**data, "hunde-0-rasse": "Dackel", "weiter": "1"}
    assert _post(client, draft_id, "hunde", fixed).status_code == 302
    draft = _draft(db, draft_id)
    assert draft.unsaved_input is None and draft.answers["hunde"][0]["rasse"] == "Dackel"
    again = client.get(f"/antrag/{draft_id}/hunde").get_data(as_text=True)
    assert "unzulässige Steuerzeichen" not in again and "Fehler: " not in again
