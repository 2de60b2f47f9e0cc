"""suggestion_events.item: the span, attribution or relation an acceptance made

An acceptance counts in a source's rate only while that item is still in the
annotator's layer (undone or deleted, it no longer counts; redone, it counts
again).  Rows from before have none and keep counting as they did.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suggestion_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suggestion_events", schema=None) as batch_op:
        batch_op.drop_column("item")
