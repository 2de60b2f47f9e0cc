"""Suggestion commands: load a project's gazetteer, and show each suggestion source's acceptance rate."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from workbench.cli import Failure
from workbench.cli import ensure_schema
from workbench.cli import fail_on_workbench_error
from workbench.db import get_session


@click.command("gazetteer")
@click.argument("project")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@with_appcontext
@fail_on_workbench_error
def gazetteer_command(project: str, file: Path) -> None:
    """Replace PROJECT's gazetteer with FILE: one 'text<TAB>LABEL' per line (# starts a comment).

    Annotators then see each listed string, wherever it occurs on token
    edges, as a suggestion from the source 'gazetteer'.  All or nothing: a bad
    line is reported by its number and nothing changes.
    """
    from workbench.services import projects
    from workbench.services import suggestions

    ensure_schema()
    session = get_session()
    target = projects.require_project_by_name(session, project)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise Failure(f"{file}: cannot read: {exc.strerror or exc}") from None
    count = suggestions.set_gazetteer(session, target, str(file), data)
    session.commit()
    click.echo(f"Gazetteer of {target.name}: {count} entr{'y' if count == 1 else 'ies'}.")


@click.command("suggestions")
@click.argument("project")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
@with_appcontext
@fail_on_workbench_error
def suggestions_command(project: str, as_json: bool) -> None:
    """Show how often annotators accepted each suggestion source's suggestions in PROJECT."""
    from workbench.services import projects
    from workbench.services import suggestions

    ensure_schema()
    session = get_session()
    target = projects.require_project_by_name(session, project)
    rows = suggestions.acceptance(session, target)
    if as_json:
        click.echo(json.dumps({"project": target.name, "sources": rows}, ensure_ascii=False))
        return
    if not rows:
        click.echo("No suggestion has been accepted or rejected yet.")
        return
    width = max(len("source"), *(len(r["source"]) for r in rows))
    click.echo(f"{'source':<{width}}  accepted  rejected  rate")
    for r in rows:
        rate = "—" if r["rate"] is None else f"{r['rate']:.0%}"
        click.echo(f"{r['source']:<{width}}  {r['accepted']:>8}  {r['rejected']:>8}  {rate:>4}")


COMMANDS = [gazetteer_command, suggestions_command]
