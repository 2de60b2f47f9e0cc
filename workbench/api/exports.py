"""API view exporting a project's dataset in any format, streamed."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import current_app
from flask import request

from workbench.api import bp
from workbench.auth import me
from workbench.db import get_session
from workbench.services import exporting
from workbench.services import projects as project_service
from workbench.streaming import attachment
from workbench.streaming import download_name
from workbench.streaming import stream_export


@bp.get("/projects/<int:project_id>/export")
def export_project(project_id: int) -> Any:
    """Stream one layer of the project in one format (curators and admins).

    Query: ``layer`` (gold, annotators, predictions, documents, all; default
    gold) and ``format`` (jsonl, conll, spacy, brat, labelstudio, doccano;
    default jsonl).  The body streams as it is written.
    """
    project, _role = project_service.require_access(get_session(), me(), project_id, at_least="curator")
    layer = request.args.get("layer", "gold")
    fmt = request.args.get("format", "jsonl")
    writer = exporting.require_export(layer, fmt)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return Response(
        stream_export(app, project.id, layer, fmt),
        mimetype=writer.mimetype,
        headers={
            "Content-Disposition": attachment(download_name(project.name, layer, writer.extension)),
            "Cache-Control": "no-store",
        },
    )
