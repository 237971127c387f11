"""Requests remember when the applicant answered a question, until staff act (queue: "Antwort eingegangen")

Revision ID: ab7c8d9e0f12
Revises: cc3e5a7f9b12
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "ab7c8d9e0f12"
down_revision = "cc3e5a7f9b12"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("citizen_replied_at", models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_column("citizen_replied_at")
