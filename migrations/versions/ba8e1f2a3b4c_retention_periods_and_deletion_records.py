"""Retention period per service (Aufbewahrungsfrist) and the record of requests deleted after it

Revision ID: ba8e1f2a3b4c
Revises: ab7c8d9e0f12
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "ba8e1f2a3b4c"
down_revision = "ab7c8d9e0f12"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "retention_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("retention_years", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("submitted_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("final_seq", sa.Integer(), nullable=True),
        sa.Column("final_hash", sa.String(length=64), nullable=True),
        sa.Column("counts", models.base.JSONType(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_retention_deletions_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_retention_deletions_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_deletions")),
        sa.UniqueConstraint("reference", name=op.f("uq_retention_deletions_reference")),
    )
    with op.batch_alter_table("retention_deletions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retention_deletions_service_id"), ["service_id"], unique=False)

    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retention_years", sa.Integer(), server_default=sa.text("10"), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("retention_years")

    with op.batch_alter_table("retention_deletions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_deletions_service_id"))

    op.drop_table("retention_deletions")
