"""cooperation tasks, extension caps per round, unit self-review

Revision ID: b3d5e7f9a1c2
Revises: b8f2d4e6a1c3
Create Date: 2026-12-02 01:20:00

Issue 13: a 执法 petition's cooperating units each get a task (`cooperation_task`); extension requests record their
handling round and whether only the city platform may decide them; a unit may let its handlers approve their own
replies (`unit.handler_self_review`, off).

Requests already stored are put in the petition's current round when they were made after its acceptance in that
round, otherwise in the round before (the exact earlier round does not matter: the caps count the current round only).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "b3d5e7f9a1c2"
down_revision = "b8f2d4e6a1c3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cooperation_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("handling_round", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("ASSIGNED", "ACCEPTED", "SUBMITTED", "WITHDRAWN", name="taskstate", native_enum=False, length=30),
            nullable=False,
        ),
        sa.Column("deadline", models.base.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("part", sa.Text(), nullable=False),
        sa.Column("submitted_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"], ["user_account.id"], name=op.f("fk_cooperation_task_accepted_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["petition_id"], ["petition.id"], name=op.f("fk_cooperation_task_petition_id_petition"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["user_account.id"], name=op.f("fk_cooperation_task_submitted_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_cooperation_task_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cooperation_task")),
        sa.UniqueConstraint(
            "petition_id", "handling_round", "unit_id", name=op.f("uq_cooperation_task_petition_id")
        ),
    )
    with op.batch_alter_table("cooperation_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cooperation_task_petition_id"), ["petition_id"], unique=False)
        batch_op.create_index("ix_cooperation_task_unit_state", ["unit_id", "state", "deadline"], unique=False)

    with op.batch_alter_table("extension_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handling_round", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("needs_city", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        """
        UPDATE extension_request SET handling_round = (
            SELECT CASE
                WHEN p.accepted_at IS NOT NULL AND extension_request.created_at >= p.accepted_at THEN p.handling_round
                WHEN p.handling_round > 1 THEN p.handling_round - 1
                ELSE 1
            END
            FROM petition p WHERE p.id = extension_request.petition_id
        )
        """
    )

    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handler_self_review", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_column("handler_self_review")
    with op.batch_alter_table("extension_request", schema=None) as batch_op:
        batch_op.drop_column("needs_city")
        batch_op.drop_column("handling_round")
    with op.batch_alter_table("cooperation_task", schema=None) as batch_op:
        batch_op.drop_index("ix_cooperation_task_unit_state")
        batch_op.drop_index(batch_op.f("ix_cooperation_task_petition_id"))
    op.drop_table("cooperation_task")
