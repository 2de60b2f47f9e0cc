"""export_lines, export_document_lines: one stored record per format (JSONL, CoNLL, doccano, ...), with its problems

A layer's (and a document's) record is stored per format, so that a repeated
export copies CoNLL blocks or doccano lines as it copies JSONL lines.
``problems`` holds what the format could not hold of that record (a span
cutting a token in CoNLL), reported again whenever the record is copied.
The stored records are a cache: both tables are created anew and empty (an
upgrade of workbench changes the code that shapes them, which made every
stored line stale anyway).  The triggers of 0008 delete by layer or document,
whatever the format, and are kept.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _tables(per_format: bool) -> None:
    """Create both tables, keyed by layer (document) and format when ``per_format``, else as 0008 made them."""
    keyed = [sa.Column("format", sa.String(length=20), primary_key=True)] if per_format else []
    extra = [sa.Column("problems", sa.Text(), nullable=True)] if per_format else []
    op.create_table(
        "export_lines",
        sa.Column("set_id", sa.Integer(), sa.ForeignKey("annotation_sets.id", ondelete="CASCADE"), primary_key=True),
        *keyed,
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
        *extra,
    )
    op.create_table(
        "export_document_lines",
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
        *[sa.Column("format", sa.String(length=20), primary_key=True)] * per_format,
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("meta", sa.Text(), nullable=True),
        sa.Column("line", sa.Text(), nullable=False),
    )


def upgrade() -> None:
    op.drop_table("export_document_lines")
    op.drop_table("export_lines")
    _tables(per_format=True)


def downgrade() -> None:
    op.drop_table("export_document_lines")
    op.drop_table("export_lines")
    _tables(per_format=False)
