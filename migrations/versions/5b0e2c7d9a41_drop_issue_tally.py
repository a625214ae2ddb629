"""drop issue_tally: the dashboard no longer counts hot departments and terms per day

Revision ID: 5b0e2c7d9a41
Revises: 1d1c7ef96878
Create Date: 2026-12-02 11:45:00

The dashboard's hot issues are clusters of similar petitions (`workflow.hot_issues`, table ``hot_issue``) since
e8a3c61f5d92; the daily department and term counts of ``issue_tally`` fed the panel they replaced, and the tallies
job went on recomputing them every few minutes for nothing. The monthly report counts its departments live.
The downgrade recreates the table empty and clears the tallies' watermark, so the next refresh rebuilds it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5b0e2c7d9a41"
down_revision = "1d1c7ef96878"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_issue_tally_facet_day", table_name="issue_tally")
    op.drop_table("issue_tally")


def downgrade() -> None:
    op.create_table(
        "issue_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("district_code", sa.String(length=20), nullable=False),
        sa.Column("facet", sa.String(length=10), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("petitions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_tally")),
    )
    op.create_index(
        "ix_issue_tally_facet_day", "issue_tally", ["facet", "day", "district_code"], unique=False
    )
    op.execute("UPDATE job_state SET value = '' WHERE name = 'tallies'")
