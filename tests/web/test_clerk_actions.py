"""Clerk request detail and actions: claim/assign, workflow transitions, Rückfrage round trip,
stale forms, notes, forwarding, downloads, four-eyes, citizen answer and withdraw."""

import io
import re

import flask_babel
import pytest
from sqlalchemy import select

from extensions import db as _db
from models import Message, Notice, NoticeState, RequestEvent
from models.base import new_public_id
from tests.factories import CitizenFactory, DepartmentFactory, ServiceFactory, clerk_of, started_request

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STALE = "Der Antrag wurde zwischenzeitlich geändert. Ihre Aktion wurde nicht ausgeführt."


@pytest.fixture(autouse=True)
def _no_notice_rendering(monkeypatch):
    """Effects may ask for notices; rendering/signing is the notices area's (tested there)."""
    monkeypatch.setattr("services.notices.request_notice", lambda *a, **k: None, raising=False)


@pytest.fixture
def dept(db):
    return DepartmentFactory()


@pytest.fixture
def req(dept):
    r = started_request(service=ServiceFactory(department=dept))
    _db.session.commit()
    return r


def _url(req, tail=""):
    return f"/sachbearbeitung/antraege/{req.public_id}{tail}"


def _fresh(req):
    _db.session.expire_all()
    return _db.session.get(type(req), req.id)


def _kinds(req):
    stmt = select(RequestEvent.kind).where(RequestEvent.request_id == req.id).order_by(RequestEvent.seq)
    return list(_db.session.scalars(stmt))


def test_detail_shows_request_and_actions(client, req, dept, login_as):
    login_as(clerk_of(dept))
    resp = client.get(_url(req))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert req.reference in html
    assert "Bearbeitung beginnen" in html or "bearbeitung_beginnen" in html
    assert 'name="claim-row_version"' in html


def test_detail_of_other_department_or_unknown_is_404(client, req, login_as):
    login_as(clerk_of(DepartmentFactory()))
    assert client.get(_url(req)).status_code == 404
    assert client.get(f"/sachbearbeitung/antraege/{new_public_id()}").status_code == 404
    assert (
        client.post(_url(req, "/uebernehmen"), data={"claim-row_version": req.row_version}).status_code == 404
    )


def test_claim_and_stale_claim(client, req, dept, login_as):
    clerk = login_as(clerk_of(dept))
    version = req.row_version
    resp = client.post(_url(req, "/uebernehmen"), data={"claim-row_version": version})
    assert resp.status_code == 303
    assert _fresh(req).assignee_id == clerk.id
    resp = client.post(_url(req, "/zurueckgeben"), data={"release-row_version": version})  # old version
    assert resp.status_code == 409
    assert STALE in resp.get_data(as_text=True)
    assert _fresh(req).assignee_id == clerk.id


def test_transition_with_required_reason(client, req, dept, login_as):
    login_as(clerk_of(dept))
    client.post(
        _url(req, "/aktion/bearbeitung_beginnen"),
        data={"t-bearbeitung_beginnen-row_version": req.row_version},
    )
    req = _fresh(req)
    assert req.state == "in_bearbeitung"
    resp = client.post(_url(req, "/aktion/ablehnen"), data={"t-ablehnen-row_version": req.row_version})
    assert resp.status_code == 400
    assert "Fehler" in resp.get_data(as_text=True)
    assert _fresh(req).state == "in_bearbeitung"
    resp = client.post(
        _url(req, "/aktion/ablehnen"),
        data={"t-ablehnen-row_version": req.row_version, "t-ablehnen-f_reason": "Unterlagen unvollständig"},
    )
    assert resp.status_code == 303
    assert _fresh(req).state == "abgelehnt"


