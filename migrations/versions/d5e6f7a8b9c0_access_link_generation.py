"""Generation counter of the personal status link of requests submitted without an account

Renewing the link counts it up; the token is an HMAC over the request's public id and this
generation, so the previous link stops working (services.anonymous.renew_access_link).

Revision ID: d5e6f7a8b9c0
Revises: c3d9a8e1b2f4
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "d5e6f7a8b9c0"
down_revision = "c3d9a8e1b2f4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("access_link_generation", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_column("access_link_generation")
