"""notification channel: pushes of hotline petitions' changes to the 12345 hotline (no citizen)

Revision ID: c4d9e2f7a1b8
Revises: b8d2e4f6a1c3
Create Date: 2026-12-02 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c4d9e2f7a1b8"
down_revision = "b8d2e4f6a1c3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=20), server_default="wechat", nullable=False)
        )
        batch_op.alter_column("citizen_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # The pushes have no citizen: they go with the column.
    op.execute("DELETE FROM notification WHERE citizen_id IS NULL")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.alter_column("citizen_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("channel")
