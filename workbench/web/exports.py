"""The export download of every format (the Export page's form and scripts' GETs)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import abort
from flask import current_app
from flask import request
from flask_login import login_required

from workbench.auth import me
from workbench.db import get_session
from workbench.errors import WorkbenchError
from workbench.services import exporting
from workbench.services import projects as project_service
from workbench.streaming import attachment
from workbench.streaming import download_name
from workbench.streaming import stream_export
from workbench.web import bp


@bp.route("/projects/<int:project_id>/export/download")
@login_required
def export_download(project_id: int) -> Any:
    """Stream one layer of the project in one format (curators and admins).

    Query: ``layer`` (gold, annotators, predictions, documents, all) and
    ``format`` (jsonl, conll, spacy, brat, labelstudio, doccano).
    """
    project, _role = project_service.require_access(get_session(), me(), project_id, "curator")
    layer = request.args.get("layer", "gold")
    fmt = request.args.get("format", "jsonl")
    if layer not in exporting.LAYERS:
        abort(400, f"layer must be one of {', '.join(exporting.LAYERS)}")
    try:
        writer = exporting.require_writer(fmt)
    except WorkbenchError as exc:
        abort(400, exc.message)
    name = download_name(project.name, layer, writer.extension)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return Response(
        stream_export(app, project.id, layer, fmt),
        mimetype=writer.mimetype,
        headers={"Content-Disposition": attachment(name), "Cache-Control": "no-store"},
    )
