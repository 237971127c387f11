"""The transaction boundary: one commit per web request or job."""

from contextlib import contextmanager

from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from extensions import db
from services.errors import StaleObject


@contextmanager
def transaction():
    """Commit what the block did, or roll everything back on an exception."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def request_changed() -> StaleObject:
    """Someone else changed the request since this actor loaded it (row_version moved on)."""
    return StaleObject(_("Der Antrag wurde zwischenzeitlich geändert. Bitte laden Sie die Seite neu."))


def check_row_version(req, expected_row_version) -> None:
    """Refuse an action decided on an older view of the request (None: the caller has none)."""
    if expected_row_version is not None and req.row_version != expected_row_version:
        raise request_changed()


@contextmanager
def stale_as_changed():
    """A flush that lost the race on row_version becomes the message users see."""
    try:
        yield
    except StaleDataError as exc:
        raise request_changed() from exc


def flush_or_stale() -> None:
    with stale_as_changed():
        db.session.flush()
