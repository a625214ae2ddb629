"""attachments kept: the media job's columns on attachment

Revision ID: b3e5d7f9a1c2
Revises: b2d4f6a8c0e1
Create Date: 2026-12-03 10:00:00

Images and voice messages are downloaded from WeChat by the scheduler (`workflow.media`) and kept by content hash.
Attachments already stored with a WeChat media id are queued for it here (due at their arrival): those still within
WeChat's three days are fetched, older ones end as lost with the reason.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "b3e5d7f9a1c2"
down_revision = "b2d4f6a8c0e1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "media_state",
                sa.Enum("PENDING", "STORED", "LOST", name="mediastate", native_enum=False, length=30),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("content_type", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("size", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fetch_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_fetch_at", models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("fetched_at", models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("locked_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("locked_until", models.base.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_attachment_media_state_next", ["media_state", "next_fetch_at"], unique=False)
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.alter_column("fetch_attempts", server_default=None)
    op.execute(
        "UPDATE attachment SET media_state = 'PENDING', next_fetch_at = created_at "
        "WHERE media_id IS NOT NULL AND media_id <> ''"
    )


def downgrade() -> None:
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index("ix_attachment_media_state_next")
        for column in (
            "locked_until",
            "locked_by",
            "last_error",
            "fetched_at",
            "next_fetch_at",
            "fetch_attempts",
            "size",
            "content_type",
            "sha256",
            "media_state",
        ):
            batch_op.drop_column(column)
