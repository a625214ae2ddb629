"""daily tallies of the week's hot issues; the free-text search's bigram index (PostgreSQL)

Revision ID: b3d5f7a9c1e2
Revises: b3d5e7f9a1c2
Create Date: 2026-12-02 01:10:00

``issue_tally``: per local day of creation, district and department type or suggestion term, the petitions the
dashboard's hot issues count (`workflow.hot_issues`, kept by `workflow.tallies`). Created empty, and the tallies'
watermark is cleared: until the next ``refresh_tallies`` run (which then rebuilds every tally) or ``qingsu tallies
rebuild``, the dashboard counts everything live, never from a table not yet filled.

On PostgreSQL only, ``qingsu_text_bigrams(title, content, location)`` (the pairs of adjacent characters of the
lower-cased texts) and a GIN index on it, ``ix_petition_text_bigrams``, through which the search finds the petitions
containing a text before its ILIKE decides (`models.text_search`; the SQL is repeated here as it was when written).
Building it reads every petition: 12 minutes over a million on two cores shared with a load of 12 (287 MB).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b3d5f7a9c1e2"
down_revision = "b3d5e7f9a1c2"
branch_labels = None
depends_on = None

CREATE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION qingsu_text_bigrams(title text, content text, location text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_remove(
        string_to_array(regexp_replace(lower(title || ' ' || content || ' ' || location), '(..)', E'\\1\x1f', 'g'), E'\x1f')
        || string_to_array(regexp_replace(substr(lower(title || ' ' || content || ' ' || location), 2), '(..)', E'\\1\x1f', 'g'), E'\x1f'),
        '')
$$
"""


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
    op.create_index(
        "ix_issue_tally_facet_day", "issue_tally", ["facet", "day", "district_code"], unique=False
    )
    op.execute("UPDATE job_state SET value = '' WHERE name = 'tallies'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_FUNCTION)
        op.execute("SET LOCAL maintenance_work_mem = '256MB'")
        op.execute(
            "CREATE INDEX ix_petition_text_bigrams ON petition USING gin (qingsu_text_bigrams(title, content, location))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_petition_text_bigrams")
        op.execute("DROP FUNCTION IF EXISTS qingsu_text_bigrams(text, text, text)")
    op.drop_index("ix_issue_tally_facet_day", table_name="issue_tally")
    op.drop_table("issue_tally")
