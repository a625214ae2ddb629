"""plain-mode replay memory, the health probe row, the intake digest of petitions from other channels

Revision ID: b8d2e4f6a1c3
Revises: b3d5f7a9c1e2
Create Date: 2026-12-02 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b8d2e4f6a1c3"
down_revision = "b3d5f7a9c1e2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_nonce",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("body_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_webhook_nonce")),
    )
    with op.batch_alter_table("webhook_nonce", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_nonce_created_at"), ["created_at"], unique=False)
    op.create_table(
        "health_probe",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_health_probe")),
    )
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intake_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.drop_column("intake_digest")
    op.drop_table("health_probe")
    with op.batch_alter_table("webhook_nonce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_nonce_created_at"))
    op.drop_table("webhook_nonce")
