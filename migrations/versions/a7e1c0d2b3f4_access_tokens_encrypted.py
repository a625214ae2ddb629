"""access tokens encrypted at rest

Revision ID: a7e1c0d2b3f4
Revises: c9d8e7f6a5b4
Create Date: 2026-12-02 00:40:00

The column keeps its type (text); what it holds is now encrypted with the data key. Tokens stored in plain text
before are dropped rather than encrypted here: each account renews its token on its next call to WeChat.
"""

from __future__ import annotations

from alembic import op

revision = "a7e1c0d2b3f4"
down_revision = "c9d8e7f6a5b4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM access_token")


def downgrade() -> None:
    op.execute("DELETE FROM access_token")
