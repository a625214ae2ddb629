"""daily tallies of the dashboard's figures

Revision ID: c9d8e7f6a5b4
Revises: f1c2d3e4a5b6
Create Date: 2026-12-01 23:30:00

``rate_tally`` and ``acceptance_tally``: per local day, district, unit and kind (per suggested department for the
acceptance), what the dashboard's rates count (`workflow.tallies`), and each month rolled up. Created empty: the scheduler's
``refresh_tallies`` builds them at its first run (or ``qingsu tallies rebuild``), and until then the dashboard
counts everything live.

``ix_petition_running_lights``: the dashboard's light counts read the open petitions from this partial index only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c9d8e7f6a5b4"
down_revision = "f1c2d3e4a5b6"
branch_labels = None
depends_on = None

_KINDS = ("LIVELIHOOD", "DEVELOPMENT", "ENFORCEMENT")


def upgrade() -> None:
    op.create_table(
        "rate_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("whole_month", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("district_code", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind", sa.Enum(*_KINDS, name="petitionkind", native_enum=False, length=30), nullable=False
        ),
        sa.Column("rated", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("unrated", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_tally")),
    )
    op.create_index(
        "ix_rate_tally_whole_month_day", "rate_tally", ["whole_month", "day", "district_code"], unique=False
    )
    op.create_table(
        "acceptance_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("whole_month", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("district_code", sa.String(length=20), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("decided", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acceptance_tally")),
    )
    op.create_index(
        "ix_acceptance_tally_whole_month_day",
        "acceptance_tally",
        ["whole_month", "day", "district_code"],
        unique=False,
    )

    op.create_index(
        "ix_petition_running_lights",
        "petition",
        ["state", "district_code", "deadline", "yellow_at", "accepted_at"],
        unique=False,
        postgresql_where=sa.text("closed_at IS NULL"),
        sqlite_where=sa.text("closed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_petition_running_lights",
        table_name="petition",
        postgresql_where=sa.text("closed_at IS NULL"),
        sqlite_where=sa.text("closed_at IS NULL"),
    )
    op.drop_index("ix_acceptance_tally_whole_month_day", table_name="acceptance_tally")
    op.drop_table("acceptance_tally")
    op.drop_index("ix_rate_tally_whole_month_day", table_name="rate_tally")
    op.drop_table("rate_tally")
