"""Fields renamed in a form draft since its last publication

Publishing the draft rewrites the service's routing rules from the old to the new field keys
(services.admin_services.publish_definition); until then the live rules keep reading the keys of
the published form.

Revision ID: a9b8c7d6e5f4
Revises: f1a2b3c4d5e6
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from models.base import JSONType

revision = "a9b8c7d6e5f4"
down_revision = "f1a2b3c4d5e6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("form_definitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft_renames", JSONType(), server_default="{}", nullable=False))


def downgrade():
    with op.batch_alter_table("form_definitions", schema=None) as batch_op:
        batch_op.drop_column("draft_renames")
