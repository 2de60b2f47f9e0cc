"""HTML pages: thin views over services, Post/Redirect/Get."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException

from workbench.errors import WorkbenchError

bp = Blueprint("web", __name__)


@bp.app_errorhandler(WorkbenchError)
def _workbench_error(exc: WorkbenchError) -> Any:
    if request.path.startswith("/api/"):
        raise exc
    if request.method == "POST" and exc.status in (400, 409) and request.referrer:
        flash(exc.message, "error")
        return redirect(request.referrer)
    return render_template("errors/error.html", status=exc.status, message=exc.message), exc.status


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    if request.path.startswith("/api/"):
        from workbench.api import error_response

        return error_response(exc.code or 500, exc.description or exc.name)
    return render_template("errors/error.html", status=exc.code, message=exc.description), exc.code


# Page modules register themselves on ``bp``.
from workbench.web import accounts  # noqa: E402,F401
from workbench.web import pages  # noqa: E402,F401
from workbench.web import assignment  # noqa: E402,F401
from workbench.web import adjudication  # noqa: E402,F401
from workbench.web import evaluation  # noqa: E402,F401
from workbench.web import agreement  # noqa: E402,F401
from workbench.web import exports  # noqa: E402,F401
from workbench.web import suggestions  # noqa: E402,F401
