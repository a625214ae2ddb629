"""confirmed holiday years

Revision ID: b8f2d4e6a1c3
Revises: b3e5d7f9a1c2
Create Date: 2026-12-03 09:00:00

A year the package does not carry counts as known only once a platform manager confirms it (`holiday_year`); until
then the statutory holidays are the fallback, and a single override no longer marks the whole year known.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "b8f2d4e6a1c3"
down_revision = "b3e5d7f9a1c2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holiday_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("note", sa.String(length=100), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"], ["user_account.id"], name=op.f("fk_holiday_year_confirmed_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_holiday_year")),
    )


def downgrade() -> None:
    op.drop_table("holiday_year")
