"""API views of adjudication: the queue of documents ready for it, bulk merges, and the reasons report.

Curators and admins of the project only.  A curator's own changes to a
gold layer go through the layer endpoints (``PATCH /api/v1/layers/<id>/ops``
with a ``decision``; ``POST /api/v1/layers/<id>/status`` to finish or reopen).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask import url_for

from workbench.api import bp
from workbench.api import json_body
from workbench.api.annotations import page_data
from workbench.auth import me
from workbench.db import get_session
from workbench.errors import InvalidInput
from workbench.services import adjudication
from workbench.services import documents as document_service
from workbench.services import projects as project_service


def _adjudicate_url(project_id: int, document_id: int | None) -> str | None:
    """Return the adjudication page of a document, or None."""
    if document_id is None:
        return None
    return url_for("web.adjudicate_document", project_id=project_id, document_id=document_id)


@bp.get("/projects/<int:project_id>/documents/<int:document_id>/adjudicate")
def adjudicate_document(project_id: int, document_id: int) -> Any:
    """Return what the annotate page loads, with the gold layer, plus the annotators' disagreements.

    The first opening fills the gold layer with what the annotators agree on.
    """
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    document = document_service.get_document(session, project, document_id)
    gold, view = adjudication.open_for_adjudication(session, project, document, me())
    next_id = adjudication.following_ready(session, project, after=document.id)
    body = page_data(project, document, gold, _adjudicate_url(project.id, next_id), None)
    body["adjudication"] = {**view.__dict__, "curator": me().username}
    session.commit()
    return jsonify(body)


@bp.post("/layers/<int:set_id>/decisions")
def record_decision(set_id: int) -> Any:
    """Record why a curator settled a disagreement as they did (gold layers; curators and admins)."""
    session = get_session()
    decision = adjudication.record_decision(session, me(), set_id, json_body().get("decision"))
    session.commit()
    return jsonify(ok=True, decision=decision), 201


@bp.get("/projects/<int:project_id>/adjudication")
def adjudication_queue(project_id: int) -> Any:
    """Return the documents ready for adjudication, worst agreement first, with agreed and disputed counts."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    rows = adjudication.queue(session, project)
    return jsonify(
        ok=True,
        settings=adjudication.adjudication_settings(project),
        items=[
            {
                "id": r.id,
                "external_id": r.external_id,
                "title": r.title,
                "annotators": r.annotators,
                "agreed": r.agreed,
                "disputed": r.disputed,
                "agreement": round(r.agreement, 4) if r.agreement is not None else None,
                "gold_status": r.gold_status,
            }
            for r in rows
        ],
    )


@bp.post("/projects/<int:project_id>/adjudication/auto")
def adjudication_auto(project_id: int) -> Any:
    """Fill gold in bulk with what the annotators agree on. Body: ``{"rule": "unanimous"|"majority", "finish": bool}``."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    body = json_body()
    finish = body.get("finish", False)
    if not isinstance(finish, bool):
        raise InvalidInput("finish must be true or false")
    report = adjudication.auto_merge(session, project, me(), body.get("rule"), finish=finish)
    session.commit()
    return jsonify(
        ok=True,
        report={
            "rule": report.rule,
            "documents": report.documents,
            "items_added": report.items_added,
            "finished": report.finished,
            "flagged": report.flagged,
        },
    )


@bp.get("/projects/<int:project_id>/adjudication/reasons")
def adjudication_reasons(project_id: int) -> Any:
    """Return the curators' decisions per reason and label, and the guideline-gap notes by label."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    report = adjudication.reasons_report(session, project)
    return jsonify(ok=True, report=report.__dict__)
