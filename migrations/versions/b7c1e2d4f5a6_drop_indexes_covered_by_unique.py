"""Drop the request_id indexes of request_events and notices: their unique constraints lead with it

Every submission writes two events and a notice, every workflow step an event: each saved index
entry is write work the unique (request_id, seq) and (request_id, kind, revision) indexes make
redundant (lookups and foreign-key checks by request_id use them).

Revision ID: b7c1e2d4f5a6
Revises: 9d3ecb4e9e3a
Create Date: 2026-11-28
"""

from alembic import op

revision = "b7c1e2d4f5a6"
down_revision = "9d3ecb4e9e3a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("request_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_events_request_id"))
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_request_id"))


def downgrade():
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_request_id"), ["request_id"], unique=False)
    with op.batch_alter_table("request_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_events_request_id"), ["request_id"], unique=False)
