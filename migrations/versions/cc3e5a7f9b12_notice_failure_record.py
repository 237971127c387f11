"""Notices record why they failed as data (reason code and parameters), worded when shown

Revision ID: cc3e5a7f9b12
Revises: ee5a1b2c3d4e
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "cc3e5a7f9b12"
down_revision = "ee5a1b2c3d4e"
branch_labels = None
depends_on = None


def upgrade():
    # Old failed rows keep NULL: their reason is still read from the error text.
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure", models.base.JSONType(), nullable=True))


def downgrade():
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("failure")
