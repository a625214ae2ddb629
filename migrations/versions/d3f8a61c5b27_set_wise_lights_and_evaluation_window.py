"""set-wise lights and the evaluation window

Revision ID: d3f8a61c5b27
Revises: 4222286c8291
Create Date: 2026-12-01 22:40:00

- ``petition.yellow_at``: the instant the light turns yellow. Left NULL here on purpose: it depends on
  ``[lights] yellow_fraction_left``, a setting of the running application that a migration does not read, and the
  lights job computes every NULL anyway (in batches of ``[lights] batch_size``, one SELECT and one UPDATE each) —
  the same path it takes for rows written in bulk and after a change of threshold or holiday calendar. Until its
  first run the stored lights stay as they were.
- ``petition.reply_delivered_at`` / ``evaluation_requested_at`` / ``evaluation_reminded_at``: the evaluation jobs'
  bookkeeping, filled here for the petitions awaiting a rating from the notifications already sent, so nobody is
  asked or reminded twice; computed in the database, set-wise.
- indexes for the two jobs, and ``job_state``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "d3f8a61c5b27"
down_revision = "4222286c8291"
branch_labels = None
depends_on = None

# Enum columns store the member names.
_LATEST_REPLY = (
    "(SELECT MAX(m.id) FROM notification m WHERE m.petition_id = petition.id AND m.event = 'replied')"
)


def _first_since_reply(event: str) -> str:
    return (
        f"(SELECT MIN(n.created_at) FROM notification n WHERE n.petition_id = petition.id "
        f"AND n.event = '{event}' AND n.id > {_LATEST_REPLY})"
    )


def upgrade() -> None:
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("yellow_at", models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("reply_delivered_at", models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("evaluation_requested_at", models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("evaluation_reminded_at", models.base.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_petition_state_yellow_at", ["state", "yellow_at"], unique=False)
        batch_op.create_index(
            "ix_petition_state_reply_delivered_at", ["state", "reply_delivered_at"], unique=False
        )
    op.create_table(
        "job_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_state")),
    )
    op.execute(
        "UPDATE petition SET "
        "reply_delivered_at = (SELECT n.sent_at FROM notification n "
        f"WHERE n.id = {_LATEST_REPLY} AND n.state = 'SENT'), "
        f"evaluation_requested_at = {_first_since_reply('evaluation_request')}, "
        f"evaluation_reminded_at = {_first_since_reply('evaluation_reminder')} "
        "WHERE state = 'AWAITING_EVALUATION'"
    )


def downgrade() -> None:
    # The previous schema knows no 未评价: those petitions await a rating again, and the closings' history goes.
    op.execute("DELETE FROM petition_event WHERE action = 'expire_evaluation'")
    op.execute("UPDATE petition SET state = 'AWAITING_EVALUATION', closed_at = NULL WHERE state = 'UNRATED'")
    op.drop_table("job_state")
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.drop_index("ix_petition_state_reply_delivered_at")
        batch_op.drop_index("ix_petition_state_yellow_at")
        batch_op.drop_column("evaluation_reminded_at")
        batch_op.drop_column("evaluation_requested_at")
        batch_op.drop_column("reply_delivered_at")
        batch_op.drop_column("yellow_at")
