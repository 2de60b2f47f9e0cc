"""``workbench agreement PROJECT [--json]``: the figures of docs/agreement.md, as a table or one JSON object."""

from __future__ import annotations

import json
import os
from typing import Any

import click
from flask.cli import with_appcontext

from workbench.cli import ensure_schema
from workbench.cli import fail_on_workbench_error
from workbench.db import get_session

#: How many documents the table lists, worst first.
WORST_SHOWN = 10


@click.command("agreement")
@click.argument("project")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the keys of docs/agreement.md).")
@click.option("--refresh", is_flag=True, help="Compute again even when the cached figures are current.")
@with_appcontext
@fail_on_workbench_error
def agreement_command(project: str, as_json: bool, refresh: bool) -> None:
    """Show inter-annotator agreement in PROJECT over its submitted annotator layers.

    Span F1 (exact and overlap), token-level Cohen's kappa, Gwet's AC1 and
    Krippendorff's alpha per label kind, relation and attribution F1, each
    headline figure with a 95% bootstrap interval over documents.  Figures
    are cached per project and computed again only after a change.
    """
    from workbench.services import agreement
    from workbench.services import projects

    ensure_schema()
    session = get_session()
    target = projects.require_project_by_name(session, project)
    # Both cores of a small machine count documents (forked processes; the server keeps to one).
    result = agreement.project_agreement(session, target, refresh=refresh, workers=min(os.cpu_count() or 1, 4))
    session.commit()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    for line in table_lines(result):
        click.echo(line)


def _num(value: float | None, ci: list[float] | None = None, reason: str | None = None) -> str:
    """Return ``0.81 [0.77, 0.85]``, or ``n/a (reason)``."""
    if value is None:
        return f"n/a ({reason})" if reason else "n/a"
    text = f"{value:.3f}"
    if ci:
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return text


def table_lines(result: dict[str, Any]) -> list[str]:
    """Return the readable table of ``workbench agreement``."""
    annotators = result["annotators"]
    lines = [
        f"Agreement in {result['project']['name']}: {len(annotators)} annotator{'s' if len(annotators) != 1 else ''}"
        f" ({', '.join(annotators) or 'none'}), {result['documents']} document{'s' if result['documents'] != 1 else ''}"
        " submitted by two or more.",
        f"95% intervals: percentile bootstrap over documents, {result['bootstrap']['resamples']} resamples,"
        f" seed {result['bootstrap']['seed']}.",
        "",
        "Span F1 (mean over pairs)",
    ]
    span = result["span_f1"]
    width = max([12, *(len(label) + 2 for label in result["labels"])])
    lines.append(f"  {'':<{width}} {'exact':<28} overlap")
    lines.append(
        f"  {'micro':<{width}} {_num(span['exact']['micro'], span['exact']['micro_ci'], span['exact']['micro_reason']):<28}"
        f" {_num(span['overlap']['micro'], span['overlap']['micro_ci'], span['overlap']['micro_reason'])}"
    )
    for label in result["labels"]:
        cells = [
            _num(span[m]["per_label"].get(label), span[m]["per_label_ci"].get(label), span[m]["per_label_reason"].get(label))
            for m in ("exact", "overlap")
        ]
        lines.append(f"  {label:<{width}} {cells[0]:<28} {cells[1]}")
    lines += ["", "Token agreement per label kind"]
    for kind, t in result["token"].items():
        if t.get("reason"):
            lines.append(f"  {kind:<{width}} n/a ({t['reason']})")
            continue
        lines.append(f"  {kind:<{width}} kappa {_num(t['kappa'], t['kappa_ci'], t['kappa_reason'])}")
        lines.append(f"  {'':<{width}} AC1   {_num(t['ac1'], t['ac1_ci'], t['ac1_reason'])}")
        lines.append(f"  {'':<{width}} alpha {_num(t['alpha'], t['alpha_ci'], t['alpha_reason'])}")
    lines += ["", "Relations and attributions F1 (mean over pairs)"]
    for name, key in (("relations", "relations_f1"), ("attributions", "attributions_f1")):
        figures = result[key]
        lines.append(
            f"  {name:<{width}} exact {_num(figures['exact']['micro'], figures['exact']['micro_ci'], figures['exact']['micro_reason'])}"
            f"; overlap {_num(figures['overlap']['micro'], figures['overlap']['micro_ci'], figures['overlap']['micro_reason'])}"
        )
    roles = result["attributions_f1"]["overlap"]["roles"]
    lines.append(
        f"  {'roles':<{width}} of {roles['paired_by_content']} attributions paired by content (overlap):"
        f" source agrees {_num(roles['source'], None, roles['source_reason'])},"
        f" cue agrees {_num(roles['cue'], None, roles['cue_reason'])},"
        f" content exact {_num(roles['content_exact'], None, roles['content_exact_reason'])}"
    )
    if result["pairs"]:
        lines += ["", "Pairs (span F1 exact, token kappa per kind)"]
        for p, pair in enumerate(result["span_f1"]["exact"]["pairs"]):
            kappas = ", ".join(
                f"{kind} {_num(t['kappa_pairs'][p]['kappa'])}" for kind, t in result["token"].items() if t["kappa_pairs"]
            )
            lines.append(
                f"  {pair['a']} / {pair['b']}: {pair['documents']} shared, F1 {_num(pair['f1'], None, pair['reason'])}"
                + (f"; kappa {kappas}" if kappas and pair["documents"] else "")
            )
    worst = result["documents_by_disagreement"][:WORST_SHOWN]
    if worst:
        lines += ["", f"Documents with the lowest span F1 (exact), worst first (of {len(result['documents_by_disagreement'])})"]
        for doc in worst:
            lines.append(f"  {doc['id']}: {_num(doc['span_f1'], None, doc['reason'])}")
    if result.get("misaligned_spans"):
        lines += ["", f"Note: {result['misaligned_spans']} spans start or end inside a token; their tokens count as inside them."]
    return lines


COMMANDS: list[click.Command] = [agreement_command]
