"""API views behind the annotate page: open a layer, save batches of ops, replace, set status, find the next document.

Thin views: parse the JSON body, call ``services.annotation``, commit, respond.
The API's error handler rolls back and answers in the one error shape.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask import url_for

from workbench.api import bp
from workbench.api import json_body
from workbench.api import serialize
from workbench.auth import me
from workbench.db import get_session
from workbench.markup import render_markdown
from workbench.services import adjudication
from workbench.services import annotation as annotation_service
from workbench.services import documents as document_service
from workbench.services import projects as project_service


def _annotate_url(project_id: int, document_id: int | None) -> str | None:
    """Return the annotate page of a document, or None."""
    if document_id is None:
        return None
    return url_for("web.annotate_document", project_id=project_id, document_id=document_id)


@bp.get("/projects/<int:project_id>/documents/<int:document_id>/annotate")
def annotate_document(project_id: int, document_id: int) -> Any:
    """Return the document, schema and the caller's own layer on it (created if missing)."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id)
    document = document_service.get_document(session, project, document_id)
    layer = annotation_service.open_annotator_layer(session, me(), document)
    prev_id, next_id = document_service.neighbours(session, document)
    body = page_data(project, document, layer, _annotate_url(project.id, next_id), _annotate_url(project.id, prev_id))
    session.commit()
    return jsonify(body)


def page_data(project: Any, document: Any, layer: Any, next_url: str | None, prev_url: str | None) -> dict[str, Any]:
    """Return what the annotate page loads: the document, schema, the layer it edits, guidelines and links.

    The adjudication page loads the same, with the gold layer (and more beside it).
    """
    schema = project_service.project_schema(project)
    return {
        "ok": True,
        "document": serialize.annotate_document(document),
        "schema": schema.to_dict(),
        "layer": annotation_service.layer_data(get_session(), layer, document.text),
        "project": serialize.annotate_project(project, render_markdown(project.guidelines or ""), schema),
        "navigation": serialize.navigation(
            next_url=next_url, prev_url=prev_url, project_url=url_for("web.project", project_id=project.id)
        ),
    }


@bp.get("/projects/<int:project_id>/next")
def next_document(project_id: int) -> Any:
    """Return the first document still needing the caller (missing, new or in-progress layer)."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id)
    document_id = annotation_service.next_document_id(session, me(), project.id)
    session.commit()  # the place taken on a new document must outlive this request
    return jsonify(ok=True, document_id=document_id, url=_annotate_url(project.id, document_id))


@bp.get("/layers/<int:set_id>")
def get_layer(set_id: int) -> Any:
    """Return one layer (its owner, or a curator/admin of the project)."""
    session = get_session()
    access = annotation_service.layer_access(session, me(), set_id)
    return jsonify(ok=True, layer=annotation_service.layer_data(session, access.layer, access.text))


@bp.patch("/layers/<int:set_id>/ops")
def apply_layer_ops(set_id: int) -> Any:
    """Apply a batch of ops to the caller's layer: all or none, optimistic on ``base_version``."""
    body = json_body()
    session = get_session()
    result = annotation_service.apply_ops(
        session, me(), set_id, body.get("base_version"), body.get("batch_id"), body.get("ops"), body.get("decision")
    )
    session.commit()
    return jsonify(ok=True, **result)


@bp.put("/layers/<int:set_id>")
def replace_layer(set_id: int) -> Any:
    """Replace the caller's whole layer with the spans, relations and attributions sent."""
    body = json_body()
    session = get_session()
    result = annotation_service.replace_layer(
        session,
        me(),
        set_id,
        body.get("base_version"),
        body.get("spans"),
        body.get("relations"),
        body.get("attributions"),
    )
    session.commit()
    return jsonify(ok=True, **result)


@bp.post("/layers/<int:set_id>/status")
def set_layer_status(set_id: int) -> Any:
    """Mark the caller's layer submitted, skipped (with a note) or in progress; name the next document."""
    body = json_body()
    session = get_session()
    access = annotation_service.set_status(session, me(), set_id, body.get("status"), body.get("note"))
    project_id = access.project.id
    if access.layer.kind == "gold":
        next_id = adjudication.next_to_adjudicate(session, access.project, after=access.layer.document_id)
        next_url = url_for("web.adjudicate_document", project_id=project_id, document_id=next_id) if next_id else None
    else:
        next_url = _annotate_url(project_id, annotation_service.next_document_id(session, me(), project_id))
    status = access.layer.status
    session.commit()
    return jsonify(ok=True, status=status, next_url=next_url)
