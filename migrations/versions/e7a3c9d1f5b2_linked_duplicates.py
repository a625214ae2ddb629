"""linked duplicates: a petition linked to its master (duplicate_of_id) and a reply copied from the master's

Revision ID: e7a3c9d1f5b2
Revises: 9e4b71c2d5a8
Create Date: 2026-12-02 04:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e7a3c9d1f5b2"
down_revision = "9e4b71c2d5a8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_petition_duplicate_of_id"), ["duplicate_of_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_petition_duplicate_of_id_petition"), "petition", ["duplicate_of_id"], ["id"]
        )
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.add_column(sa.Column("linked_from_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_reply_linked_from_id_reply"), "reply", ["linked_from_id"], ["id"]
        )


def downgrade() -> None:
    # A linked petition goes back to the platform's queue: without the column it could not say what it is linked to.
    op.execute("UPDATE petition SET state = 'pending_dispatch' WHERE state = 'linked'")
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_reply_linked_from_id_reply"), type_="foreignkey")
        batch_op.drop_column("linked_from_id")
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_petition_duplicate_of_id_petition"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_petition_duplicate_of_id"))
        batch_op.drop_column("duplicate_of_id")
