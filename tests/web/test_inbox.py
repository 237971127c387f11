"""The citizen's Postfach: own entries only, newest first, unread marker and count, paging."""

from datetime import timedelta

from extensions import db as _db
from models import InboxItem
from models.base import utcnow
from services.inbox import PAGE_SIZE
from services.notifications import notify_citizen
from tests.factories import CitizenFactory, started_request


def _own_request(db):
    req = started_request()
    db.session.commit()
    return req


def test_inbox_requires_login(client, db):
    assert client.get("/postfach").status_code == 308  # the address the texts name, with or without slash
    resp = client.get("/postfach/")
    assert resp.status_code == 302 and "/anmelden" in resp.headers["Location"]


def test_inbox_lists_own_entries_newest_first_with_unread_marker(client, db, login_as):
    req = _own_request(db)
    older = notify_citizen(req, "in_progress")
    older.created_at = utcnow() - timedelta(days=1)
    notify_citizen(req, "approved")
    notify_citizen(started_request(), "rejected")  # someone else's
    db.session.commit()
    login_as(req.applicant)

    html = client.get("/postfach/").get_data(as_text=True)
    approved = html.index(f"Ihr Antrag {req.reference} wurde genehmigt.")
    assert approved < html.index(f"Ihr Antrag {req.reference} wird bearbeitet.")
    assert "wurde abgelehnt" not in html
    assert html.count("Ungelesen") == 2 and req.reference in html
    assert "(2 ungelesene Nachrichten)" in html  # the count in the account navigation


def test_opening_an_entry_marks_it_read_and_leads_to_the_request(client, db, login_as):
    req = _own_request(db)
    item_id = notify_citizen(req, "approved").id
    db.session.commit()
    login_as(req.applicant)

    resp = client.get(f"/postfach/{item_id}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/antraege/{req.public_id}")
    assert _db.session.get(InboxItem, item_id).read_at is not None
    html = client.get("/postfach/").get_data(as_text=True)
    assert "Ungelesen" not in html and "ungelesene Nachricht" not in html


def test_entries_of_others_are_not_found(client, db, login_as):
    req = _own_request(db)
    item_id = notify_citizen(req, "approved").id
    db.session.commit()
    login_as(CitizenFactory())
    assert client.get(f"/postfach/{item_id}").status_code == 404
    assert client.get("/postfach/999999").status_code == 404
    assert _db.session.get(InboxItem, item_id).read_at is None


def test_inbox_pages_and_tolerates_bad_page_numbers(client, db, login_as):
    req = _own_request(db)
    for _ in range(PAGE_SIZE + 1):
        notify_citizen(req, "in_progress")
    db.session.commit()
    login_as(req.applicant)

    first = client.get("/postfach/").get_data(as_text=True)
    assert first.count("wird bearbeitet.") == PAGE_SIZE and "Seite 1 von 2" in first
    assert "?seite=2" in first
    second = client.get("/postfach/?seite=2").get_data(as_text=True)
    assert second.count("wird bearbeitet.") == 1 and "Vorherige Seite" in second
    for bad in ("abc", "0", "-3", "99"):
        assert client.get(f"/postfach/?seite={bad}").status_code == 200


def test_empty_inbox(client, db, login_as):
    login_as(CitizenFactory())
    html = client.get("/postfach/").get_data(as_text=True)
    assert "Ihr Postfach ist leer." in html
