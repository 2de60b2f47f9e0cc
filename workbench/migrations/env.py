"""Alembic environment: runs online on the engine handed in by workbench.migrate.

On SQLite, Alembic's batch mode changes a table by copying it into a new one
and dropping the old.  With foreign keys enforced (workbench.db turns them on
for every connection), that DROP cascades: dropping ``annotation_sets`` would
delete every span, relation and attribution.  So foreign keys are switched
off for the migration (SQLite ignores the pragma inside a transaction, hence
before it begins), checked with ``PRAGMA foreign_key_check`` at the end, and
switched on again.
"""

from __future__ import annotations

from alembic import context

from workbench.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows whose references are broken: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
