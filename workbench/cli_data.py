"""Data commands: import and export (and, later, agreement, evaluate, adjudicate)."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import click
from flask.cli import with_appcontext

from workbench.cli import Failure
from workbench.cli import ensure_schema
from workbench.cli import fail_on_workbench_error
from workbench.db import get_session
from workbench.errors import ImportError_
from workbench.formats import READERS
from workbench.formats import WRITERS

#: Show a progress bar from this many files on.
PROGRESS_FROM = 6


@click.command("import")
@click.argument("project")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", *READERS]),
    default="auto",
    show_default=True,
    help="The files' format; auto goes by the file name, else by the first character.",
)
@with_appcontext
@fail_on_workbench_error
def import_command(project: str, files: tuple[Path, ...], fmt: str) -> None:
    """Add documents (and their annotation layers) from FILES or folders to PROJECT.

    All or nothing per file: the first bad file stops the import with its
    file and line; the files before it stay imported.
    """
    from workbench.services import importing
    from workbench.services import projects

    ensure_schema()
    session = get_session()
    target = projects.require_project_by_name(session, project)
    paths = importing.expand_paths(files)
    try:
        if len(paths) >= PROGRESS_FROM:
            with click.progressbar(length=len(paths), label="Importing", file=sys.stderr) as bar:
                report = importing.import_paths(session, target, paths, fmt, progress=lambda _p: bar.update(1))
        else:
            report = importing.import_paths(session, target, paths, fmt)
    except ImportError_ as exc:
        done = exc.extra.get("report")
        session.commit()
        earlier = len(done.files) if done is not None else 0
        if earlier:
            kept = (
                f"import stopped; {_plural(earlier, 'earlier file')} stay{'s' if earlier == 1 else ''} imported: "
                f"{_plural(done.documents, 'document')}, {_plural(done.layers, 'layer')}"
            )
        else:
            kept = "import stopped; nothing was imported"
        raise Failure(f"{exc.message} ({kept})") from None
    session.commit()
    click.echo(f"{report.summary()}.")


@click.command("export")
@click.argument("project")
@click.option(
    "--layer",
    type=click.Choice(["gold", "annotators", "predictions", "documents", "all"]),
    default="gold",
    show_default=True,
    help="gold: adjudicated documents; annotators: one record per document and annotator; "
    "predictions: one per document and model; documents: text and meta only; all: every record of the others.",
)
@click.option("--format", "fmt", type=click.Choice(list(WRITERS)), default="jsonl", show_default=True)
@click.option("--split", "split_spec", help="Write splits, e.g. train=0.8,dev=0.1,test=0.1 (PATH gets .train etc.).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split's shuffle.")
@click.option("--out", "out", required=True, help="The file to write; - for standard output.")
@with_appcontext
@fail_on_workbench_error
def export_command(project: str, layer: str, fmt: str, split_spec: str | None, seed: int, out: str) -> None:
    """Write PROJECT's dataset (streamed: memory stays flat on large projects)."""
    from workbench.services import exporting
    from workbench.services import projects

    ensure_schema()
    session = get_session()
    target = projects.require_project_by_name(session, project)
    if split_spec is None:
        if out == "-":
            count = exporting.write_export(session, target, layer, fmt, sys.stdout)
            sys.stdout.flush()
        else:
            with _open(Path(out)) as fh:
                count = exporting.write_export(session, target, layer, fmt, fh)
        click.echo(f"Wrote {count} record{'s' if count != 1 else ''} to {'standard output' if out == '-' else out}.", err=True)
        return
    if out == "-":
        raise Failure("--split writes one file per split; give --out a file name, not -")
    from workbench.formats.split import split_path

    plan = exporting.plan_split(session, target, split_spec, seed)
    with ExitStack() as stack:
        for name, ids in plan.items():
            path = split_path(out, name)
            fh = stack.enter_context(_open(Path(path)))
            count = exporting.write_export(session, target, layer, fmt, fh, only=ids)
            click.echo(f"Wrote {count} record{'s' if count != 1 else ''} ({len(ids)} documents) to {path}.", err=True)


def _plural(n: int, word: str) -> str:
    """Return ``1 file`` or ``2 files``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _open(path: Path) -> IO[str]:
    """Open ``path`` for writing UTF-8 text with LF line ends, as a one-line error when it cannot be."""
    try:
        return path.open("w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise Failure(f"{path}: cannot write ({exc.strerror or exc})") from None


COMMANDS: list[click.Command] = [import_command, export_command]
