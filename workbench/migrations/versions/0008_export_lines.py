"""export_lines, export_document_lines: each layer's and document's JSONL line as the last export wrote it

An export copies a layer's stored line when nothing it is made of has
changed since (the columns beside it), and builds and stores it otherwise;
deleting a layer deletes its line, and triggers delete a layer's line whenever
one of its spans, relations, attributions or attribution contents is written
(whatever writes it).  On PostgreSQL, an index reads a project's
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


    op.create_table(
        "export_document_lines",
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("meta", sa.Text(), nullable=True),
        sa.Column("line", sa.Text(), nullable=False),
    )
    for statement in forget_statements(op.get_bind().dialect.name):
        op.execute(statement)
    if op.get_bind().dialect.name == "postgresql":
        # Export order is code-point order of the ids: with this index PostgreSQL reads a project's
        # documents in that order instead of sorting every exported line (SQLite's unique index is in that order).
        op.execute('CREATE INDEX ix_documents_project_external_id_c ON documents (project_id, external_id COLLATE "C")')


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in ITEM_TABLES:
        for name in _trigger_names(table, dialect):
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if dialect == "postgresql" else ""))
    op.execute("DROP TRIGGER IF EXISTS export_lines_forget_documents_text" + (" ON documents" if dialect == "postgresql" else ""))
    if dialect == "postgresql":
        for function in ("export_lines_forget_new", "export_lines_forget_old", "export_lines_forget_new_content",
                         "export_lines_forget_old_content", "export_lines_forget_document"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
        op.drop_index("ix_documents_project_external_id_c", table_name="documents")
    op.drop_table("export_document_lines")
    op.drop_table("export_lines")


#: The tables of a layer's items, and the column naming the layer (attribution_content's through its attribution).
ITEM_TABLES = {"spans": "set_id", "relations": "set_id", "attributions": "set_id", "attribution_content": None}


def _trigger_names(table: str, dialect: str) -> list[str]:
    """Return the names of the triggers forgetting the stored lines of ``table``'s layers."""
    events = ("insert", "update", "delete") if dialect == "sqlite" else ("insert", "update_new", "update_old", "delete")
    return [f"export_lines_forget_{table}_{event}" for event in events]


def forget_statements(dialect: str) -> list[str]:
    """Return the DDL of the triggers that delete a layer's stored line whenever one of its items is written.

    Every change to a layer's items bumps the layer's version too, which an
    export compares; the triggers make sure of it whatever writes the rows
    (a path that forgot the version, a script, a later migration).
    SQLite's are per row, PostgreSQL's per statement (over the rows the
    statement wrote).
    """
    statements = []
    if dialect == "sqlite":
        for table, column in ITEM_TABLES.items():
            def layer(row: str, column: str | None = column) -> str:
                if column:
                    return f"{row}.{column}"
                return f"(SELECT set_id FROM attributions WHERE id = {row}.attribution_id)"

            insert, update, delete = _trigger_names(table, dialect)
            statements += [
                f"CREATE TRIGGER {insert} AFTER INSERT ON {table} BEGIN "
                f"DELETE FROM export_lines WHERE set_id = {layer('NEW')}; END",
                f"CREATE TRIGGER {update} AFTER UPDATE ON {table} BEGIN "
                f"DELETE FROM export_lines WHERE set_id IN ({layer('OLD')}, {layer('NEW')}); END",
                f"CREATE TRIGGER {delete} AFTER DELETE ON {table} BEGIN "
                f"DELETE FROM export_lines WHERE set_id = {layer('OLD')}; END",
            ]
        # A document's text never changes; should it ever, its plain line goes.
        statements.append(
            "CREATE TRIGGER export_lines_forget_documents_text AFTER UPDATE OF text ON documents BEGIN "
            "DELETE FROM export_document_lines WHERE document_id = NEW.id; END"
        )
        return statements
    for rows in ("new", "old"):
        statements += [
            f"CREATE FUNCTION export_lines_forget_{rows}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"DELETE FROM export_lines WHERE set_id IN (SELECT set_id FROM {rows}_rows); RETURN NULL; END $$",
            f"CREATE FUNCTION export_lines_forget_{rows}_content() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"DELETE FROM export_lines WHERE set_id IN (SELECT a.set_id FROM attributions a JOIN {rows}_rows c "
            f"ON a.id = c.attribution_id); RETURN NULL; END $$",
        ]
    for table, column in ITEM_TABLES.items():
        suffix = "" if column else "_content"
        insert, update_new, update_old, delete = _trigger_names(table, dialect)
        for name, event, rows in ((insert, "INSERT", "new"), (update_new, "UPDATE", "new"), (update_old, "UPDATE", "old"), (delete, "DELETE", "old")):
            statements.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {rows.upper()} TABLE AS {rows}_rows "
                f"FOR EACH STATEMENT EXECUTE FUNCTION export_lines_forget_{rows}{suffix}()"
            )
    statements += [
        "CREATE FUNCTION export_lines_forget_document() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "DELETE FROM export_document_lines WHERE document_id IN (SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE n.text IS DISTINCT FROM o.text); RETURN NULL; END $$",
        "CREATE TRIGGER export_lines_forget_documents_text AFTER UPDATE ON documents REFERENCING NEW TABLE AS new_rows "
        "OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION export_lines_forget_document()",
    ]
    return statements
