"""Shared fixtures: app, db (emptied after each test), client, login_as, real-service switches.

Locally the suite runs on SQLite (and fakeredis where a test allows it). With DATABASE_URL /
REDIS_URL set (CI does), the same tests run against real PostgreSQL and Redis; with
AMTSWEG_REQUIRE_SERVICES=1, a test that would skip for want of a real service fails instead.
"""

import os

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import text

from app import create_app
from extensions import db as _db

REQUIRE_SERVICES = os.environ.get("AMTSWEG_REQUIRE_SERVICES") == "1"


def _test_config(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    return {
        "ENV_NAME": "test",
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'test.db'}",
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "MAIL_BACKEND": "file",
        "MAIL_DIR": str(instance / "mail"),
        "UPLOAD_DIR": str(instance / "uploads"),
        "NOTICE_DIR": str(instance / "notices"),
        "PKI_DIR": str(instance / "pki"),
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "RATELIMIT_STORAGE_URI": "memory://",
        "WTF_CSRF_ENABLED": False,  # tests/web/test_csrf.py switches it on
        "SERVER_NAME": None,
    }


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = create_app(_test_config(tmp_path_factory))
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()  # close pooled connections (PostgreSQL warns about unclosed ones)


@pytest.fixture
def app_ctx(app):
    with app.test_request_context():
        yield app


@pytest.fixture
def db(app_ctx):
    """The database, emptied after the test (views commit, so a rollback alone is not enough)."""
    yield _db
    _db.session.rollback()
    _db.session.remove()
    _empty_tables()


def _empty_tables():
    tables = list(reversed(_db.metadata.sorted_tables))
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


class _FreshUserClient(FlaskClient):
    """Forgets Flask-Login's cached user before each request.

    The `db` fixture keeps one app context open for the whole test (so factories' flushed rows
    are visible to requests), and Flask reuses it for client requests: without this, the user
    loaded by one request would leak into the next and hide session-invalidation bugs.
    """

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app, db):
    from extensions import limiter

    limiter.reset()
    app.test_client_class = _FreshUserClient
    return app.test_client()


@pytest.fixture
def login_as(client):
    """Log a user in through the real login form (so session rules are exercised)."""

    from tests.factories import PASSWORD

    def _login(user, password=PASSWORD):
        resp = client.post("/anmelden", data={"email": user.email, "password": password})
        assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:500]
        return user

    return _login


def csrf_token_from(response) -> str:
    """Extract the CSRF token from a rendered page (for tests that enable CSRF)."""
    import re

    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no csrf_token in page"
    return match.group(1)


def require_service(name: str, available: bool):
    """Skip locally, fail in CI, when a real service the test needs is not configured."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is required in CI (AMTSWEG_REQUIRE_SERVICES=1) but not configured")
    pytest.skip(f"{name} not configured")


@pytest.fixture
def postgres(app):
    is_postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    require_service("PostgreSQL (DATABASE_URL)", is_postgres)
    return app


@pytest.fixture
def real_redis_url(app):
    url = os.environ.get("REDIS_URL", "")
    require_service("Redis (REDIS_URL)", bool(url))
    return url


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an asyncio loop running in the main thread
    for the rest of the session, and pyHanko's sync signing calls asyncio.run()."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/browser/"))
