"""``workbench evaluate GOLD.jsonl PRED.jsonl [--json]``: an extractor's predictions scored against gold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from workbench.cli import Failure


@click.command("evaluate")
@click.argument("gold", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("pred", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the keys of docs/evaluation.md).")
def evaluate_command(gold: Path, pred: Path, as_json: bool) -> None:
    """Score PRED against GOLD (JSONL files of the dataset format, one record per document).

    Precision, recall and F1 per label and micro-averaged, exact and overlap,
    for spans, relations and attributions. Documents missing from PRED count
    as predicting nothing; documents of PRED not in GOLD are reported, not scored.
    """
    from workbench.errors import WorkbenchError
    from workbench.services import evaluation

    try:
        with gold.open("rb") as fh:
            gold_side = evaluation.read_jsonl(fh, str(gold))
        with pred.open("rb") as fh:
            pred_side = evaluation.read_jsonl(fh, str(pred))
        result = evaluation.score(gold_side, pred_side)
    except WorkbenchError as exc:
        raise Failure(exc.message) from None
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    for line in table_lines(result):
        click.echo(line)


def _row(name: str, s: dict[str, Any]) -> str:
    def f(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    return f"  {name:<22} {f(s['precision']):>9} {f(s['recall']):>7} {f(s['f1']):>7} {s['tp']:>6} {s['fp']:>6} {s['fn']:>6}"


def table_lines(result: dict[str, Any]) -> list[str]:
    """Return the readable table of ``workbench evaluate``."""
    docs = result["documents"]
    lines = [
        f"{docs['scored']} gold document(s) scored; {docs['missing_predictions']} without predictions "
        f"(count as predicting nothing); {docs['unknown_in_predictions']} predicted document(s) not in gold (not scored)."
    ]
    header = f"  {'':<22} {'precision':>9} {'recall':>7} {'F1':>7} {'tp':>6} {'fp':>6} {'fn':>6}"
    for mode in ("exact", "overlap"):
        lines += ["", f"Spans, {mode} match", header, _row("micro", result["spans"][mode]["micro"])]
        lines += [_row(label, s) for label, s in result["spans"][mode]["per_label"].items()]
    lines += ["", "Relations, exact match", header, _row("micro", result["relations"]["exact"]["micro"])]
    lines += [_row(t, s) for t, s in result["relations"]["exact"]["per_label"].items()]
    lines += ["", "Attributions, exact match", header, _row("content and source", result["attributions"]["exact"]["micro"]),
              _row("with cues", result["attributions"]["exact"]["micro_with_cues"])]
    return lines


COMMANDS = [evaluate_command]
