"""district hotline and service hours (what the chat bot says to 人工)

Revision ID: b2d4f6a8c0e1
Revises: a7e1c0d2b3f4
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b2d4f6a8c0e1"
down_revision = "a7e1c0d2b3f4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hotline", sa.String(length=40), server_default="", nullable=False))
        batch_op.add_column(sa.Column("service_hours", sa.String(length=60), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.drop_column("service_hours")
        batch_op.drop_column("hotline")
