"""The citizen's Postfach: the InboxItems written by services.notifications, newest first."""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from extensions import db
from models import InboxItem
from models.base import utcnow
from services.errors import NotFound

PAGE_SIZE = 20


@dataclass(frozen=True)
class InboxPage:
    items: list
    number: int  # 1-based, within 1..pages
    pages: int
    unread: int = 0  # in the whole Postfach, not only on this page
    newest_id: int | None = None  # the newest entry when the page was read (None: the Postfach is empty)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def inbox_page(user, number: int = 1, size: int = PAGE_SIZE) -> InboxPage:
    """One page of the user's entries; a page number out of range shows the nearest existing page."""
    total, read, newest_id = db.session.execute(
        select(func.count(), func.count(InboxItem.read_at), func.max(InboxItem.id)).where(
            InboxItem.user_id == user.id
        )
    ).one()
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    query = (
        select(InboxItem)
        .where(InboxItem.user_id == user.id)
        .order_by(InboxItem.created_at.desc(), InboxItem.id.desc())
        .offset((number - 1) * size)
        .limit(size)
    )
    return InboxPage(list(db.session.scalars(query)), number, pages, unread=total - read, newest_id=newest_id)


def unread_count(user) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(InboxItem)
        .where(InboxItem.user_id == user.id, InboxItem.read_at.is_(None))
    )


def mark_read(item: InboxItem, actor) -> InboxItem:
    """Opening an entry marks it read (once: the first reading time is kept)."""
    if item.user_id != actor.id:
        raise NotFound(_("Diese Nachricht gibt es nicht."))
    if item.read_at is None:
        item.read_at = utcnow()
        db.session.flush()
    return item


def mark_all_read(actor, newest_id: int) -> int:
    """Mark the actor's unread entries up to `newest_id` read, in one UPDATE; returns how many.

    `newest_id` is the newest entry the Postfach held when the citizen saw it: entries that arrived
    after that (higher ids) stay unread, since "Alle als gelesen markieren" promised only those.
    """
    result = db.session.execute(
        update(InboxItem)
        .where(InboxItem.user_id == actor.id, InboxItem.read_at.is_(None), InboxItem.id <= newest_id)
        .values(read_at=utcnow())
    )
    return result.rowcount
