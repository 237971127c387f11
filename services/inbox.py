"""The citizen's Postfach: the InboxItems written by services.notifications, newest first."""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

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

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def inbox_page(user, number: int = 1, size: int = PAGE_SIZE) -> InboxPage:
    """One page of the user's entries; a page number out of range shows the nearest existing page."""
    total = db.session.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.user_id == user.id))
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    query = (
        select(InboxItem)
        .where(InboxItem.user_id == user.id)
        .order_by(InboxItem.created_at.desc(), InboxItem.id.desc())
        .offset((number - 1) * size)
        .limit(size)
    )
    return InboxPage(list(db.session.scalars(query)), number, pages)


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
