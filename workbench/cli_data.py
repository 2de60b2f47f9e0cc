"""Data commands: import and export (and, later, agreement, evaluate, adjudicate)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from workbench.cli import Failure
from workbench.cli import ensure_schema
from workbench.cli import fail_on_workbench_error
from workbench.cli import wait_for_export_records
from workbench.db import get_session
from workbench.errors import ImportError_
from workbench.formats import READERS

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
    help="The files' format; auto goes by the file name (.jsonl, .txt, .md, .html, .json, .zip, a folder with .ann files), "
    "else by the content.",
)
@click.option(
    "--label-map",
    "label_map",
    help="Another tool's labels and relation types onto the project's: PER=PERSON,LOC=GPE, "
    "or a file (a JSON object, or one THEIRS=OURS per line).",
)
@click.option(
    "--as-predictions",
    "as_predictions",
    metavar="MODEL",
    help="Store every annotated layer in the files as MODEL's predictions (suggestions annotators accept or reject), "
    "whatever layer the files say.",
)
@with_appcontext
@fail_on_workbench_error
def import_command(
    project: str, files: tuple[Path, ...], fmt: str, label_map: str | None, as_predictions: str | None
) -> None:
    """Add documents (and their annotation layers) from FILES or folders to PROJECT.

    All or nothing per file: the first bad file stops the import with its
    file and line; the files before it stay imported.  brat, Label Studio and
    doccano files bring their annotations; a label the project's schema does
    not have must be mapped with --label-map.  With --as-predictions MODEL, a
    model's output (say a JSONL file of gold or prediction records) becomes
    that model's suggestions.
    """
    from workbench import settle_gc
    from workbench.services import importing
    from workbench.services import projects

    settle_gc()  # with the services loaded
    ensure_schema()
    mapping = _label_map(label_map)
    session = get_session()
    target = projects.require_project_by_name(session, project)
    paths = importing.expand_paths(files, fmt)
    try:
        if len(paths) >= PROGRESS_FROM:
            with click.progressbar(length=len(paths), label="Importing", file=sys.stderr) as bar:
                report = importing.import_paths(
                    session, target, paths, fmt, progress=lambda _p: bar.update(1), label_map=mapping,
                    as_predictions=as_predictions,
                )
        else:
            report = importing.import_paths(session, target, paths, fmt, label_map=mapping, as_predictions=as_predictions)
    except ImportError_ as exc:
        done = exc.extra.get("report")
        session.commit()
        wait_for_export_records(done.layers if done is not None else 0)
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
    for note in report.notes:
        click.echo(f"Note: {note}.", err=True)
    click.echo(f"{report.summary()}.")
    wait_for_export_records(report.layers)


def _label_map(value: str | None) -> dict[str, str]:
    """Return the label map of ``--label-map``: a file's, or the pairs given inline."""
    from workbench.formats._foreign import LabelMapError
    from workbench.formats._foreign import parse_label_map
    from workbench.formats._foreign import read_label_map_file

    if not value:
        return {}
    try:
        path = Path(value)
        if "=" not in value and path.is_file():
            return read_label_map_file(str(path), path.read_bytes())
        if "=" not in value:
            raise Failure(f"--label-map: {value}: no such file, and not THEIRS=OURS pairs")
        return parse_label_map(value)
    except LabelMapError as exc:
        raise Failure(str(exc)) from None


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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "conll", "spacy", "brat", "labelstudio", "doccano"]),
    default="jsonl",
    show_default=True,
    help="jsonl: the workbench's own; conll: BIO, one column per label kind; spacy: a .spacy DocBin "
    "(needs pip install 'workbench[spacy]'); brat: a zip of .txt/.ann; labelstudio: Label Studio JSON; doccano: doccano JSONL.",
)
@click.option("--split", "split_spec", help="Write splits, e.g. train=0.8,dev=0.1,test=0.1 (PATH gets .train etc.).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split's shuffle.")
@click.option("--group-by", "group_by", help="A meta key (e.g. source): documents sharing its value stay in one split.")
@click.option("--out", "out", required=True, help="The file to write (a manifest goes beside it); - for standard output.")
@click.option("--force", is_flag=True, help="Replace files that exist already (never the database).")
@with_appcontext
@fail_on_workbench_error
def export_command(
    project: str, layer: str, fmt: str, split_spec: str | None, seed: int, group_by: str | None, out: str, force: bool
) -> None:
    """Write PROJECT's dataset (streamed: memory stays flat on large projects).

    The file is written beside its target and renamed into place when
    complete; an existing file is replaced only with --force, the database
    never.  A manifest (PATH.manifest.json) lists counts per split and label,
    the schema, the command and a SHA-256 of every file.
    """
    from workbench import settle_gc
    from workbench.services import exporting
    from workbench.services import projects

    settle_gc()  # with the services loaded
    ensure_schema()
    session = get_session()
    target = projects.require_project_by_name(session, project)
    if out == "-":
        if split_spec:
            raise Failure("--split writes one file per split; give --out a file name, not -")
        writer = exporting.require_writer(fmt)
        if writer.binary:
            raise Failure(f"the {fmt} format writes a binary file; give --out a file name, not -")
        context = exporting.ExportContext(schema=projects.project_schema(target))
        count = exporting.write_export(session, target, layer, fmt, sys.stdout, context=context)
        sys.stdout.flush()
        _report_problems(context.problems)
        click.echo(f"Wrote {_plural(count, 'record')} to standard output.", err=True)
        return
    command = "workbench " + " ".join(shlex.quote(arg) for arg in sys.argv[1:]) if sys.argv[1:] else "workbench export"
    total = exporting.count_records(session, target, layer) if layer in exporting.LAYERS else 0
    with click.progressbar(length=max(total, 1), label="Exporting", file=sys.stderr, show_pos=True) as bar:
        result = exporting.export_to_path(
            session, target, Path(out), layer=layer, fmt=fmt, split=split_spec, seed=seed, group_by=group_by,
            force=force, command=command, progress=lambda n: bar.update(n - bar.pos),
        )
    _report_problems(result.problems)
    for name, path, counts in result.files:
        where = f" ({_plural(counts.documents, 'document')}, split {name})" if name else ""
        click.echo(f"Wrote {_plural(counts.records, 'record')}{where} to {path}.", err=True)
    click.echo(f"Manifest: {result.manifest}.", err=True)


def _report_problems(problems: list[str]) -> None:
    """Print the annotations the format could not hold (the first 20; all are in the manifest)."""
    for problem in problems[:20]:
        click.echo(f"Left out: {problem}", err=True)
    if len(problems) > 20:
        click.echo(f"... and {len(problems) - 20} more (all in the manifest when writing to a file).", err=True)


def _plural(n: int, word: str) -> str:
    """Return ``1 file`` or ``2 files``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


COMMANDS: list[click.Command] = [import_command, export_command]
