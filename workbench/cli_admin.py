"""Admin commands: users (deactivate, activate, set-password), projects (remove-member, set-document-limit), backup, restore.

The users and projects commands join those groups of :mod:`workbench.cli`;
``backup`` and ``restore`` are in :data:`COMMANDS`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from workbench.cli import ensure_schema
from workbench.cli import fail_on_workbench_error
from workbench.cli import projects_group
from workbench.cli import users_group
from workbench.db import close_session
from workbench.db import engine
from workbench.db import get_session


@users_group.command("deactivate")
@click.argument("name")
@with_appcontext
@fail_on_workbench_error
def users_deactivate(name: str) -> None:
    """Stop user NAME from logging in: their sessions and API tokens end at once."""
    from workbench.services import users

    ensure_schema()
    session = get_session()
    users.deactivate_user(session, users.require_user(session, name))
    session.commit()
    click.echo(f"Deactivated {name}: their sessions and API tokens are ended.")


@users_group.command("activate")
@click.argument("name")
@with_appcontext
@fail_on_workbench_error
def users_activate(name: str) -> None:
    """Let user NAME log in again (API tokens ended by deactivation stay ended)."""
    from workbench.services import users

    ensure_schema()
    session = get_session()
    user = users.require_user(session, name)
    users.activate_user(session, user)
    session.commit()
    hint = "" if user.password_hash else " They have no password yet: `workbench users set-password`."
    click.echo(f"Activated {name}.{hint}")


@users_group.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@with_appcontext
@fail_on_workbench_error
def users_set_password(name: str, password_stdin: bool) -> None:
    """Set a new password for user NAME; their login sessions end."""
    from workbench.services import users

    ensure_schema()
    session = get_session()
    user = users.require_user(session, name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    users.set_password(session, user, password, current_app.config["PASSWORD_HASH_METHOD"])
    session.commit()
    hint = "" if user.active else f" The account is inactive: `workbench users activate {name}`."
    click.echo(f"Password set for {name}; their sessions are ended.{hint}")


@projects_group.command("remove-member")
@click.argument("project")
@click.argument("user")
@with_appcontext
@fail_on_workbench_error
def projects_remove_member(project: str, user: str) -> None:
    """Take USER's access to PROJECT away (the annotations they made stay)."""
    from workbench.services import projects
    from workbench.services import users

    ensure_schema()
    session = get_session()
    target = projects.require_project_by_name(session, project)
    projects.remove_member(session, target, users.require_user(session, user))
    session.commit()
    click.echo(f"{user} is no longer a member of {target.name}.")


@projects_group.command("set-document-limit")
@click.argument("project")
@click.argument("chars", type=int)
@with_appcontext
@fail_on_workbench_error
def projects_set_document_limit(project: str, chars: int) -> None:
    """Set the most characters a document of PROJECT may hold (default 1,000,000); imports refuse longer ones."""
    from workbench.services import projects

    ensure_schema()
    session = get_session()
    target = projects.require_project_by_name(session, project)
    projects.set_max_document_chars(target, chars)
    session.commit()
    click.echo(f"{target.name} takes documents of at most {chars:,} characters.")


# -- backup and restore ------------------------------------------------------


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
@fail_on_workbench_error
def backup_command(path: Path) -> None:
    """Write a backup of the whole database to PATH, safely while the app serves.

    SQLite: its online backup API.  PostgreSQL: pg_dump (custom format); where
    pg_dump is not installed, the command to run is printed instead.
    """
    from workbench import backup

    ensure_schema()
    click.echo(backup.backup(engine(), path))


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@with_appcontext
@fail_on_workbench_error
def restore_command(path: Path, yes: bool) -> None:
    """Replace the whole database with the backup at PATH (stop the app servers first)."""
    from workbench import backup

    if not yes:
        click.confirm(f"Replace everything in {engine().url.render_as_string()} with {path}?", abort=True)
    close_session()
    message = backup.restore(engine(), path)
    ensure_schema()  # a backup from an older version is migrated
    click.echo(message)


COMMANDS: list[click.Command] = [backup_command, restore_command]
