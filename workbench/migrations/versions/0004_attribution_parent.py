"""attribution chains: an attribution may name the attribution that relays it (parent)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_attributions_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_attributions_parent_id_attributions"), "attributions", ["parent_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_attributions_parent_id_attributions"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_attributions_parent_id"))
        batch_op.drop_column("parent_id")
