"""Accounts deleted by their owner are kept anonymised and marked with deleted_at

A citizen's own account deletion (DSGVO Art. 17, services.privacy.delete_account) keeps the user row,
which submitted requests and their hash-chained history refer to, and records when it happened.

Revision ID: ee5a1b2c3d4e
Revises: dd4e5f6a7b8c
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "ee5a1b2c3d4e"
down_revision = "dd4e5f6a7b8c"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
