"""The ``workbench`` command: thin wrappers over services.

``workbench <cmd>`` and ``flask --app workbench <cmd>`` are the same commands.
Every command exits non-zero with a one-line reason on bad input.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask import current_app
from flask.cli import FlaskGroup
from flask.cli import with_appcontext

from workbench.db import engine
from workbench.db import get_session
from workbench.domain.numbers import whole_number
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
    """Add projects and members; set and follow how documents are handed out."""


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


@projects_group.command("set")
@click.argument("project")
@click.option("--annotators-per-document", "k", metavar="K", help="How many annotators each document needs (k), or 'all'.")
@click.option("--assignment", type=click.Choice(["queue", "manual"]), help="queue: annotators take documents; manual: curators assign them.")
@click.option("--queue-order", type=click.Choice(["oldest", "random"]), help="The order in which the queue hands out documents.")
@click.option("--abandon-after", metavar="DURATION", help="Give an unfinished queue document to someone else after this long without a save (2h, 90m, 1d; 0: never).")
@click.option("--ready-formats", metavar="FORMATS",
              help="Export formats whose records are stored as layers change, so their exports copy them: "
                   "jsonl,conll,brat,labelstudio,doccano or none (default jsonl).")
@with_appcontext
@fail_on_workbench_error
def projects_set(
    project: str, k: str | None, assignment: str | None, queue_order: str | None, abandon_after: str | None,
    ready_formats: str | None,
) -> None:
    """Set how PROJECT hands out documents and which export formats it keeps ready; prints the settings."""
    from workbench.services import assignment as assignment_service
    from workbench.services import exporting
    from workbench.services import projects

    ensure_schema()
    changes: dict[str, Any] = {}
    if k is not None:
        if k.strip().lower() in ("all", "every", "everyone"):
            changes["annotators_per_document"] = None
        elif (number := whole_number(k.strip())) is not None:
            changes["annotators_per_document"] = number
        else:
            raise Failure(f"--annotators-per-document takes a whole number or 'all', not {k!r}")
    if assignment is not None:
        changes["assignment"] = assignment
    if queue_order is not None:
        changes["queue_order"] = queue_order
    if abandon_after is not None:
        changes["abandon_after"] = abandon_after
    session = get_session()
    target = projects.require_project_by_name(session, project)
    settings = assignment_service.update_settings(session, target, changes)
    to_build = exporting.set_ready_formats(session, target, ready_formats) if ready_formats is not None else 0
    session.commit()
    k_text = settings.annotators_per_document or "all"
    click.echo(
        f"{target.name}: {k_text} annotator(s) per document, assignment {settings.assignment}, "
        f"queue order {settings.queue_order}, abandon after {assignment_service.format_duration(settings.abandon_after)}, "
        f"export formats kept ready: {', '.join(exporting.ready_formats(target)) or 'none'}."
    )
    wait_for_export_records(to_build)


@projects_group.command("assign")
@click.argument("project")
@click.option("--to", "to", required=True, metavar="USER[,USER...]", help="The annotators who get every document named.")
@click.option("--document", "document_ids", multiple=True, metavar="ID", help="A document's external id (repeatable).")
@click.option("--documents-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A file of external ids, one per line.")
@click.option("--next", "next_count", type=click.IntRange(1, 10_000), help="The next N documents (import order) that none of them has and that still need annotators.")
@click.option("--by", "by", default=None, metavar="CURATOR", help="Who assigns (recorded); the first admin by default.")
@with_appcontext
@fail_on_workbench_error
def projects_assign(
    project: str, to: str, document_ids: tuple[str, ...], documents_file: Path | None, next_count: int | None, by: str | None
) -> None:
    """Assign documents of PROJECT to annotators, all or nothing ("these 200 documents to these 3 people")."""
    from workbench.services import assignment as assignment_service
    from workbench.services import projects
    from workbench.services import users

    ensure_schema()
    if sum(bool(x) for x in (document_ids, documents_file, next_count)) != 1:
        raise Failure("name the documents one way: --document, --documents-file or --next")
    session = get_session()
    target = projects.require_project_by_name(session, project)
    people = [projects.require_member_user(session, target, name) for name in to.split(",") if name.strip()]
    if next_count:
        documents = assignment_service.documents_needing_annotators(session, target, next_count, people)
        if not documents:
            raise Failure("no document is left that all of them can still take")
    else:
        names = list(document_ids)
        if documents_file is not None:
            try:
                names = documents_file.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError:
                raise Failure(f"{documents_file}: not a UTF-8 text file") from None
        documents = assignment_service.require_documents(session, target, names)
    curator = users.require_user(session, by) if by else assignment_service.default_assigner(session)
    report = assignment_service.assign(session, curator, target, documents, people)
    session.commit()
    click.echo(
        f"Assigned {report.documents} document(s) to {', '.join(report.users)}: "
        f"{report.assigned} new assignment(s), {report.already} they had already."
    )


@projects_group.command("unassign")
@click.argument("project")
@click.argument("user")
@click.argument("document")
@with_appcontext
@fail_on_workbench_error
def projects_unassign(project: str, user: str, document: str) -> None:
    """Take DOCUMENT (external id) back from USER, who has not started it."""
    from workbench.services import assignment as assignment_service
    from workbench.services import projects

    ensure_schema()
    session = get_session()
    target = projects.require_project_by_name(session, project)
    person = projects.require_member_user(session, target, user)
    (doc,) = assignment_service.require_documents(session, target, [document])
    assignment_service.unassign(session, target, doc, person)
    session.commit()
    click.echo(f"{person.username} no longer has {doc.external_id}.")


@projects_group.command("progress")
@click.argument("project")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (the API's progress) instead of a table.")
@with_appcontext
@fail_on_workbench_error
def projects_progress(project: str, as_json: bool) -> None:
    """Show who did what in PROJECT: per annotator, and how many documents are complete."""
    from workbench.api import serialize
    from workbench.services import assignment as assignment_service
    from workbench.services import projects

    ensure_schema()
    session = get_session()
    report = assignment_service.progress(session, projects.require_project_by_name(session, project), per_page=1)
    if as_json:
        data = serialize.progress(report)
        del data["documents"]
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    k = report.settings.annotators_per_document
    click.echo(f"{report.complete_documents} of {report.total_documents} documents complete ({k or 'every'} annotator(s) each).")
    click.echo(f"{'annotator':<20} {'done':>6} {'open':>6} {'skipped':>8} {'spans':>7} {'time':>8}")
    for a in report.annotators:
        minutes = f"{a.seconds / 60:.0f} min"
        click.echo(f"{a.username:<20} {a.done:>6} {a.in_progress:>6} {a.skipped:>8} {a.spans:>7} {minutes:>8}")


# -- adjudicate --------------------------------------------------------------


@click.command("adjudicate")
@click.argument("project")
@click.option("--auto", "rule", type=click.Choice(["unanimous", "majority"]), help="Fill gold with what all annotators, or more than half, agree on.")
@click.option("--finish", is_flag=True, help="With --auto: also mark those documents adjudicated (unless a label clash needs a curator).")
@click.option("--report", is_flag=True, help="Print the curators' decisions per reason and label, and the guideline-gap notes.")
@click.option("--json", "as_json", is_flag=True, help="With --report: one JSON object.")
@click.option("--by", "by", default=None, metavar="CURATOR", help="Who the merge is recorded as; the first admin by default.")
@with_appcontext
@fail_on_workbench_error
def adjudicate_command(project: str, rule: str | None, finish: bool, report: bool, as_json: bool, by: str | None) -> None:
    """Fill the gold layer of PROJECT's ready documents in bulk, or report the adjudication reasons."""
    from workbench.services import adjudication
    from workbench.services import assignment as assignment_service
    from workbench.services import projects
    from workbench.services import users

    ensure_schema()
    if bool(rule) == bool(report):
        raise Failure("say --auto unanimous|majority, or --report")
    if finish and not rule:
        raise Failure("--finish goes with --auto")
    session = get_session()
    target = projects.require_project_by_name(session, project)
    if report:
        reasons = adjudication.reasons_report(session, target)
        if as_json:
            click.echo(json.dumps(reasons.__dict__, ensure_ascii=False))
            return
        click.echo(f"{reasons.decisions} decision(s) by curators.")
        for reason, count in sorted(reasons.by_reason.items(), key=lambda kv: -kv[1]):
            labels = ", ".join(f"{label} {n}" for label, n in sorted(reasons.by_reason_and_label[reason].items()))
            click.echo(f"  {reason:<16} {count:>5}   ({labels})")
        for label, notes in sorted(reasons.guideline_gaps.items()):
            click.echo(f"Guideline gaps on {label}:")
            for note in notes:
                click.echo(f"  - {note['note']}  [{note['document']}, {note['curator']}]")
        return
    curator = users.require_user(session, by) if by else assignment_service.default_assigner(session)
    merged = adjudication.auto_merge(session, target, curator, rule or "", finish=finish)
    session.commit()
    click.echo(
        f"{merged.documents} document(s) merged ({merged.rule}): {merged.items_added} item(s) added to gold, "
        f"{merged.finished} marked adjudicated."
    )
    wait_for_export_records(merged.finished)
    if merged.flagged:
        click.echo(f"{len(merged.flagged)} document(s) need a curator (two labels on the same words): {', '.join(merged.flagged[:20])}")


