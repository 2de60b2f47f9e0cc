"""The pages: projects, documents, one document."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_login import login_required

from workbench.auth import me
from workbench.db import get_session
from workbench.services import projects as project_service
from workbench.web import bp


@bp.route("/")
@login_required
def index() -> Any:
    """List the projects the user belongs to, with counts and progress."""
    summaries = project_service.visible_projects(get_session(), me())
    return render_template("web/index.html", summaries=summaries)
