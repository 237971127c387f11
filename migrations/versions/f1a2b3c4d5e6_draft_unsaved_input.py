"""Drafts remember the input "Später fortsetzen" could not save (invalid), to show it on resume

Revision ID: f1a2b3c4d5e6
Revises: e7f8a9b0c1d2
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "f1a2b3c4d5e6"
down_revision = "e7f8a9b0c1d2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unsaved_input", models.base.JSONType(), nullable=True))


def downgrade():
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_column("unsaved_input")
