"""several annotators per document: project assignment settings, assigned layers, agreement cache

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("annotators_per_document", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assignment", sa.String(length=20), server_default="queue", nullable=False))
        batch_op.add_column(sa.Column("queue_order", sa.String(length=20), server_default="oldest", nullable=False))
        batch_op.add_column(sa.Column("abandon_after", sa.Integer(), server_default="7200", nullable=False))
        batch_op.add_column(sa.Column("settings", sa.JSON(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_projects_assignment"), "assignment IN ('queue', 'manual')")
        batch_op.create_check_constraint(op.f("ck_projects_queue_order"), "queue_order IN ('oldest', 'random')")
        batch_op.create_check_constraint(
            op.f("ck_projects_k"), "annotators_per_document IS NULL OR annotators_per_document >= 1"
        )
        batch_op.create_check_constraint(op.f("ck_projects_abandon_after"), "abandon_after >= 0")
    op.execute("UPDATE projects SET settings = '{}' WHERE settings IS NULL")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.alter_column("settings", existing_type=sa.JSON(), nullable=False)

    with op.batch_alter_table("annotation_sets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_annotation_sets_assigned_by_id_users"), "users", ["assigned_by_id"], ["id"], ondelete="SET NULL"
        )

    op.create_table(
        "agreement_cache",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_agreement_cache_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_agreement_cache")),
    )


def downgrade() -> None:
    op.drop_table("agreement_cache")
    with op.batch_alter_table("annotation_sets", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_annotation_sets_assigned_by_id_users"), type_="foreignkey")
        batch_op.drop_column("assigned_by_id")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_projects_abandon_after"), type_="check")
        batch_op.drop_constraint(op.f("ck_projects_k"), type_="check")
        batch_op.drop_constraint(op.f("ck_projects_queue_order"), type_="check")
        batch_op.drop_constraint(op.f("ck_projects_assignment"), type_="check")
        batch_op.drop_column("settings")
        batch_op.drop_column("abandon_after")
        batch_op.drop_column("queue_order")
        batch_op.drop_column("assignment")
        batch_op.drop_column("annotators_per_document")
