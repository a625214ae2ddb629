"""citizen: drop ix_citizen_district_code, which the unique key (district_code, openid) covers

Every new citizen wrote one index entry (and one WAL record) more for an index no query needs: a lookup or a
foreign-key check by district_code uses the unique key's index, whose first column it is.

Revision ID: 9e4b71c2d5a8
Revises: 4efde87fe7d5
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

from alembic import op

revision = "9e4b71c2d5a8"
down_revision = "4efde87fe7d5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.drop_index("ix_citizen_district_code")


def downgrade() -> None:
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.create_index("ix_citizen_district_code", ["district_code"], unique=False)
