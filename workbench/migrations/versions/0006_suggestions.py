"""suggestions: accept/reject events per suggestion source, and each project's gazetteer

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suggestion_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('accept', 'reject')", name=op.f("ck_suggestion_events_action")),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_suggestion_events_document_id_documents"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_suggestion_events_project_id_projects"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_suggestion_events_user_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_events")),
    )
    op.create_index(op.f("ix_suggestion_events_project_id"), "suggestion_events", ["project_id"], unique=False)
    op.create_index("ix_suggestion_events_document_user", "suggestion_events", ["document_id", "user_id"], unique=False)
    op.create_table(
        "gazetteer_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_gazetteer_entries_project_id_projects"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gazetteer_entries")),
        sa.UniqueConstraint("project_id", "text", "label", name=op.f("uq_gazetteer_entries_project_id")),
    )


def downgrade() -> None:
    op.drop_table("gazetteer_entries")
    op.drop_index("ix_suggestion_events_document_user", table_name="suggestion_events")
    op.drop_index(op.f("ix_suggestion_events_project_id"), table_name="suggestion_events")
    op.drop_table("suggestion_events")
