"""a partial index of the petitions open at a unit, for the workbench's cooperating list

Revision ID: 1c74c017b10d
Revises: e7a3c9d1f5b2
Create Date: 2026-12-02 05:10:00

A unit's workbench lists the 执法 petitions it cooperates on that are still open. A busy unit has cooperated on a
thousand over a year, of which a few dozen are open: without this index each of them is read to see its state
(77 ms over 1,000,000 generated petitions); with it, each cooperating id probes an index of the open petitions
(about 1 % of them; 1.5 ms).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1c74c017b10d"
down_revision = "e7a3c9d1f5b2"
branch_labels = None
depends_on = None

# The states are stored as the members' names (models.petition.OPEN_AT_UNIT).
OPEN_AT_UNIT = sa.text("state IN ('ASSIGNED', 'HANDLING', 'UNIT_REVIEW', 'CITY_REVIEW', 'PLATFORM_REVIEW')")


def upgrade() -> None:
    op.create_index(
        "ix_petition_open_at_unit",
        "petition",
        ["id", "deadline"],
        unique=False,
        postgresql_where=OPEN_AT_UNIT,
        sqlite_where=OPEN_AT_UNIT,
    )


def downgrade() -> None:
    op.drop_index("ix_petition_open_at_unit", table_name="petition")
