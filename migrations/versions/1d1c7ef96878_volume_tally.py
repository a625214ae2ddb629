"""volume tally: petitions received per day, district, kind and department type

Revision ID: 1d1c7ef96878
Revises: 1c74c017b10d
Create Date: 2026-12-02 04:40:00

``volume_tally``: the dashboard's volume charts (`workflow.tallies.period_volumes`). Created empty; the tallies'
watermark is cleared so the dashboard counts live until the scheduler's next ``refresh_tallies`` rebuilds every
tally (the new one included), as after a bulk load.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1d1c7ef96878"
down_revision = "1c74c017b10d"
branch_labels = None
depends_on = None

_KINDS = ("LIVELIHOOD", "DEVELOPMENT", "ENFORCEMENT")
_DEPT_TYPES = (
    "HOUSING", "URBAN_MGMT", "ECOLOGY", "TRANSPORT", "EDUCATION", "HRSS", "HEALTH", "MARKET", "POLICE", "CIVIL",
    "NATURAL_RES", "AGRI", "WATER", "COMMERCE", "CULTURE_TOURISM", "MEDICAL_INS", "TAX", "APPROVAL", "INDUSTRY",
    "HEATING", "UTILITIES",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "volume_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("whole_month", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("district_code", sa.String(length=20), nullable=False),
        sa.Column(
            "kind", sa.Enum(*_KINDS, name="petitionkind", native_enum=False, length=30), nullable=False
        ),
        sa.Column(
            "dept_type", sa.Enum(*_DEPT_TYPES, name="depttype", native_enum=False, length=30), nullable=True
        ),
        sa.Column("petitions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_tally")),
    )
    op.create_index(
        "ix_volume_tally_whole_month_day",
        "volume_tally",
        ["whole_month", "day", "district_code"],
        unique=False,
    )
    # The other tallies are trusted from their watermark on; the new one has nothing yet, so none is trusted
    # until the next refresh rebuilds them all.
    op.execute("UPDATE job_state SET value = '' WHERE name = 'tallies'")


def downgrade() -> None:
    op.drop_index("ix_volume_tally_whole_month_day", table_name="volume_tally")
    op.drop_table("volume_tally")
