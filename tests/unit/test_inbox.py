"""services.inbox.mark_all_read: own unread entries up to the newest one shown, in one UPDATE."""

from datetime import timedelta

from sqlalchemy import event, select

from models import InboxItem
from models.base import utcnow
from services.inbox import inbox_page, mark_all_read, unread_count
from services.notifications import notify_citizen
from tests.factories import StaffFactory, started_request


def _read_at(db, item_id):
    return db.session.scalar(select(InboxItem.read_at).where(InboxItem.id == item_id))


def test_mark_all_read_marks_only_the_actors_unread_entries_and_returns_how_many(db):
    req, other = started_request(), started_request()
    earlier = utcnow() - timedelta(days=2)
    already = notify_citizen(req, "submitted")
    already.read_at = earlier
    own = [notify_citizen(req, "in_progress"), notify_citizen(req, "approved")]
    others = notify_citizen(other, "rejected")  # another citizen's
    staff = StaffFactory()
    staffs = InboxItem(user_id=staff.id, kind="in_progress", data={})  # an entry of a staff account
    db.session.add(staffs)
    db.session.flush()

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert mark_all_read(req.applicant, own[-1].id) == 2
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1 and statements[0].startswith("UPDATE inbox_items"), statements
    db.session.commit()
    db.session.expire_all()
    assert all(_read_at(db, item.id) is not None for item in own)
    assert _read_at(db, already.id) == earlier  # the first reading time is kept
    assert _read_at(db, others.id) is None and _read_at(db, staffs.id) is None
    assert unread_count(req.applicant) == 0 and unread_count(other.applicant) == 1
    assert mark_all_read(req.applicant, own[-1].id) == 0  # nothing left: a second click changes nothing


def test_mark_all_read_leaves_entries_newer_than_the_shown_one_unread(db):
    req = started_request()
    shown = notify_citizen(req, "in_progress")
    newest_id = inbox_page(req.applicant).newest_id
    assert newest_id == shown.id
    arrived_later = notify_citizen(req, "approved")  # after the citizen looked at the Postfach

    assert mark_all_read(req.applicant, newest_id) == 1
    db.session.commit()
    db.session.expire_all()
    assert _read_at(db, shown.id) is not None and _read_at(db, arrived_later.id) is None
    assert unread_count(req.applicant) == 1


def test_inbox_page_counts_unread_entries_of_the_whole_postfach(db):
    req = started_request()
    assert inbox_page(req.applicant).unread == 0 and inbox_page(req.applicant).newest_id is None
    first = notify_citizen(req, "in_progress")
    for _ in range(3):
        newest = notify_citizen(req, "resumed")
    first.read_at = utcnow()
    notify_citizen(started_request(), "approved")  # someone else's
    db.session.flush()
    page = inbox_page(req.applicant, size=2)
    assert page.unread == 3 and page.newest_id == newest.id and page.pages == 2
    assert inbox_page(req.applicant, 2, size=2).newest_id == newest.id  # the Postfach's, not the page's
