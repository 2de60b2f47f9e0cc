"""API views for accounts: admins deactivate, activate and reset users; users change their password;
curators remove project members.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask import jsonify
from flask_login import current_user

from workbench.api import bp
from workbench.api import json_body
from workbench.api import serialize
from workbench.api.projects import text_field
from workbench.auth import me
from workbench.db import get_session
from workbench.errors import Forbidden
from workbench.models import User
from workbench.services import projects as project_service
from workbench.services import users as user_service


def _admin_target(username: str) -> User:
    """Return the user called ``username`` for an admin's action.

    :raise Forbidden: the caller is not an admin.
    :raise NotFound: no such user.
    """
    if me().role != "admin":
        raise Forbidden("only admins manage accounts")
    return user_service.require_user(get_session(), username)


@bp.get("/users")
def list_users() -> Any:
    """Return every user with their role and whether they may log in (admins)."""
    if me().role != "admin":
        raise Forbidden("only admins manage accounts")
    return jsonify(ok=True, items=[serialize.user(u) for u in user_service.list_users(get_session())])


@bp.post("/users/<username>/deactivate")
def deactivate_user(username: str) -> Any:
    """Deactivate a user (admins): their sessions and API tokens end at once."""
    user = _admin_target(username)
    session = get_session()
    user_service.deactivate_user(session, user, by=me())
    payload = serialize.user(user)
    session.commit()
    return jsonify(ok=True, user=payload)


@bp.post("/users/<username>/activate")
def activate_user(username: str) -> Any:
    """Let a deactivated user log in again (admins)."""
    user = _admin_target(username)
    session = get_session()
    user_service.activate_user(session, user)
    payload = serialize.user(user)
    session.commit()
    return jsonify(ok=True, user=payload)


@bp.post("/users/<username>/password")
def reset_password(username: str) -> Any:
    """Set a user's password (admins); their login sessions end.  Body: ``{"password": ...}``."""
    user = _admin_target(username)
    password = text_field(json_body(), "password", required=True)
    session = get_session()
    user_service.set_password(session, user, password, current_app.config["PASSWORD_HASH_METHOD"])
    payload = serialize.user(user)
    session.commit()
    return jsonify(ok=True, user=payload)


@bp.post("/me/password")
def change_own_password() -> Any:
    """Change the caller's password.  Body: ``{"current_password": ..., "new_password": ...}``.

    Every other login session of the caller ends; the one sending this stays.
    """
    body = json_body()
    current = text_field(body, "current_password", required=True)
    new = text_field(body, "new_password", required=True)
    session = get_session()
    user_service.change_password(
        session,
        me(),
        current,
        new,
        current_app.config["PASSWORD_HASH_METHOD"],
        keep_session=getattr(current_user, "session_key", None),
    )
    session.commit()
    return jsonify(ok=True)


@bp.delete("/projects/<int:project_id>/members/<username>")
def remove_member(project_id: int, username: str) -> Any:
    """Take a member's access to the project away (curators of the project and admins).

    The annotations they made stay in the project.
    """
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    user = user_service.require_user(session, username)
    project_service.remove_member(session, project, user)
    session.commit()
    return jsonify(ok=True)
