"""export_lines: each layer's JSONL line as the last export wrote it

An export copies a layer's stored line when nothing it is made of has
changed since (the columns beside it), and builds and stores it otherwise;
deleting a layer deletes its line.  On PostgreSQL, an index reads a project's
documents in export order (code points of the external ids).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_lines",
        sa.Column("set_id", sa.Integer(), sa.ForeignKey("annotation_sets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("username", sa.String(length=200), nullable=True),
        sa.Column("external_id", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("meta", sa.Text(), nullable=True),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("relations", sa.Integer(), nullable=False),
        sa.Column("attributions", sa.Integer(), nullable=False),
    )


    if op.get_bind().dialect.name == "postgresql":
        # Export order is code-point order of the ids: with this index PostgreSQL reads a project's
        # documents in that order instead of sorting every exported line (SQLite's unique index is in that order).
        op.execute('CREATE INDEX ix_documents_project_external_id_c ON documents (project_id, external_id COLLATE "C")')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_documents_project_external_id_c", table_name="documents")
    op.drop_table("export_lines")
