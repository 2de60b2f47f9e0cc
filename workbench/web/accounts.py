"""Account pages: the admin's user list (deactivate, activate, reset a password), a user's own
password change, and removing a project member.

Every write is a POST with a CSRF token (Flask-WTF checks it app-wide) and
checks the role on the server; each answers with a redirect and a flash message.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required

from workbench.auth import me
from workbench.auth import role_required
from workbench.db import get_session
from workbench.errors import NotFound
from workbench.errors import WorkbenchError
from workbench.models import User
from workbench.services import projects as project_service
from workbench.services import users as user_service
from workbench.web import bp


def _user(user_id: int) -> User:
    """Return the user with id ``user_id``.

    :raise NotFound: no such user.
    """
    user = get_session().get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def _done(message: str, endpoint: str, **values: Any) -> Any:
    """Commit, flash ``message`` and redirect to ``endpoint`` (Post/Redirect/Get)."""
    get_session().commit()
    flash(message, "success")
    return redirect(url_for(endpoint, **values))


def _refused(exc: WorkbenchError, endpoint: str, **values: Any) -> Any:
    """Roll back, flash the reason and redirect to ``endpoint``."""
    get_session().rollback()
    flash(exc.message, "error")
    return redirect(url_for(endpoint, **values))


@bp.route("/admin/users")
@role_required("admin")
def admin_users() -> Any:
    """List every user, with buttons to deactivate or activate them and to set a new password."""
    users = user_service.list_users(get_session())
    return render_template("web/admin_users.html", users=users, min_password=user_service.MIN_PASSWORD)


@bp.route("/admin/users/<int:user_id>/deactivate", methods=["POST"])
@role_required("admin")
def admin_deactivate(user_id: int) -> Any:
    """Deactivate a user: their sessions and API tokens end at once."""
    user = _user(user_id)
    try:
        user_service.deactivate_user(get_session(), user, by=me())
    except WorkbenchError as exc:
        return _refused(exc, "web.admin_users")
    return _done(f"{user.username} is deactivated; their sessions and API tokens are ended.", "web.admin_users")


@bp.route("/admin/users/<int:user_id>/activate", methods=["POST"])
@role_required("admin")
def admin_activate(user_id: int) -> Any:
    """Let a deactivated user log in again."""
    user = _user(user_id)
    user_service.activate_user(get_session(), user)
    return _done(f"{user.username} can log in again.", "web.admin_users")


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@role_required("admin")
def admin_set_password(user_id: int) -> Any:
    """Set a user's password; their login sessions end."""
    user = _user(user_id)
    try:
        user_service.set_password(
            get_session(), user, request.form.get("password", ""), current_app.config["PASSWORD_HASH_METHOD"]
        )
    except WorkbenchError as exc:
        return _refused(exc, "web.admin_users")
    return _done(f"New password set for {user.username}; their sessions are ended.", "web.admin_users")


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password() -> Any:
    """Change the user's own password; their other sessions end, this one stays."""
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        flash("The two new passwords differ.", "error")
        return redirect(url_for("web.account"))
    try:
        user_service.change_password(
            get_session(),
            me(),
            request.form.get("current_password", ""),
            new,
            current_app.config["PASSWORD_HASH_METHOD"],
            keep_session=getattr(current_user, "session_key", None),
        )
    except WorkbenchError as exc:
        return _refused(exc, "web.account")
    return _done("Password changed; your other sessions are logged out.", "web.account")


@bp.route("/projects/<int:project_id>/members/<int:user_id>/remove", methods=["POST"])
@login_required
def remove_member(project_id: int, user_id: int) -> Any:
    """Take a member's access to the project away (curators and admins); their annotations stay."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, "curator")
    user = _user(user_id)
    try:
        project_service.remove_member(session, project, user)
    except WorkbenchError as exc:
        return _refused(exc, "web.project_members", project_id=project.id)
    return _done(f"{user.username} is no longer a member of {project.name}.", "web.project_members", project_id=project.id)
