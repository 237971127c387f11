"""Test helpers for accounts: a mailbox over MAIL_DIR and a client with one app context per request."""

import email
import re
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from workers.inline import run_pending_jobs


class IsolatedClient(FlaskClient):
    """Runs every request in its own app context, as a real server does.

    The `db` fixture keeps an app context open for the whole test; Flask reuses it for client
    requests, so `g` (and Flask-Login's cached user) would leak from one request into the next
    and hide session-invalidation bugs. A fresh context per request gives a fresh `g` and a
    fresh database session (re-read your objects with `db.session.expire_all()`).
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


class Mailbox:
    """The messages in MAIL_DIR; `deliver()` runs pending outbox jobs first (acts as the worker)."""

    def __init__(self, app):
        self.dir = Path(app.config["MAIL_DIR"])
        self.clear()

    def clear(self):
        for path in self.dir.glob("*.eml") if self.dir.exists() else ():
            path.unlink()

    def messages(self, to: str | None = None):
        paths = sorted(self.dir.glob("*.eml")) if self.dir.exists() else []
        msgs = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in paths]
        return [m for m in msgs if to is None or m["To"] == to]

    def deliver(self, to: str | None = None):
        run_pending_jobs()
        return self.messages(to)

    def last(self, to: str):
        msgs = self.deliver(to)
        assert msgs, f"no email to {to}"
        return msgs[-1]


def body_of(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def link_path(msg, prefix: str) -> str:
    """The path of the first link in the message whose path starts with `prefix`."""
    for url in re.findall(r"https?://\S+", body_of(msg)):
        path = urlsplit(url).path
        if path.startswith(prefix):
            return path
    raise AssertionError(f"no link starting with {prefix} in:\n{body_of(msg)}")
