"""Published form versions record their field renames (older versions' answers read with new keys)

Revision ID: dd4e5f6a7b8c
Revises: a9b8c7d6e5f4
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "dd4e5f6a7b8c"
down_revision = "a9b8c7d6e5f4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("form_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renamed_fields", models.base.JSONType(), nullable=True))


def downgrade():
    with op.batch_alter_table("form_versions", schema=None) as batch_op:
        batch_op.drop_column("renamed_fields")
