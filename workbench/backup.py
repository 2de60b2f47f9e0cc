"""Backups of the whole database, taken while the app serves, and restores of them.

SQLite goes through its online backup API (a consistent copy while writers
keep writing: WAL readers never block them); PostgreSQL through
``pg_dump --format=custom`` and ``pg_restore`` when they are installed.
Where they are not, :class:`ToolMissing` carries the command to run instead.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from workbench.config import child_environment
from workbench.errors import InvalidInput


class ToolMissing(InvalidInput):
    """``pg_dump``/``pg_restore`` is not installed; ``command`` is what to run where it is."""

    def __init__(self, tool: str, command: str):
        super().__init__(f"{tool} is not installed here; run this where it is:\n  {command}")
        self.command = command


@dataclass(frozen=True)
class _Pg:
    """How to reach a PostgreSQL database with the libpq tools (the password goes in the environment)."""

    url: str
    password: str | None

    def env(self) -> dict[str, str]:
        return child_environment(**({"PGPASSWORD": self.password} if self.password else {}))


def _pg(engine: Engine) -> _Pg:
    url = engine.url
    plain = url.set(drivername="postgresql", password=None)
    return _Pg(plain.render_as_string(hide_password=False), url.password)


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise InvalidInput("an in-memory SQLite database has nothing to back up")
    return Path(database)


def backup(engine: Engine, path: Path) -> str:
    """Write a backup of the database behind ``engine`` to ``path``; return what was done, in one line.

    Safe while the app serves.  The file is written next to ``path`` and
    renamed into place, so ``path`` never holds half a backup.

    :raise ToolMissing: PostgreSQL without ``pg_dump``.
    :raise InvalidInput: the file cannot be written.
    """
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    if engine.dialect.name == "sqlite":
        source = _sqlite_path(engine)
        try:
            target = sqlite3.connect(partial)
        except sqlite3.Error as exc:
            raise InvalidInput(f"{path}: cannot write ({exc})") from None
        try:
            with sqlite3.connect(source) as live:
                live.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            target.close()
        os.replace(partial, path)
        return f"Backed up {source} to {path} (SQLite online backup)."
    if engine.dialect.name == "postgresql":
        pg = _pg(engine)
        command = ["pg_dump", "--format=custom", "--no-owner", "--file", str(partial), pg.url]
        if shutil.which("pg_dump") is None:
            raise ToolMissing("pg_dump", " ".join(command[:-3] + ["--file", str(path), pg.url]))
        done = subprocess.run(command, env=pg.env(), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise InvalidInput(f"pg_dump failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
        os.replace(partial, path)
        return f"Backed up {engine.url.database} to {path} (pg_dump, custom format)."
    raise InvalidInput(f"backups of {engine.dialect.name} databases are not supported")


def restore(engine: Engine, path: Path) -> str:
    """Replace the whole database behind ``engine`` with the backup at ``path``; return one line.

    Stop every app server first: a restore is not a merge, and sessions of
    the old database would see the switch half-way.

    :raise InvalidInput: no such file, or not a backup of a workbench database.
    :raise ToolMissing: PostgreSQL without ``pg_restore``.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    if engine.dialect.name == "sqlite":
        target_path = _sqlite_path(engine)
        try:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError:
            raise InvalidInput(f"{path}: not a SQLite backup") from None
        if "alembic_version" not in tables or "documents" not in tables:
            source.close()
            raise InvalidInput(f"{path}: not a backup of a workbench database")
        engine.dispose()
        try:
            with sqlite3.connect(target_path) as live:
                source.backup(live)
        finally:
            source.close()
        return f"Restored {target_path} from {path}."
    if engine.dialect.name == "postgresql":
        pg = _pg(engine)
        command = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--dbname", pg.url, str(path)]
        if shutil.which("pg_restore") is None:
            raise ToolMissing("pg_restore", " ".join(command))
        engine.dispose()
        done = subprocess.run(command, env=pg.env(), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else str(done.returncode)
            raise InvalidInput(f"pg_restore failed (nothing changed): {last}")
        return f"Restored {engine.url.database} from {path} (pg_restore)."
    raise InvalidInput(f"restores of {engine.dialect.name} databases are not supported")

