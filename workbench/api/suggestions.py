"""API views for suggestions: what an annotator sees, their accept/reject decisions, models' predictions, the gazetteer.

Thin views over ``services.suggestions``; field shapes are documented in docs/suggestions.md.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask import request

from workbench.api import bp
from workbench.api import json_body
from workbench.auth import me
from workbench.db import get_session
from workbench.errors import InvalidInput
from workbench.services import documents as document_service
from workbench.services import projects as project_service
from workbench.services import suggestions as suggestion_service

#: The most bytes a gazetteer upload may have.
MAX_GAZETTEER_BYTES = 8 * 1024 * 1024


@bp.get("/projects/<int:project_id>/documents/<int:document_id>/suggestions")
def document_suggestions(project_id: int, document_id: int) -> Any:
    """Return the suggestions the caller sees on a document (their rejections and their own spans left out).

    An annotator's learned suggestions come from gold and their own layers only; a curator's from every layer.
    """
    session = get_session()
    project, role = project_service.require_access(session, me(), project_id)
    document = document_service.get_document(session, project, document_id)
    return jsonify(ok=True, **suggestion_service.document_suggestions(session, me(), project, document, role=role))


@bp.post("/projects/<int:project_id>/documents/<int:document_id>/suggestions/events")
def suggestion_events(project_id: int, document_id: int) -> Any:
    """Record the caller's accept/reject decisions on a document's suggestions."""
    body = json_body()
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id)
    document = document_service.get_document(session, project, document_id)
    stored = suggestion_service.record_events(session, me(), project, document, body.get("events"))
    session.commit()
    return jsonify(ok=True, recorded=stored), 201


@bp.post("/projects/<int:project_id>/documents/<int:document_id>/predictions")
def post_predictions(project_id: int, document_id: int) -> Any:
    """Store (or replace) one model's predictions on a document; curators and admins.

    Body: ``{"model": NAME, "spans": [...], "relations": [...], "attributions": [...]}``
    in the dataset format's shape.  Annotators then see them as suggestions.
    """
    body = json_body()
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    document = document_service.get_document(session, project, document_id)
    result = suggestion_service.post_predictions(session, me(), project, document, body.get("model"), body)
    session.commit()
    return jsonify(ok=True, **result), 201


@bp.get("/projects/<int:project_id>/suggestions/acceptance")
def suggestion_acceptance(project_id: int) -> Any:
    """Return each suggestion source's accepted and rejected counts and acceptance rate; curators and admins."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    return jsonify(ok=True, sources=suggestion_service.acceptance(session, project))


@bp.get("/projects/<int:project_id>/gazetteer")
def get_gazetteer(project_id: int) -> Any:
    """Return how many entries the project's gazetteer has; curators and admins."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    return jsonify(ok=True, entries=suggestion_service.gazetteer_size(session, project))


@bp.put("/projects/<int:project_id>/gazetteer")
def put_gazetteer(project_id: int) -> Any:
    """Replace the project's gazetteer: a multipart ``file`` part, or a JSON body ``{"text": "..."}`` (TSV lines)."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise InvalidInput("attach the gazetteer as a 'file' part")
        data: Any = upload.stream.read(MAX_GAZETTEER_BYTES + 1)
        name = upload.filename
    else:
        data, name = json_body().get("text"), "request body"
    if data is not None and len(data) > MAX_GAZETTEER_BYTES:
        raise InvalidInput(f"a gazetteer may have at most {MAX_GAZETTEER_BYTES // (1024 * 1024)} MB")
    count = suggestion_service.set_gazetteer(session, project, name, data)
    session.commit()
    return jsonify(ok=True, entries=count)
