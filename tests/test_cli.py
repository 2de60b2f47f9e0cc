"""The ``workbench`` command: users, projects, db, help."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select

from workbench.models import Membership
from workbench.models import Project
from workbench.models import User


def test_users_create_reads_password_from_stdin(runner, db):
    result = runner.invoke(args=["users", "create", "zoe", "--role", "curator", "--password-stdin"], input="long-password\n")
    assert result.exit_code == 0, result.output
    user = db.scalar(select(User).where(User.username == "zoe"))
    assert user is not None and user.role == "curator" and user.password_hash


def test_users_create_refuses_short_password_and_duplicates(runner):
    result = runner.invoke(args=["users", "create", "zoe", "--password-stdin"], input="short\n")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: a password needs at least 10 characters"
    runner.invoke(args=["users", "create", "zoe", "--password-stdin"], input="long-password\n")
    again = runner.invoke(args=["users", "create", "ZOE", "--password-stdin"], input="long-password\n")
    assert again.exit_code == 1 and "exists already" in again.output


def test_projects_create_and_add_member(runner, db):
    runner.invoke(args=["users", "create", "ana", "--password-stdin"], input="long-password\n")
    result = runner.invoke(args=["projects", "create", "wire"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["projects", "add-member", "wire", "ana"])
    assert result.exit_code == 0, result.output
    project = db.scalar(select(Project).where(Project.name == "wire"))
    assert project.label_schema["name"] == "news"
    membership = db.scalar(select(Membership).where(Membership.project_id == project.id))
    assert membership.role == "annotator"


def test_projects_create_with_a_bad_schema_file(runner, tmp_path):
    bad = tmp_path / "schema.json"
    bad.write_text('{"labels": [{"name": "A", "kind": "topic"}]}')
    result = runner.invoke(args=["projects", "create", "x", "--schema", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: schema: label 'A': kind 'topic'")
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    result = runner.invoke(args=["projects", "create", "x", "--schema", str(broken)])
    assert result.exit_code == 1 and "not a JSON file" in result.output


def test_add_member_of_unknown_user_is_one_line(runner):
    runner.invoke(args=["projects", "create", "wire"])
    result = runner.invoke(args=["projects", "add-member", "wire", "ghost"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no user called 'ghost'"


def test_db_upgrade_reports_revision(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0
    assert "Database is at revision" in result.output


def test_console_script_help_lists_only_working_commands(tmp_path):
    env = {"WORKBENCH_INSTANCE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", "from workbench.cli import main; main()", "--help"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    listed = {line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()}
    assert {"demo", "serve", "db", "users", "projects", "import", "export", "agreement", "adjudicate", "evaluate"} <= listed
    # Flask's own commands stay out of the way.
    assert not listed & {"routes", "run", "shell"}


def test_list_commands_show_users_and_project_counts(runner, db):
    from factories import make_document
    from factories import make_project
    from factories import make_user

    make_user(db, "ana")
    wire = make_project(db, "wire")
    make_project(db, "archive")
    make_document(db, wire, "One text.", external_id="a")
    make_document(db, wire, "Another text.", external_id="b")
    users_out = runner.invoke(args=["users", "list"])
    assert users_out.exit_code == 0 and users_out.output.splitlines() == ["ana\tannotator\tactive"]
    projects_out = runner.invoke(args=["projects", "list"])
    assert projects_out.exit_code == 0
    assert [line.split("\t")[1:] for line in projects_out.output.splitlines()] == [
        ["archive", "0 documents"],
        ["wire", "2 documents"],
    ]


def test_the_command_keeps_the_garbage_collector_off_the_loaded_app(tmp_path):
    """``workbench`` freezes what its app loaded and raises the collector's first threshold (settle_gc)."""
    import os

    from workbench import GC_YOUNG_THRESHOLD

    script = (
        "import gc; from workbench.cli import _factory; default = gc.get_threshold(); _factory(); "
        "print(gc.get_freeze_count(), *default, *gc.get_threshold())"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env={**os.environ, "WORKBENCH_INSTANCE": str(tmp_path)},
    ).stdout.split()
    frozen, default, now = int(out[0]), [int(n) for n in out[1:4]], [int(n) for n in out[4:7]]
    assert frozen > 10_000  # the modules, the app and SQLAlchemy's objects
    assert now == [GC_YOUNG_THRESHOLD, *default[1:]] and default[0] < GC_YOUNG_THRESHOLD
