"""indexes for the dashboard, the lights and the unit scope

Revision ID: b7c41d9e2a10
Revises: e5a92c7f1d03
Create Date: 2026-12-01 22:40:00
"""

from __future__ import annotations

from alembic import op

revision = "b7c41d9e2a10"
down_revision = "e5a92c7f1d03"
branch_labels = None
depends_on = None

# (table, index, columns), in the order they are created.
INDEXES = (
    ("petition", "ix_petition_state_deadline", ["state", "deadline"]),
    ("petition", "ix_petition_state_light", ["state", "light"]),
    ("petition", "ix_petition_state_closed_at", ["state", "closed_at"]),
    ("petition", "ix_petition_closed_at", ["closed_at"]),
    ("petition", "ix_petition_lead_unit_id", ["lead_unit_id"]),
    ("petition", "ix_petition_origin_unit_id", ["origin_unit_id"]),
    # Covering: the on-time and rating counts read these indexes, not the replies' and ratings' texts.
    ("reply", "ix_reply_state_sent_at", ["state", "sent_at", "petition_id", "unit_id", "on_time"]),
    (
        "evaluation",
        "ix_evaluation_created_at",
        ["created_at", "petition_id", "handling_round", "unit_id", "satisfaction", "resolution"],
    ),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
