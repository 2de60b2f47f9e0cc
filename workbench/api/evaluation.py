"""API view: score an extractor's predictions against a project's adjudicated gold."""

from __future__ import annotations

import io
from typing import Any

from flask import jsonify
from flask import request

from workbench.api import bp
from workbench.auth import me
from workbench.db import get_session
from workbench.errors import InvalidInput
from workbench.services import evaluation
from workbench.services import projects as project_service


@bp.post("/projects/<int:project_id>/evaluate")
def evaluate_predictions(project_id: int) -> Any:
    """Score predictions (JSONL of the dataset format) against the project's adjudicated gold.

    The predictions come as a multipart ``file`` part, or as the request body
    itself (``Content-Type: application/x-ndjson``).  Curators and admins.
    """
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise InvalidInput("attach the predictions as a 'file' part")
        stream, name = upload.stream, upload.filename
    else:
        stream, name = io.BytesIO(request.get_data()), "request body"
    predicted = evaluation.read_jsonl(stream, name)
    gold = evaluation.project_gold(session, project)
    if not gold.layers:
        raise InvalidInput("this project has no adjudicated document yet: there is no gold to score against")
    return jsonify(ok=True, evaluation=evaluation.score(gold, predicted))