def test_transition_errors_name_the_field(client, req, dept, login_as):
    login_as(clerk_of(dept))
    client.post(
        _url(req, "/aktion/bearbeitung_beginnen"),
        data={"t-bearbeitung_beginnen-row_version": req.row_version},
    )
    req = _fresh(req)
    resp = client.post(_url(req, "/aktion/ablehnen"), data={"t-ablehnen-row_version": req.row_version})
    summary = resp.get_data(as_text=True).split('id="error-summary-title"')[1].split("</ul>")[0]
    assert 'href="#t-ablehnen-f_reason">Bitte füllen Sie „Begründung der Ablehnung“ aus.</a>' in summary
    data = {"t-rueckfrage_stellen-row_version": req.row_version, "t-rueckfrage_stellen-f_message": "x" * 5001}
    resp = client.post(_url(req, "/aktion/rueckfrage_stellen"), data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "„Ihre Frage an die Antragstellerin oder den Antragsteller“ darf höchstens 5000 Zeichen" in html


def test_stale_transition_never_overwrites(client, req, dept, login_as):
    login_as(clerk_of(dept))
    old = req.row_version
    client.post(_url(req, "/aktion/bearbeitung_beginnen"), data={"t-bearbeitung_beginnen-row_version": old})
    resp = client.post(_url(req, "/aktion/genehmigen"), data={"t-genehmigen-row_version": old})
    assert resp.status_code == 409
    assert STALE in resp.get_data(as_text=True) or "geändert" in resp.get_data(as_text=True)
    assert _fresh(req).state == "in_bearbeitung"


def _row_versions(html) -> dict:
    return dict(re.findall(r'name="([\w-]+)-row_version" type="hidden" value="(\d*)"', html))


def _begin(client, req):
    client.post(_url(req, "/aktion/bearbeitung_beginnen"),
                data={"t-bearbeitung_beginnen-row_version": req.row_version})
    return _fresh(req)


def test_other_forms_keep_working_after_an_error_on_the_page(client, req, dept, login_as):
    login_as(clerk_of(dept))
    DepartmentFactory()  # somewhere to forward to
    _db.session.commit()
    req = _begin(client, req)
    resp = client.post(_url(req, "/aktion/ablehnen"), data={"t-ablehnen-row_version": req.row_version})
    assert resp.status_code == 400
    versions = _row_versions(resp.get_data(as_text=True))
    # Every other form of the page is the request as it is now, not a copy of the form that was sent.
    assert {k: v for k, v in versions.items() if k != "t-ablehnen"} == {
        k: str(req.row_version) for k in versions if k != "t-ablehnen"}
    assert {"t-genehmigen", "assign", "forward"} <= set(versions)
    data = {"t-genehmigen-row_version": versions["t-genehmigen"]}
    resp = client.post(_url(req, "/aktion/genehmigen"), data=data)
    assert resp.status_code == 303
    assert _fresh(req).state == "genehmigt"


def test_stale_decision_keeps_the_typed_input_and_can_be_sent_again(client, req, dept, login_as):
    from services.assignment import assign_request

    login_as(clerk_of(dept))
    req = _begin(client, req)
    seen = req.row_version
    colleague = clerk_of(dept)
    assign_request(req, colleague, colleague)  # a colleague takes the request meanwhile
    _db.session.commit()
    data = {"t-ablehnen-row_version": seen, "t-ablehnen-f_reason": "Die Fläche ist bereits vergeben.",
            "t-ablehnen-comment": "mit Tiefbau abgestimmt"}
    resp = client.post(_url(req, "/aktion/ablehnen"), data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and _fresh(req).state == "in_bearbeitung"
    assert "<title>Fehler: " in html and "Ihre Eingaben stehen noch im Formular" in html
    assert re.search(r"<details open>\s*<summary class=\"kern-link\">Ablehnen</summary>", html)
    assert "Die Fläche ist bereits vergeben.</textarea>" in html
    assert "mit Tiefbau abgestimmt</textarea>" in html
    req = _fresh(req)
    assert _row_versions(html)["t-ablehnen"] == str(req.row_version)
    data["t-ablehnen-row_version"] = req.row_version
    resp = client.post(_url(req, "/aktion/ablehnen"), data=data)
    assert resp.status_code == 303 and _fresh(req).state == "abgelehnt"


def test_unavailable_transition_is_409(client, req, dept, login_as):
    login_as(clerk_of(dept))
    resp = client.post(_url(req, "/aktion/genehmigen"), data={"t-genehmigen-row_version": req.row_version})
    assert resp.status_code == 409
    assert _fresh(req).state == "eingegangen"


def test_rueckfrage_round_trip_with_citizen_answer(client, req, dept, login_as):
    login_as(clerk_of(dept))
    client.post(
        _url(req, "/aktion/bearbeitung_beginnen"),
        data={"t-bearbeitung_beginnen-row_version": req.row_version},
    )
    req = _fresh(req)
    resp = client.post(
        _url(req, "/aktion/rueckfrage_stellen"),
        data={
            "t-rueckfrage_stellen-row_version": req.row_version,
            "t-rueckfrage_stellen-f_message": "Bitte senden Sie den Grundriss.",
            "t-rueckfrage_stellen-f_documents": "Grundriss\nLageplan",
        },
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    req = _fresh(req)
    assert req.state == "rueckfrage" and req.clock_paused_at is not None
    question = _db.session.scalar(select(Message).where(Message.request_id == req.id))
    assert question.requested_documents == ["Grundriss", "Lageplan"]
    client.post("/abmelden")
    login_as(req.applicant)
    url = f"/antraege/{req.public_id}/rueckfrage/{question.id}"
    resp = client.post(url, data={f"q{question.id}-row_version": req.row_version, f"q{question.id}-body": ""})
    assert resp.status_code == 400
    resp = client.post(
        url,
        data={
            f"q{question.id}-row_version": req.row_version,
            f"q{question.id}-body": "Anbei der Grundriss.",
            f"q{question.id}-files": (io.BytesIO(PDF), "grundriss.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    req = _fresh(req)
    assert req.state == "in_bearbeitung" and req.clock_paused_at is None
    answer = _db.session.scalar(
        select(Message).where(Message.request_id == req.id, Message.from_citizen.is_(True))
    )
    assert answer.body == "Anbei der Grundriss." and [a.original_name for a in answer.attachments] == [
        "grundriss.pdf"
    ]
    again = client.post(url, data={f"q{question.id}-body": "nochmal"})  # no longer open: not sent, text kept
    assert again.status_code == 409 and "nochmal</textarea>" in again.get_data(as_text=True)


def test_internal_note_is_not_shown_to_citizen(client, req, dept, login_as):
    login_as(clerk_of(dept))
    client.post(_url(req, "/notiz"), data={"note-text": "Vermerk: Nachbar hat angerufen"})
    assert "note" in _kinds(req)
    assert "Vermerk: Nachbar" in client.get(_url(req)).get_data(as_text=True)
    visible = _db.session.scalar(select(RequestEvent.visible_to_citizen).where(RequestEvent.kind == "note"))
    assert visible is False


def test_internal_notes_are_listed_with_their_author_where_notes_are_written(client, req, dept, login_as):
    clerk = clerk_of(dept)
    clerk.full_name = "Nora Notiz"
    _db.session.commit()
    login_as(clerk)
    notes_of = lambda html: html[html.index('id="notizen"'):html.index('id="verlauf"')]  # noqa: E731
    assert "Noch keine internen Notizen." in notes_of(client.get(_url(req)).get_data(as_text=True))
    client.post(_url(req, "/notiz"), data={"note-text": "Nachbar hat angerufen"})
    client.post(_url(req, "/notiz"), data={"note-text": "Ortstermin am Montag"})
    notes = notes_of(client.get(_url(req)).get_data(as_text=True))
    assert "Nora Notiz" in notes and "Noch keine" not in notes
    assert notes.index("Ortstermin am Montag") < notes.index("Nachbar hat angerufen")  # newest first


def test_decided_request_offers_no_forwarding(client, req, dept, login_as):
    DepartmentFactory()
    login_as(clerk_of(dept))
    req = _begin(client, req)
    assert "An eine andere Abteilung weiterleiten" in client.get(_url(req)).get_data(as_text=True)
    client.post(_url(req, "/aktion/genehmigen"), data={"t-genehmigen-row_version": req.row_version})
    assert "An eine andere Abteilung weiterleiten" not in client.get(_url(req)).get_data(as_text=True)


def test_forward_requires_reason_and_moves_request(client, req, dept, login_as):
    target = DepartmentFactory()
    _db.session.commit()
    login_as(clerk_of(dept))
    data = {"forward-row_version": req.row_version, "forward-department": target.id}
    assert client.post(_url(req, "/weiterleiten"), data=data).status_code == 400
    resp = client.post(_url(req, "/weiterleiten"), data={**data, "forward-reason": "Zuständigkeit Nord"})
    assert resp.status_code == 303
    assert _fresh(req).department_id == target.id
    assert client.get(_url(req)).status_code == 404  # no longer ours


def test_attachment_download_has_safe_headers(client, req, dept, login_as, app):
    from services.messages import store_message_file

    class Upload:
        filename = "ausweis.pdf"
        stream = io.BytesIO(PDF)

    msg = Message(request_id=req.id, from_citizen=True, body="x")
    _db.session.add(msg)
    _db.session.flush()
    att = store_message_file(req, msg, Upload(), req.applicant)
    _db.session.commit()
    login_as(clerk_of(dept))
    resp = client.get(_url(req, f"/dateien/{att.public_id}"))
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "private, no-cache"  # the same headers as the citizen's download
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    resp.close()
    assert client.get(_url(req, f"/dateien/{new_public_id()}")).status_code == 404


def test_failed_notice_is_shown_prominently(client, req, dept, login_as):
    _db.session.add(
        Notice(
            public_id=new_public_id(),
            request_id=req.id,
            kind="approval",
            state=NoticeState.FAILED,
            verification_code=new_public_id()[:20],
        )
    )
    _db.session.commit()
    login_as(clerk_of(dept))
    assert "Bescheid konnte nicht erstellt werden" in client.get(_url(req)).get_data(as_text=True)


def _notice(req, state, kind="approval", revision=1, file_name=None):
    from models.base import utcnow

    notice = Notice(public_id=new_public_id(), request_id=req.id, kind=kind, revision=revision, state=state,
                    verification_code=new_public_id()[:20], file_name=file_name,
                    issued_at=utcnow() if state == NoticeState.ISSUED else None)
    _db.session.add(notice)
    return notice


def test_detail_lists_every_notice_and_downloads_issued_ones(client, req, dept, login_as):
    from models.base import CITY_TZ
    from services.notices.files import notice_dir

    notice_dir().joinpath("clerk-notice.pdf").write_bytes(PDF)
    issued = _notice(req, NoticeState.ISSUED, revision=2, file_name="clerk-notice.pdf")
    pending = _notice(req, NoticeState.PENDING, kind="rejection")
    failed = _notice(req, NoticeState.FAILED, kind="receipt")
    _db.session.commit()
    login_as(clerk_of(dept))
    html = client.get(_url(req)).get_data(as_text=True)
    section = html[html.index('id="bescheide"'):html.index('id="nachrichten"')]
    issued_on = issued.issued_at.astimezone(CITY_TZ).strftime("%d.%m.%Y")
    for text in ("Bescheid – Genehmigung", "Bescheid – Ablehnung", "Eingangsbestätigung",
                 "ausgestellt", "wird erstellt", "fehlgeschlagen", issued_on):
        assert text in section
    assert _url(req, f"/bescheide/{issued.public_id}") in section
    assert pending.public_id not in section and failed.public_id not in section
    resp = client.get(_url(req, f"/bescheide/{issued.public_id}"))
    assert resp.status_code == 200 and resp.data == PDF and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert f"Bescheid-Genehmigung-{req.reference}-2.pdf" in resp.headers["Content-Disposition"]
    assert resp.headers["Cache-Control"] == "private, no-cache"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    resp.close()
    for notice_id in (pending.public_id, failed.public_id, new_public_id()):
        assert client.get(_url(req, f"/bescheide/{notice_id}")).status_code == 404


def test_notice_download_is_404_for_other_departments_and_other_requests(client, req, dept, login_as):
    from services.notices.files import notice_dir

    notice_dir().joinpath("clerk-notice.pdf").write_bytes(PDF)
    issued = _notice(req, NoticeState.ISSUED, file_name="clerk-notice.pdf")
    other = started_request(service=ServiceFactory(department=dept))
    outsider = clerk_of(DepartmentFactory())
    _db.session.commit()
    login_as(outsider)
    assert client.get(_url(req, f"/bescheide/{issued.public_id}")).status_code == 404
    client.post("/abmelden")
    login_as(clerk_of(dept))
    assert client.get(_url(other, f"/bescheide/{issued.public_id}")).status_code == 404  # not its request


def test_four_eyes_second_approval_queue(client, dept, login_as):
    req = started_request(service=ServiceFactory(department=dept), variant="vier_augen")
    proposer, approver = clerk_of(dept), clerk_of(dept)
    _db.session.commit()
    login_as(proposer)
    client.post(
        _url(req, "/aktion/bearbeitung_beginnen"),
        data={"t-bearbeitung_beginnen-row_version": req.row_version},
    )
    req = _fresh(req)
    resp = client.post(_url(req, "/aktion/genehmigen"), data={"t-genehmigen-row_version": req.row_version},
                       follow_redirects=True)
    req = _fresh(req)
    assert req.state == "zur_freigabe"
    told = resp.get_data(as_text=True)  # the decision is proposed, not made
    assert "Ihr Vorschlag „Genehmigen“ ist noch nicht wirksam" in told
    assert "„Genehmigen“ wurde ausgeführt" not in told
    assert req.reference not in client.get("/sachbearbeitung/freigaben").get_data(as_text=True)
    assert "freigabe_bestaetigen" not in client.get(_url(req)).get_data(as_text=True)
    client.post("/abmelden")
    login_as(approver)
    assert req.reference in client.get("/sachbearbeitung/freigaben").get_data(as_text=True)
    resp = client.post(
        _url(req, "/aktion/freigabe_bestaetigen"),
        data={"t-freigabe_bestaetigen-row_version": req.row_version},
    )
    assert resp.status_code == 303
    assert _fresh(req).state == "genehmigt"


def _propose_rejection(client, dept, login_as):
    """A four-eyes request whose rejection one clerk proposed; returns (request, proposer, approver)."""
    req = started_request(service=ServiceFactory(department=dept), variant="vier_augen")
    proposer, approver = clerk_of(dept), clerk_of(dept)
    proposer.full_name = "Paula Vorschlag"
    _db.session.commit()
    login_as(proposer)
    client.post(_url(req, "/aktion/bearbeitung_beginnen"),
                data={"t-bearbeitung_beginnen-row_version": req.row_version})
    req = _fresh(req)
    data = {"t-ablehnen-row_version": req.row_version, "t-ablehnen-f_reason": "Bebauungsplan steht entgegen",
            "t-ablehnen-comment": "Rücksprache mit Bauamt erfolgt"}
    assert client.post(_url(req, "/aktion/ablehnen"), data=data).status_code == 303
    client.post("/abmelden")
    login_as(approver)
    return _fresh(req), proposer, approver


@pytest.mark.parametrize("path", ["/sachbearbeitung/freigaben", "detail"])
def test_second_reviewer_sees_the_proposed_decision(client, dept, login_as, path):
    req, _proposer, _approver = _propose_rejection(client, dept, login_as)
    html = client.get(_url(req) if path == "detail" else path).get_data(as_text=True)
    for text in ("Vorgeschlagene Entscheidung", "Ablehnen", "Führt zum Status", "Abgelehnt",
                 "Vorgeschlagen von", "Paula Vorschlag", "Rücksprache mit Bauamt erfolgt",
                 "Begründung der Ablehnung", "Bebauungsplan steht entgegen"):
        assert text in html, text
    flask_babel.refresh()  # the tests share one app context: forget the locale of the German page
    english = client.get((_url(req) if path == "detail" else path) + "?lang=en").get_data(as_text=True)
    for text in ("Reject", "Rejected", "Reason for the rejection", "Paula Vorschlag"):
        assert text in english, text


def test_history_names_the_proposed_decision(client, dept, login_as):
    req, _proposer, _approver = _propose_rejection(client, dept, login_as)
    html = client.get(_url(req)).get_data(as_text=True)
    history = html[html.index('id="verlauf"'):]
    assert re.search(r"Zur Freigabe vorgeschlagen:\s*„Ablehnen“", history)
    assert "Begründung der Ablehnung: Bebauungsplan steht entgegen" in history
    flask_babel.refresh()
    html = client.get(_url(req) + "?lang=en").get_data(as_text=True)
    history = html[html.index('id="verlauf"'):]
    assert re.search(r"Proposed for approval:\s*“Reject”", history) and "„" not in history


def test_forward_refused_while_decision_awaits_second_approval(client, dept, login_as):
    req = started_request(service=ServiceFactory(department=dept), variant="vier_augen")
    proposer, target = clerk_of(dept), DepartmentFactory()
    _db.session.commit()
    login_as(proposer)
    client.post(_url(req, "/aktion/bearbeitung_beginnen"),
                data={"t-bearbeitung_beginnen-row_version": req.row_version})
    req = _fresh(req)
    client.post(_url(req, "/aktion/genehmigen"), data={"t-genehmigen-row_version": req.row_version})
    req = _fresh(req)
    assert req.state == "zur_freigabe"
    page = client.get(_url(req)).get_data(as_text=True)
    assert "erst weitergeleitet werden" in page and "/weiterleiten" not in page
    data = {"forward-row_version": req.row_version, "forward-department": target.id, "forward-reason": "Nord"}
    resp = client.post(_url(req, "/weiterleiten"), data=data)
    assert resp.status_code == 409 and "erst weitergeleitet werden" in resp.get_data(as_text=True)
    assert _fresh(req).department_id == dept.id and _kinds(req)[-1] == "approval_proposed"


def test_citizen_withdraws_with_confirmation(client, req, login_as):
    login_as(req.applicant)
    url = f"/antraege/{req.public_id}/zurueckziehen"
    page = client.get(url)
    assert page.status_code == 200
    version = re.search(r'name="row_version"[^>]*value="(\d+)"', page.get_data(as_text=True))
    version = version.group(1) if version else req.row_version
    assert client.post(url, data={"row_version": version}).status_code == 400  # not confirmed
    assert client.post(url, data={"row_version": version, "confirm": "y"}).status_code == 303
    assert _fresh(req).state == "zurueckgezogen"
    assert client.get(url).status_code == 404  # nothing left to withdraw


def test_other_citizen_cannot_answer_or_withdraw(client, req, login_as):
    login_as(CitizenFactory())
    assert client.get(f"/antraege/{req.public_id}/zurueckziehen").status_code == 404
    assert client.post(f"/antraege/{req.public_id}/rueckfrage/1", data={}).status_code == 404


def test_citizen_request_page_shows_question_timeline_and_withdraw(client, req, dept, login_as):
    from services.messages import run_clerk_transition

    clerk = clerk_of(dept)
    run_clerk_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    data = {"message": "Bitte Grundriss nachreichen.", "documents": ["Grundriss"]}
    run_clerk_transition(req, "rueckfrage_stellen", clerk, data, req.row_version)
    from services.messages import add_note

    add_note(req, clerk, "Geheimer Vermerk")
    _db.session.commit()
    login_as(req.applicant)
    html = client.get(f"/antraege/{req.public_id}").get_data(as_text=True)
    assert "Bitte Grundriss nachreichen." in html and "Antwort senden" in html
    assert "Verlauf Ihres Antrags" in html
    assert "Antrag zurückziehen" in html
    assert "Geheimer Vermerk" not in html


def test_citizen_request_page_keeps_answered_questions_with_reply_and_files(client, req, dept, login_as):
    from services.messages import run_clerk_transition

    clerk = clerk_of(dept)
    run_clerk_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    run_clerk_transition(req, "rueckfrage_stellen", clerk, {"message": "Bitte Grundriss."}, req.row_version)
    _db.session.commit()
    question = _db.session.scalar(select(Message).where(Message.request_id == req.id))
    login_as(req.applicant)
    answered = client.post(
        f"/antraege/{req.public_id}/rueckfrage/{question.id}",
        data={f"q{question.id}-row_version": req.row_version, f"q{question.id}-body": "Anbei der Grundriss.",
              f"q{question.id}-files": (io.BytesIO(PDF), "grundriss.pdf")},
        content_type="multipart/form-data",
    )
    assert answered.status_code == 303
    req = _fresh(req)
    run_clerk_transition(req, "rueckfrage_stellen", clerk, {"message": "Noch der Lageplan."}, req.row_version)
    _db.session.commit()
    html = client.get(f"/antraege/{req.public_id}").get_data(as_text=True)
    [file] = _db.session.scalar(select(Message).where(Message.from_citizen.is_(True))).attachments
    assert html.index("Noch der Lageplan.") < html.index("Bitte Grundriss.")  # the open question first
    assert "Bisherige Rückfragen und Ihre Antworten" in html and "Ihre Antwort vom" in html
    assert "Anbei der Grundriss." in html and "grundriss.pdf" in html
    download = f"/antraege/{req.public_id}/dateien/{file.public_id}"
    assert download in html
    response = client.get(download)
    assert response.status_code == 200 and response.data == PDF
    response.close()


def _asked(req, dept, message="Bitte Grundriss."):
    from services.messages import run_clerk_transition

    clerk = clerk_of(dept)
    run_clerk_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    run_clerk_transition(req, "rueckfrage_stellen", clerk, {"message": message}, req.row_version)
    _db.session.commit()
    return clerk, _db.session.scalar(select(Message).where(Message.request_id == req.id))


def test_clerk_conversation_shows_files_with_the_citizens_reply(client, req, dept, login_as):
    clerk, question = _asked(req, dept)
    login_as(req.applicant)
    answered = client.post(
        f"/antraege/{req.public_id}/rueckfrage/{question.id}",
        data={f"q{question.id}-row_version": _fresh(req).row_version, f"q{question.id}-body": "Anbei.",
              f"q{question.id}-files": (io.BytesIO(PDF), "grundriss.pdf")},
        content_type="multipart/form-data",
    )
    assert answered.status_code == 303
    client.post("/abmelden")
    login_as(clerk)
    html = client.get(_url(req)).get_data(as_text=True)
    [file] = _db.session.scalar(select(Message).where(Message.from_citizen.is_(True))).attachments
    conversation = html[html.index('id="nachrichten"'):html.index('id="notizen"')]
    assert "Anbei." in conversation and "Mit dieser Nachricht gesendete Dateien:" in conversation
    download = _url(req, f"/dateien/{file.public_id}")
    assert f'href="{download}">grundriss.pdf</a>' in conversation
    response = client.get(download)
    assert response.status_code == 200 and response.data == PDF
    response.close()


def test_answer_accepted_when_request_changed_but_question_still_open(client, req, dept, login_as):
    from services.assignment import assign_request

    clerk, question = _asked(req, dept)
    login_as(req.applicant)
    url = f"/antraege/{req.public_id}/rueckfrage/{question.id}"
    assert client.get(url).status_code == 200
    seen = req.row_version
    assign_request(req, clerk_of(dept), clerk)  # the request changes hands while the citizen types
    _db.session.commit()
    assert _fresh(req).row_version != seen
    resp = client.post(url, data={f"q{question.id}-row_version": seen, f"q{question.id}-body": "Hier bitte."})
    assert resp.status_code == 303
    assert _db.session.scalar(select(Message.body).where(Message.from_citizen.is_(True))) == "Hier bitte."
    assert _fresh(req).state == "in_bearbeitung"


def test_answer_racing_a_clerk_keeps_the_typed_text(client, req, dept, login_as, monkeypatch):
    from services.errors import StaleObject

    _clerk, question = _asked(req, dept)
    login_as(req.applicant)

    def racing(*args, **kwargs):
        raise StaleObject("raced")

    monkeypatch.setattr("services.messages.answer_question", racing)
    resp = client.post(f"/antraege/{req.public_id}/rueckfrage/{question.id}",
                       data={f"q{question.id}-body": "Mein langer Antworttext"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "Mein langer Antworttext" in html and "Ihre Antwort ist noch nicht gesendet" in html
    assert _fresh(req).state == "rueckfrage"


def test_oversized_answer_reshows_the_question_with_the_limits(app, client, req, dept, login_as, monkeypatch):
    _clerk, question = _asked(req, dept, "Bitte den Lageplan senden.")
    login_as(req.applicant)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    resp = client.post(
        f"/antraege/{req.public_id}/rueckfrage/{question.id}",
        data={f"q{question.id}-body": "Anbei.",
              f"q{question.id}-files": (io.BytesIO(PDF * 200), "gross.pdf")},
        content_type="multipart/form-data",
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 413
    assert "Bitte den Lageplan senden." in html and "Antwort senden" in html
    assert "höchstens 2 KB groß" in html and "Ihre Antwort wurde nicht gesendet" in html
    assert f'href="#q{question.id}-files"' in html


def test_detail_shows_the_fee_the_approval_will_charge(client, dept, login_as):
    computed = started_request(service=ServiceFactory(department=dept, fee_cents=1000))
    computed.computed = {"fee_cents": 6140}  # the form's computed fee wins over the service's
    service_fee = started_request(service=ServiceFactory(department=dept, fee_cents=2500))
    free = started_request(service=ServiceFactory(department=dept, fee_cents=0))
    _db.session.commit()
    login_as(clerk_of(dept))
    for req, shown in ((computed, "61,40\xa0€"), (service_fee, "25,00\xa0€"), (free, "gebührenfrei")):
        html = client.get(_url(req)).get_data(as_text=True)
        assert re.search(r"Gebühr bei Genehmigung</dt>\s*<dd[^>]*>\s*" + shown, html), shown


def test_the_assign_form_preselects_the_current_assignee(client, req, dept, login_as):
    from services.assignment import assign_request

    clerk, colleague = clerk_of(dept), clerk_of(dept)
    assign_request(req, colleague, clerk)
    _db.session.commit()
    login_as(clerk)
    html = client.get(_url(req)).get_data(as_text=True)
    options = re.findall(r"<option[^>]*>", html[html.index('name="assign-assignee"'):])
    assert [o for o in options if "selected" in o and f'value="{colleague.id}"' in o]


def test_a_clerk_keeps_a_request_longer_and_lifts_it_again(client, req, dept, login_as):
    login_as(clerk_of(dept))
    html = client.get(_url(req)).get_data(as_text=True)
    assert 'id="aufbewahrung"' in html and "Jahre) mit allen Dateien gelöscht" in html
    resp = client.post(_url(req, "/aufbewahrung"), data={"hold-row_version": req.row_version})
    assert resp.status_code == 400
    assert "warum der Antrag länger aufbewahrt werden muss" in resp.get_data(as_text=True)
    resp = client.post(_url(req, "/aufbewahrung"),
                       data={"hold-row_version": req.row_version, "hold-reason": "Klage anhängig"})
    assert resp.status_code == 303
    html = client.get(_url(req)).get_data(as_text=True)
    assert "Grund: Klage anhängig" in html and "Längere Aufbewahrung eingetragen: Klage anhängig" in html
    fresh = _fresh(req)
    resp = client.post(_url(req, "/aufbewahrung/aufheben"), data={"lift_hold-row_version": fresh.row_version})
    assert resp.status_code == 303 and _fresh(req).retention_hold_reason is None
