"""API view of a project's agreement figures (curators and admins)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from workbench.api import bp
from workbench.auth import me
from workbench.db import get_session
from workbench.services import agreement as agreement_service
from workbench.services import projects as project_service


@bp.get("/projects/<int:project_id>/agreement")
def get_agreement(project_id: int) -> Any:
    """Return the project's agreement figures: the same object as ``workbench agreement PROJECT --json``.

    Served from the project's cache while its submitted layers are unchanged.
    """
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    result = agreement_service.project_agreement(session, project)
    session.commit()
    return jsonify(ok=True, agreement=result)
