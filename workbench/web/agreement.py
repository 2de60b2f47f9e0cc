"""The Agreement tab of a project (curators and admins): figures, a heatmap of pairs, bars per label, worst documents.

Charts are SVG drawn on the server (no script, no network); this module only
works out their geometry from the figures the service returns.
"""

from __future__ import annotations

from typing import Any

from flask_login import login_required

from workbench.db import get_session
from workbench.services import adjudication
from workbench.services import agreement as agreement_service
from workbench.web import bp
from workbench.web.pages import _access
from workbench.web.pages import _project_page

#: How many documents the page lists, worst first.
WORST_SHOWN = 50
#: Bar chart geometry (SVG user units).
BAR_LABEL_W, BAR_W, BAR_ROW, BAR_TOP = 120, 360, 26, 24
#: Heatmap geometry.
CELL, HEAT_LABEL_W = 60, 110
#: Sequential blues (ColorBrewer) for the heatmap, low to high; text turns white from index 4.
BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594")
NA_FILL = "#e6e6e6"


@bp.route("/projects/<int:project_id>/agreement")
@login_required
def project_agreement(project_id: int) -> Any:
    """Show the project's agreement figures (computed again only after a change to a submitted layer)."""
    project, role = _access(project_id, "curator")
    session = get_session()
    result = agreement_service.project_agreement(session, project)
    ready = set(adjudication.ready_documents(session, project))
    adjudicated = set(adjudication.ready_documents(session, project, include_adjudicated=True)) - ready
    session.commit()
    return _project_page(
        "web/agreement.html",
        project,
        role,
        "agreement",
        result=result,
        bars={m: bar_chart(result, m) for m in ("exact", "overlap")},
        heatmap=heatmap(result, "exact"),
        worst=result["documents_by_disagreement"][:WORST_SHOWN],
        worst_total=len(result["documents_by_disagreement"]),
        ready=ready,
        adjudicated=adjudicated,
    )


def bar_chart(result: dict[str, Any], mode: str) -> dict[str, Any]:
    """Return the geometry of the per-label F1 bars (mean over pairs) with their 95% intervals."""
    figures = result["span_f1"][mode]
    rows = []
    for i, label in enumerate(result["labels"]):
        value = figures["per_label"].get(label)
        ci = figures["per_label_ci"].get(label)
        y = BAR_TOP + i * BAR_ROW
        row: dict[str, Any] = {"label": label, "y": y, "mid": y + BAR_ROW / 2, "value": value, "ci": ci}
        if value is not None:
            row["width"] = round(value * BAR_W, 1)
            if ci:
                row["ci_x1"] = round(BAR_LABEL_W + ci[0] * BAR_W, 1)
                row["ci_x2"] = round(BAR_LABEL_W + ci[1] * BAR_W, 1)
        else:
            row["reason"] = figures["per_label_reason"].get(label) or "undefined"
        rows.append(row)
    height = BAR_TOP + len(rows) * BAR_ROW + 28
    ticks = [{"x": BAR_LABEL_W + t * BAR_W, "text": f"{t:.2g}" if t not in (0, 1) else str(int(t))} for t in (0, 0.25, 0.5, 0.75, 1)]
    return {
        "rows": rows,
        "width": BAR_LABEL_W + BAR_W + 70,
        "height": height,
        "x0": BAR_LABEL_W,
        "x1": BAR_LABEL_W + BAR_W,
        "value_x": BAR_LABEL_W + BAR_W + 8,
        "axis_y": height - 22,
        "ticks": ticks,
        "bar_h": BAR_ROW - 8,
    }


def _fill(value: float) -> tuple[str, bool]:
    """Return the heatmap colour of a figure in [0, 1] (below 0 counts as 0) and whether its text is light."""
    step = min(len(BLUES) - 1, max(0, int(value * len(BLUES))))
    return BLUES[step], step >= 4


def heatmap(result: dict[str, Any], mode: str) -> dict[str, Any]:
    """Return the geometry of the annotator x annotator heatmap of span F1 (micro)."""
    names = result["annotators"]
    at = {name: i for i, name in enumerate(names)}
    value: dict[tuple[int, int], dict[str, Any]] = {}
    for pair in result["span_f1"][mode]["pairs"]:
        i, j = at[pair["a"]], at[pair["b"]]
        value[(i, j)] = value[(j, i)] = pair
    cells = []
    for i, _row in enumerate(names):
        for j, _col in enumerate(names):
            cell: dict[str, Any] = {"x": HEAT_LABEL_W + j * CELL, "y": HEAT_LABEL_W + i * CELL, "diagonal": i == j}
            pair = value.get((i, j))
            if i == j or pair is None:
                cell.update(fill="#ffffff", text="—" if i == j else "n/a", light=False)
            elif pair["f1"] is None:
                cell.update(fill=NA_FILL, text="n/a", light=False, title=f"{pair['a']} and {pair['b']}: n/a ({pair['reason']})")
            else:
                fill, light = _fill(pair["f1"])
                cell.update(
                    fill=fill,
                    text=f"{pair['f1']:.2f}",
                    light=light,
                    title=f"{pair['a']} and {pair['b']}: span F1 {pair['f1']:.3f} over {pair['documents']} shared documents",
                )
            cells.append(cell)
    size = HEAT_LABEL_W + len(names) * CELL + 10
    # Room on the right for the slanted column names.
    width = size + HEAT_LABEL_W - 20
    return {
        "names": [
            {"name": n, "x": HEAT_LABEL_W + k * CELL + CELL / 2, "y": HEAT_LABEL_W + k * CELL + CELL / 2} for k, n in enumerate(names)
        ],
        "cells": cells,
        "cell": CELL,
        "size": size,
        "width": width,
        "label_w": HEAT_LABEL_W,
    }
