"""Migrations build the schema on an empty database and match the models exactly."""

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import create_app
from extensions import db


def _fresh_database_url(base_url: str, tmp_path) -> tuple[str, callable]:
    """An empty database of the same kind as the test database, and a cleanup function."""
    url = make_url(base_url)
    if url.get_backend_name() != "postgresql":
        return f"sqlite:///{tmp_path / 'migrations.db'}", lambda: None
    name = f"amtsweg_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def test_migrations_upgrade_from_empty_matches_models(app, tmp_path):
    url, cleanup = _fresh_database_url(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    fresh = create_app({**_config_of(app), "SQLALCHEMY_DATABASE_URI": url})
    try:
        with fresh.app_context():
            upgrade()
            with db.engine.connect() as conn:
                ctx = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(ctx, db.metadata)
                triggers = _triggers(conn)
            db.engine.dispose()
        assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"
        if url.startswith("postgresql"):  # what create_all installs too (models/outbox.py)
            assert triggers == {("outbox_jobs", "outbox_jobs_notify")}
    finally:
        cleanup()


def _triggers(conn) -> set[tuple[str, str]]:
    if conn.dialect.name != "postgresql":
        return set()
    rows = conn.execute(text("SELECT event_object_table, trigger_name FROM information_schema.triggers"))
    return {tuple(row) for row in rows}


def _config_of(app):
    keys = ("ENV_NAME", "INSTANCE_PATH", "SECRET_KEY", "TESTING")
    return {k: app.config[k] for k in keys}


def test_migrations_downgrade_to_base_leaves_no_tables(app, tmp_path):
    from flask_migrate import downgrade

    url, cleanup = _fresh_database_url(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    fresh = create_app({**_config_of(app), "SQLALCHEMY_DATABASE_URI": url})
    try:
        with fresh.app_context():
            upgrade()
            downgrade(revision="base")
            with db.engine.connect() as conn:
                tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
            db.engine.dispose()
        assert tables == set()
    finally:
        cleanup()
