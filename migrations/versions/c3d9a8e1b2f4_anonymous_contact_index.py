"""Partial index on the contact address of requests submitted without an account

"Meine Anträge" offers a citizen the requests submitted without an account to their confirmed
address (services.anonymous.claimable_requests); only anonymous requests are indexed.

Revision ID: c3d9a8e1b2f4
Revises: b7c1e2d4f5a6
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "c3d9a8e1b2f4"
down_revision = "b7c1e2d4f5a6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_requests_anonymous_contact",
            ["contact_email"],
            unique=False,
            postgresql_where=sa.text("applicant_id IS NULL"),
            sqlite_where=sa.text("applicant_id IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_service_requests_anonymous_contact")
