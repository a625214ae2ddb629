"""indexes for the list pages and the API's change polling

Revision ID: e5a92c7f1d03
Revises: d3f8a61c5b27
Create Date: 2026-12-01 22:30:00

The orders and filters of the admin site's lists and the JSON API (issue 9): a district's queue and review lists,
the city's queues, a district's search, a unit's workbench, cooperating units, pending extension requests, a
reader's alerts, and the hotline polling changes by (updated_at, id).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e5a92c7f1d03"
down_revision = "d3f8a61c5b27"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_petition_district_state_created", "petition", ["district_code", "state", "created_at", "id"]),
    ("ix_petition_state_created", "petition", ["state", "created_at", "id"]),
    ("ix_petition_district_created", "petition", ["district_code", "created_at", "id"]),
    ("ix_petition_current_unit_state", "petition", ["current_unit_id", "state", "deadline"]),
    ("ix_petition_updated_at_id", "petition", ["updated_at", "id"]),
    ("ix_petition_cooperating_unit_unit", "petition_cooperating_unit", ["unit_id", "petition_id"]),
    ("ix_extension_request_state_petition", "extension_request", ["state", "petition_id"]),
    ("ix_staff_alert_unit_created", "staff_alert", ["unit_id", "created_at"]),
)


# Partial: only petitions in a second or later round (二次办理), for the follow-up list.
SECOND_ROUND = ("ix_petition_second_round", "petition", ["district_code", "state", "updated_at"])
SECOND_ROUND_WHERE = sa.text("handling_round > 1")


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    name, table, columns = SECOND_ROUND
    op.create_index(
        name,
        table,
        columns,
        unique=False,
        postgresql_where=SECOND_ROUND_WHERE,
        sqlite_where=SECOND_ROUND_WHERE,
    )


def downgrade() -> None:
    op.drop_index(SECOND_ROUND[0], table_name=SECOND_ROUND[1])
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
