"""The ``workbench`` command: thin wrappers over services.

``workbench <cmd>`` and ``flask --app workbench <cmd>`` are the same commands.
Every command exits non-zero with a one-line reason on bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask import current_app
from flask.cli import FlaskGroup
from flask.cli import with_appcontext

from workbench.db import engine
from workbench.db import get_session
from workbench.errors import WorkbenchError


class Failure(click.ClickException):
    """A one-line reason, printed as ``Error: ...``, exit status 1."""


def fail_on_workbench_error(func: Any) -> Any:
    """Turn a ``WorkbenchError`` into a one-line ``Error:`` and exit status 1."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except WorkbenchError as exc:
            get_session().rollback()
            raise Failure(exc.message) from None

    return wrapper


def ensure_schema() -> None:
    """Create or migrate the database schema when it is not at the newest revision."""
    from workbench import migrate

    eng = engine()
    if not migrate.is_current(eng):
        migrate.upgrade(eng)


# -- db ---------------------------------------------------------------------


@click.group("db")
def db_group() -> None:
    """Create or migrate the database."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest revision."""
    from workbench import migrate

    migrate.upgrade(engine())
    click.echo(f"Database is at revision {migrate.current_revision(engine())}.")


# -- users ------------------------------------------------------------------


@click.group("users")
def users_group() -> None:
    """Add users and API tokens."""


@users_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "curator", "annotator"]), default="annotator", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@with_appcontext
@fail_on_workbench_error
def users_create(name: str, role: str, password_stdin: bool) -> None:
    """Add a user NAME with a role."""
    from workbench.services import users

    ensure_schema()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    session = get_session()
    users.create_user(session, name, role, password, hash_method=current_app.config["PASSWORD_HASH_METHOD"])
    session.commit()
    click.echo(f"Created {role} {name}.")


@users_group.command("token")
@click.argument("name")
@click.option("--label", default="cli", show_default=True, help="A name to recognise the token by.")
@with_appcontext
@fail_on_workbench_error
def users_token(name: str, label: str) -> None:
    """Print a new API token for user NAME (shown once; only its hash is kept)."""
    from workbench.services import users

    ensure_schema()
    session = get_session()
    token = users.create_token(session, users.require_user(session, name), label)
    session.commit()
    click.echo(token)


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List users with their roles."""
    from workbench.services import users

    ensure_schema()
    for user in users.list_users(get_session()):
        click.echo(f"{user.username}\t{user.role}\t{'active' if user.active else 'inactive'}")


# -- projects ---------------------------------------------------------------


@click.group("projects")
def projects_group() -> None:
    """Add projects and members."""


@projects_group.command("create")
@click.argument("name")
@click.option("--schema", "schema_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A JSON label schema; the built-in news schema by default.")
@click.option("--description", default="", help="One line about the project.")
@with_appcontext
@fail_on_workbench_error
def projects_create(name: str, schema_file: Path | None, description: str) -> None:
    """Add a project called NAME."""
    from workbench.services import projects

    ensure_schema()
    schema = None
    if schema_file is not None:
        try:
            schema = json.loads(schema_file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Failure(f"{schema_file}: not a JSON file ({exc})") from None
    session = get_session()
    project = projects.create_project(session, name, schema, description=description)
    session.commit()
    click.echo(f"Created project {project.name} (id {project.id}).")


@projects_group.command("add-member")
@click.argument("project")
@click.argument("user")
@click.option("--role", type=click.Choice(["annotator", "curator"]), help="Project role; by default the user's own role.")
@with_appcontext
@fail_on_workbench_error
def projects_add_member(project: str, user: str, role: str | None) -> None:
    """Give USER access to PROJECT."""
    from workbench.services import projects
    from workbench.services import users

    ensure_schema()
    session = get_session()
    membership = projects.add_member(
        session, projects.require_project_by_name(session, project), users.require_user(session, user), role
    )
    session.commit()
    click.echo(f"{user} is now {membership.role} in {project}.")


@projects_group.command("list")
@with_appcontext
def projects_list() -> None:
    """List projects with their document counts."""
    from workbench.services import projects

    ensure_schema()
    for project, count in projects.projects_with_counts(get_session()):
        click.echo(f"{project.id}\t{project.name}\t{count} documents")


# -- serve and demo ---------------------------------------------------------


def _serve(app: Flask, host: str, port: int) -> None:
    import signal

    from waitress import serve

    # SIGTERM (systemd, docker, kill) ends the process like Ctrl+C, so exit
    # handlers run: the database connections close and SQLite folds its
    # write-ahead log back into the database instead of leaving it behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    click.echo(f"Serving on http://{host}:{port}/  (Ctrl+C stops)")
    serve(app, host=host, port=port, threads=8, ident="workbench")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Serve the app (production: any WSGI server on workbench.wsgi:app)."""
    ensure_schema()
    _serve(current_app._get_current_object(), host, port)  # type: ignore[attr-defined]


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set up the demo instance and exit.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Set up a fresh demo instance (project, articles, users) and serve it."""
    from workbench import demo

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if host not in ("127.0.0.1", "localhost", "::1"):
        # Browsers keep Secure cookies over plain HTTP only on loopback
        # addresses; a demo shown on a network address would never log in.
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = False
        click.echo("Note: serving plain HTTP on a network address, so cookies are not marked Secure.")
    try:
        logins = demo.setup(app)
    except demo.DemoRefused as exc:
        raise Failure(str(exc)) from None
    click.echo(f"Demo ready in {app.instance_path}: project 'news' with four sample articles.")
    if app.config.get("DATABASE_URL"):
        click.echo("Note: the demo uses the instance's SQLite file; other commands follow WORKBENCH_DATABASE_URL.")
    click.echo("Log in with one of:")
    for name, password, role in logins:
        click.echo(f"  {name:<11} password {password:<21} ({role})")
    if not no_serve:
        _serve(app, host, port)


COMMANDS = [db_group, users_group, projects_group, serve_command, demo_command]


def init_app(app: Flask) -> None:
    """Register the commands on the app's CLI group."""
    from workbench import cli_admin  # also adds its commands to the users and projects groups
    from workbench import cli_data

    for command in COMMANDS + cli_data.COMMANDS + cli_admin.COMMANDS:
        app.cli.add_command(command)


def _factory() -> Flask:
    from workbench import create_app

    return create_app()


def main() -> None:
    """Entry point of the ``workbench`` console script."""
    group = FlaskGroup(
        create_app=_factory,
        add_default_commands=False,
        add_version_option=False,
        load_dotenv=False,
        help="An annotation workbench for news text. See README.md for a tour.",
    )
    group.main(prog_name="workbench")
