"""PostgreSQL: NOTIFY the outbox relay when pending outbox rows are committed

The relay hands new rows to RQ in batches as soon as it is woken (decision 0011), instead of each
writing process enqueueing its rows after commit. SQLite has no NOTIFY: nothing to do there.

Revision ID: e7f8a9b0c1d2
Revises: d5e6f7a8b9c0
Create Date: 2026-11-28
"""

from alembic import op

# A snapshot of models/outbox.py's statements as of this revision (migrations do not follow the models).
FUNCTION = """
CREATE OR REPLACE FUNCTION amtsweg_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('amtsweg_outbox', '');
    RETURN NULL;
END $$
"""
TRIGGER = """
CREATE TRIGGER outbox_jobs_notify AFTER INSERT OR UPDATE OF state ON outbox_jobs
FOR EACH ROW WHEN (NEW.state = 'pending') EXECUTE FUNCTION amtsweg_outbox_notify()
"""

revision = "e7f8a9b0c1d2"
down_revision = "d5e6f7a8b9c0"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute(TRIGGER)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS outbox_jobs_notify ON outbox_jobs")
    op.execute("DROP FUNCTION IF EXISTS amtsweg_outbox_notify()")
