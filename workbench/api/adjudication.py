"""API views of adjudication: the queue of documents ready for it, bulk merges, and the reasons report.

Curators and admins of the project only.  A curator's own changes to a
gold layer go through the layer endpoints (``PATCH /api/v1/layers/<id>/ops``
with a ``decision``; ``POST /api/v1/layers/<id>/status`` to finish or reopen).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from workbench.api import bp
from workbench.api import json_body
from workbench.auth import me
from workbench.db import get_session
from workbench.errors import InvalidInput
from workbench.services import adjudication
from workbench.services import projects as project_service


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
