"""The transaction boundary: one commit per web request or job."""

from contextlib import contextmanager

from extensions import db


@contextmanager
def transaction():
    """Commit what the block did, or roll everything back on an exception."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
