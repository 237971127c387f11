"""The clerk's request history (templates/clerk/_event.html): every event kind readable, in both languages."""

import pytest
from flask_babel import refresh

from extensions import db as _db
from services.events import append_event
from services.messages import run_clerk_transition
from tests.factories import DepartmentFactory, ServiceFactory, clerk_of, started_request


@pytest.fixture(autouse=True)
def _no_notice_rendering(monkeypatch):
    monkeypatch.setattr("services.notices.request_notice", lambda *a, **k: None, raising=False)


@pytest.fixture
def dept(db):
    return DepartmentFactory(name_de="Straßenverkehrsamt", name_en="Road Traffic Office")


def _history(client, req, lang="de") -> str:
    refresh()  # the test's app context is shared with the client's requests: forget the cached locale
    html = client.get(f"/sachbearbeitung/antraege/{req.public_id}?lang={lang}").get_data(as_text=True)
    return html[html.index('id="verlauf"'):]


def test_history_routed_names_the_department(client, dept, login_as):
    req = started_request(service=ServiceFactory(department=dept))
    _db.session.commit()
    login_as(clerk_of(dept))
    assert "Zugeordnet an Straßenverkehrsamt" in " ".join(_history(client, req).split())
    assert "Road Traffic Office" in _history(client, req, "en")


def test_history_notice_events_have_titles(client, dept, login_as):
    req = started_request(service=ServiceFactory(department=dept))
    append_event(req, "notice_issued", data={"notice_id": 1, "kind": "receipt", "revision": 1, "sha256": "x"})
    append_event(req, "notice_failed", data={"notice_id": 2, "kind": "approval", "revision": 2})
    _db.session.commit()
    login_as(clerk_of(dept))
    html = " ".join(_history(client, req).split())
    assert "notice_issued" not in html and "notice_failed" not in html
    assert "Dokument erstellt: Eingangsbestätigung, Fassung 1" in html
    assert "Dokument konnte nicht erstellt werden: Bescheid – Genehmigung, Fassung 2" in html
    assert "Acknowledgement of receipt, Version 1" in " ".join(_history(client, req, "en").split())


def test_history_question_fields_are_labelled(client, dept, login_as):
    req = started_request(service=ServiceFactory(department=dept))
    clerk = clerk_of(dept)
    run_clerk_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    data = {"message": "Bitte nachreichen.", "documents": ["Grundriss", "Lageplan"], "formal_notice": True}
    run_clerk_transition(req, "rueckfrage_stellen", clerk, data, req.row_version)
    _db.session.commit()
    login_as(clerk)
    html = _history(client, req)
    assert "documents:" not in html and "formal_notice" not in html
    assert "Nachzureichende Unterlagen: Grundriss, Lageplan" in html
    assert "Zusätzlich ein förmliches Anhörungsschreiben erstellen: Ja" in html
    assert "Documents to provide: Grundriss, Lageplan" in _history(client, req, "en")


def test_history_shows_the_approvers_comment(client, dept, login_as):
    req = started_request(service=ServiceFactory(department=dept), variant="vier_augen")
    proposer, approver = clerk_of(dept), clerk_of(dept)
    run_clerk_transition(req, "bearbeitung_beginnen", proposer, {}, req.row_version)
    run_clerk_transition(req, "genehmigen", proposer, {"comment": "Alles geprüft."}, req.row_version)
    confirm = {"comment": "Gegengezeichnet."}
    run_clerk_transition(req, "freigabe_bestaetigen", approver, confirm, req.row_version)
    _db.session.commit()
    login_as(approver)
    html = _history(client, req)
    assert "Kommentar: Gegengezeichnet." in html
    assert html.count("Kommentar: Alles geprüft.") == 1  # with the proposal only
