"""daily tallies of the week's hot issues

Revision ID: b3d5f7a9c1e2
Revises: a7e1c0d2b3f4
Create Date: 2026-12-02 01:10:00

``issue_tally``: per local day of creation, district and department type or suggestion term, the petitions the
dashboard's hot issues count (`workflow.hot_issues`, kept by `workflow.tallies`). Created empty, and the tallies'
watermark is cleared: until the next ``refresh_tallies`` run (which then rebuilds every tally) or ``qingsu tallies
rebuild``, the dashboard counts everything live, never from a table not yet filled.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b3d5f7a9c1e2"
down_revision = "a7e1c0d2b3f4"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.create_index("ix_issue_tally_facet_day", "issue_tally", ["facet", "day", "district_code"], unique=False)
    op.execute("UPDATE job_state SET value = '' WHERE name = 'tallies'")


def downgrade() -> None:
    op.drop_index("ix_issue_tally_facet_day", table_name="issue_tally")
    op.drop_table("issue_tally")
