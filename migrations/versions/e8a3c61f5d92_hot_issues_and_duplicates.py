"""hot issues (clusters of similar petitions) and possible duplicates of new petitions

Revision ID: e8a3c61f5d92
Revises: c4d9e2f7a1b8
Create Date: 2026-12-02 05:00:00

Derived tables, written by the scheduler's `hot_issues` and `duplicate_candidates` jobs: created empty, filled by
their first run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "e8a3c61f5d92"
down_revision = "c4d9e2f7a1b8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hot_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("previous", sa.Integer(), nullable=False),
        sa.Column("daily", sa.JSON(), nullable=False),
        sa.Column("districts", sa.JSON(), nullable=False),
        sa.Column("dept_type", sa.String(length=40), nullable=True),
        sa.Column("street", sa.String(length=60), nullable=True),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hot_issue")),
    )
    op.create_index("ix_hot_issue_days_rank", "hot_issue", ["days", "rank"], unique=False)
    op.create_table(
        "hot_issue_petition",
        sa.Column("hot_issue_id", sa.Integer(), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["hot_issue_id"],
            ["hot_issue.id"],
            name=op.f("fk_hot_issue_petition_hot_issue_id_hot_issue"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petition.id"],
            name=op.f("fk_hot_issue_petition_petition_id_petition"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hot_issue_id", "petition_id", name=op.f("pk_hot_issue_petition")),
    )
    op.create_index(
        "ix_hot_issue_petition_district",
        "hot_issue_petition",
        ["district_code", "hot_issue_id"],
        unique=False,
    )
    op.create_table(
        "duplicate_candidate",
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["petition.id"],
            name=op.f("fk_duplicate_candidate_candidate_id_petition"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petition.id"],
            name=op.f("fk_duplicate_candidate_petition_id_petition"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("petition_id", "candidate_id", name=op.f("pk_duplicate_candidate")),
    )
    op.create_index(
        op.f("ix_duplicate_candidate_candidate_id"), "duplicate_candidate", ["candidate_id"], unique=False
    )
    op.create_table(
        "duplicate_check",
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petition.id"],
            name=op.f("fk_duplicate_check_petition_id_petition"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("petition_id", name=op.f("pk_duplicate_check")),
    )


def downgrade() -> None:
    op.drop_table("duplicate_check")
    op.drop_index(op.f("ix_duplicate_candidate_candidate_id"), table_name="duplicate_candidate")
    op.drop_table("duplicate_candidate")
    op.drop_index("ix_hot_issue_petition_district", table_name="hot_issue_petition")
    op.drop_table("hot_issue_petition")
    op.drop_index("ix_hot_issue_days_rank", table_name="hot_issue")
    op.drop_table("hot_issue")
