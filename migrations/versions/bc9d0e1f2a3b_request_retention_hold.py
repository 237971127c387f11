"""Requests can be kept beyond their retention period (a hold with a reason)

Revision ID: bc9d0e1f2a3b
Revises: ba8e1f2a3b4c
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "bc9d0e1f2a3b"
down_revision = "ba8e1f2a3b4c"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_hold_reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_column("retention_hold_reason")