def wait_for_export_records(layers: int) -> None:
    """Wait while the export records of the layers a command changed are stored (docs/format.md); say so when it takes a while.

    ``workbench.records_keeper`` builds them in its thread; a command's
    process would otherwise stop it at exit, leaving them to the export.
    """
    from workbench.db import records_keeper

    keeper = records_keeper()
    if not layers or keeper.mode == "off":
        return
    started = time.monotonic()
    before = keeper.built
    keeper.wait()
    took = time.monotonic() - started
    if took >= 1:
        click.echo(f"Stored {keeper.built - before} export record(s) for the next export in {took:.1f} s.", err=True)


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
@click.option("--reset", is_flag=True, help="Start the demo afresh, dropping what was done in it.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool, reset: bool) -> None:
    """Serve the demo instance (project, articles, users), made on first use and kept after."""
    from workbench import demo

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if host not in ("127.0.0.1", "localhost", "::1"):
        # Browsers keep Secure cookies over plain HTTP only on loopback
        # addresses; a demo shown on a network address would never log in.
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = False
        click.echo("Note: serving plain HTTP on a network address, so cookies are not marked Secure.")
    try:
        logins, made = demo.setup(app, reset=reset)
    except demo.DemoRefused as exc:
        raise Failure(str(exc)) from None
    if made:
        click.echo(f"Demo ready in {app.instance_path}: project 'news' with seven sample articles: lena and omar annotated two of them, lena a third in full.")
    else:
        click.echo(f"Demo kept as it was in {app.instance_path} (workbench demo --reset starts afresh).")
    if app.config.get("DATABASE_URL"):
        click.echo("Note: the demo uses the instance's SQLite file; other commands follow WORKBENCH_DATABASE_URL.")
    click.echo("Log in with one of:")
    for name, password, role in logins:
        click.echo(f"  {name:<11} password {password:<21} ({role})")
    if not no_serve:
        _serve(app, host, port)


COMMANDS = [db_group, users_group, projects_group, adjudicate_command, serve_command, demo_command]


def init_app(app: Flask) -> None:
    """Register the commands on the app's CLI group."""
    from workbench import cli_admin  # also adds its commands to the users and projects groups
    from workbench import cli_agreement
    from workbench import cli_data
    from workbench import cli_evaluate
    from workbench import cli_suggestions

    commands = COMMANDS + cli_data.COMMANDS + cli_agreement.COMMANDS + cli_admin.COMMANDS + cli_evaluate.COMMANDS
    for command in commands + cli_suggestions.COMMANDS:
        app.cli.add_command(command)


def _factory() -> Flask:
    from workbench import create_app
    from workbench import settle_gc

    app = create_app()
    settle_gc()
    return app


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
