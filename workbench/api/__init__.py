"""The JSON API under ``/api/v1``.

Every error has one shape: ``{"ok": false, "error": "...", "errors": [...],
"status": N}``.  Scripts authenticate with ``Authorization: Bearer <token>``;
the browser uses its session cookie and must then send ``X-CSRFToken``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from workbench.db import get_session
from workbench.errors import WorkbenchError
from workbench.security import csrf
from workbench.transactions import begin_write

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# CSRF is checked below for cookie-authenticated writes; token requests carry
# no ambient credentials and need none.
csrf.exempt(bp)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def error_response(status: int, message: str, errors: list[Any] | None = None, **extra: Any) -> Response:
    """Return the API's one error shape."""
    body = {"ok": False, "error": message, "errors": errors or [], "status": status, **extra}
    response = jsonify(body)
    response.status_code = status
    return response


@bp.before_request
def _authenticate() -> Response | None:
    if not current_user.is_authenticated:
        return error_response(401, "log in or send 'Authorization: Bearer <token>'")
    # ``csrf.protect()`` ignores WTF_CSRF_ENABLED (only the app-wide hook reads
    # it), so check the setting here or tests with CSRF off could never write.
    if (
        request.method not in SAFE_METHODS
        and not getattr(current_user, "via_token", False)
        and current_app.config.get("WTF_CSRF_ENABLED", True)
    ):
        csrf.protect()
    if request.method not in SAFE_METHODS:
        # Only now, with the caller known and CSRF checked, take the write lock.
        begin_write(get_session())
    return None


@bp.errorhandler(WorkbenchError)
def _workbench_error(exc: WorkbenchError) -> Response:
    # Drop whatever the failed request added, so a later commit in the same
    # app context (one CLI run, one test) cannot store half of it.
    get_session().rollback()
    return error_response(exc.status, exc.message, exc.details, **exc.extra)


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> Response:
    return error_response(400, f"CSRF check failed: {exc.description}")


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return error_response(exc.code or 500, exc.description or exc.name)


def json_body() -> dict[str, Any]:
    """Return the request's JSON object.

    :raise InvalidInput: the body is not a JSON object, or breaks a limit of
        :func:`workbench.limits.check_json` (nesting, lone surrogates, huge numbers).
    """
    from workbench.errors import InvalidInput
    from workbench.limits import check_json

    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise InvalidInput("the JSON body nests too deep") from None
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object")
    check_json(data)
    return data


# Route modules register themselves on ``bp``.
from workbench.api import routes  # noqa: E402,F401
