"""API views for the user's own API tokens."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user

from workbench.api import bp
from workbench.api import json_body
from workbench.api import serialize
from workbench.api.projects import text_field
from workbench.auth import me
from workbench.db import get_session
from workbench.errors import Forbidden
from workbench.errors import InvalidInput
from workbench.services import users as user_service


@bp.get("/tokens")
def list_tokens() -> Any:
    """Return the user's own tokens, newest first, without their secrets."""
    return jsonify(ok=True, items=[serialize.token(t) for t in user_service.list_tokens(get_session(), me())])


@bp.post("/tokens")
def create_token() -> Any:
    """Create a token for the user; the secret is in this answer only.

    Body: ``{"name": ...}`` (a label, at most 100 characters).  Only a
    logged-in browser session may create one, never another token: revoking
    a leaked token must not leave tokens it made working.
    """
    if getattr(current_user, "via_token", False):
        raise Forbidden("an API token cannot create tokens; use the account page or `workbench users token`")
    name = text_field(json_body(), "name", required=True).strip()
    if not name or len(name) > 100:
        raise InvalidInput("a token name needs 1 to 100 characters")
    session = get_session()
    secret = user_service.create_token(session, me(), name)
    # Ids only grow, so the newest token is the one just made.
    row = user_service.list_tokens(session, me())[0]
    payload = serialize.token(row)
    session.commit()
    return jsonify(ok=True, token=payload, secret=secret), 201


@bp.delete("/tokens/<int:token_id>")
def revoke_token(token_id: int) -> Any:
    """Revoke one of the user's tokens; it stops working at once."""
    session = get_session()
    user_service.revoke_token(session, me(), token_id)
    session.commit()
    return jsonify(ok=True)
