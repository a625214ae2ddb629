"""early warning: the rules (warning_rule) and, on staff_alert, each warning's rule, subject, last sighting,
resolution and who acknowledged it

Revision ID: 4efde87fe7d5
Revises: e8a3c61f5d92
Create Date: 2026-12-02 04:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "4efde87fe7d5"
down_revision = "e8a3c61f5d92"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "warning_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("district_code", sa.String(length=20), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("window_hours", sa.Integer(), nullable=False),
        sa.Column("min_volume", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"], ["district.code"], name=op.f("fk_warning_rule_district_code_district")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_rule")),
    )
    with op.batch_alter_table("warning_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warning_rule_district_code"), ["district_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_warning_rule_kind"), ["kind"], unique=False)

    with op.batch_alter_table("staff_alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("read_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rule_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("subject", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("last_seen_at", models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", models.base.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_alert_read_by_id_user_account"), "user_account", ["read_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_alert_rule_id_warning_rule"), "warning_rule", ["rule_id"], ["id"]
        )
        batch_op.create_index("ix_staff_alert_rule_resolved", ["rule_id", "resolved_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_alert", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_alert_rule_resolved")
        batch_op.drop_constraint(batch_op.f("fk_staff_alert_rule_id_warning_rule"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_staff_alert_read_by_id_user_account"), type_="foreignkey")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("subject")
        batch_op.drop_column("rule_id")
        batch_op.drop_column("read_by_id")
    op.execute("DELETE FROM staff_alert WHERE kind = 'warning'")
    with op.batch_alter_table("warning_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warning_rule_kind"))
        batch_op.drop_index(batch_op.f("ix_warning_rule_district_code"))
    op.drop_table("warning_rule")
