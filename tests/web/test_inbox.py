"""The citizen's Postfach: own entries only, newest first, unread marker and count, paging."""

import re
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


BUTTON = "Alle als gelesen markieren"


def _newest_id_in(html):
    match = re.search(r'<input[^>]*name="newest_id"[^>]*value="(\d+)"', html)
    assert match, "no newest_id in the mark-all-read form"
    return match.group(1)


def test_mark_all_read_button_only_with_unread_entries(client, db, login_as):
    req = _own_request(db)
    read = notify_citizen(req, "in_progress")
    read.read_at = utcnow()
    db.session.commit()
    login_as(req.applicant)
    assert BUTTON not in client.get("/postfach/").get_data(as_text=True)  # everything read

    newest = notify_citizen(req, "approved")
    db.session.commit()
    html = client.get("/postfach/").get_data(as_text=True)
    form = html[html.index('<form method="post" action="/postfach/alle-gelesen"') :]
    form = form[: form.index("</form>")]
    assert BUTTON in form and 'type="submit"' in form and 'name="csrf_token"' in form
    assert _newest_id_in(form) == str(newest.id)


def test_empty_inbox_has_no_mark_all_read_button(client, db, login_as):
    login_as(CitizenFactory())
    assert BUTTON not in client.get("/postfach/").get_data(as_text=True)


def test_mark_all_read_marks_own_entries_and_clears_the_unread_count(client, db, login_as):
    req = _own_request(db)
    own_ids = [notify_citizen(req, kind).id for kind in ("in_progress", "approved")]
    others_id = notify_citizen(started_request(), "rejected").id
    db.session.commit()
    login_as(req.applicant)
    html = client.get("/postfach/").get_data(as_text=True)
    assert "(2 ungelesene Nachrichten)" in html

    resp = client.post("/postfach/alle-gelesen", data={"newest_id": _newest_id_in(html)})
    assert resp.status_code == 303 and resp.headers["Location"] == "/postfach/"
    _db.session.expire_all()
    assert all(_db.session.get(InboxItem, item_id).read_at is not None for item_id in own_ids)
    assert _db.session.get(InboxItem, others_id).read_at is None
    html = client.get("/postfach/").get_data(as_text=True)
    assert "2 Nachrichten als gelesen markiert." in html
    assert "Ungelesen" not in html and "ungelesene Nachricht" not in html and BUTTON not in html


def test_mark_all_read_keeps_entries_that_arrived_after_the_page_was_shown(client, db, login_as):
    req = _own_request(db)
    shown_id = notify_citizen(req, "in_progress").id
    db.session.commit()
    login_as(req.applicant)
    newest_id = _newest_id_in(client.get("/postfach/").get_data(as_text=True))
    later_id = notify_citizen(req, "approved").id  # arrives while the citizen is reading
    db.session.commit()

    client.post("/postfach/alle-gelesen", data={"newest_id": newest_id})
    _db.session.expire_all()
    assert _db.session.get(InboxItem, shown_id).read_at is not None
    assert _db.session.get(InboxItem, later_id).read_at is None
    html = client.get("/postfach/").get_data(as_text=True)
    assert "1 Nachricht als gelesen markiert." in html
    assert html.count("Ungelesen") == 1 and "(1 ungelesene Nachricht)" in html and BUTTON in html


def test_mark_all_read_with_nothing_unread_says_so(client, db, login_as):
    req = _own_request(db)
    item_id = notify_citizen(req, "approved").id
    db.session.commit()
    login_as(req.applicant)
    client.get(f"/postfach/{item_id}")  # read in the meantime (e.g. in another tab)
    resp = client.post("/postfach/alle-gelesen", data={"newest_id": str(item_id)}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Es gab keine ungelesenen Nachrichten." in html and "als gelesen markiert" not in html


def test_mark_all_read_message_in_english(client, db, login_as):
    req = _own_request(db)
    ids = [notify_citizen(req, "in_progress").id for _ in range(3)]
    db.session.commit()
    login_as(req.applicant)
    html = client.get("/postfach/?lang=en").get_data(as_text=True)
    assert "Mark all as read" in html
    html = client.post(
        "/postfach/alle-gelesen", data={"newest_id": str(ids[0])}, follow_redirects=True
    ).get_data(as_text=True)
    assert "1 message marked as read." in html
    html = client.post(
        "/postfach/alle-gelesen", data={"newest_id": str(ids[-1])}, follow_redirects=True
    ).get_data(as_text=True)
    assert "2 messages marked as read." in html
    html = client.post(
        "/postfach/alle-gelesen", data={"newest_id": str(ids[-1])}, follow_redirects=True
    ).get_data(as_text=True)
    assert "There were no unread messages." in html


def test_mark_all_read_returns_to_the_page_the_citizen_was_on(client, db, login_as):
    req = _own_request(db)
    for _ in range(PAGE_SIZE + 1):
        item = notify_citizen(req, "in_progress")
    db.session.commit()
    login_as(req.applicant)
    second = client.get("/postfach/?seite=2").get_data(as_text=True)
    assert 'action="/postfach/alle-gelesen?seite=2"' in second
    assert _newest_id_in(second) == str(item.id)  # the newest of the Postfach, shown on page 1

    resp = client.post("/postfach/alle-gelesen?seite=2", data={"newest_id": str(item.id)})
    assert resp.status_code == 303 and resp.headers["Location"] == "/postfach/?seite=2"
    for bad in ("abc", "0", "-3", "1"):
        resp = client.post(f"/postfach/alle-gelesen?seite={bad}", data={"newest_id": str(item.id)})
        assert resp.headers["Location"] == "/postfach/"


def test_mark_all_read_only_by_post_from_a_logged_in_user_with_the_form(client, db, login_as):
    req = _own_request(db)
    item_id = notify_citizen(req, "approved").id
    db.session.commit()
    resp = client.post("/postfach/alle-gelesen", data={"newest_id": str(item_id)})
    assert resp.status_code == 302 and "/anmelden" in resp.headers["Location"]
    login_as(req.applicant)
    assert client.get("/postfach/alle-gelesen").status_code == 405
    for data in ({}, {"newest_id": ""}, {"newest_id": "abc"}, {"newest_id": "-1"}):
        assert client.post("/postfach/alle-gelesen", data=data).status_code == 400
    _db.session.expire_all()
    assert _db.session.get(InboxItem, item_id).read_at is None
