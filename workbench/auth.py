"""Logging in and out, who the current user is, and role checks.

Browser sessions use Flask-Login cookies; scripts send
``Authorization: Bearer <token>`` to the API.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Flask
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired

from workbench.db import get_session
from workbench.models import User
from workbench.services import users as user_service

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.session_protection = "strong"


class CurrentUser(UserMixin):
    """The Flask-Login view of a ``User`` row."""

    def __init__(self, user: User, via_token: bool = False):
        self.user = user
        self.via_token = via_token

    def get_id(self) -> str:
        return str(self.user.id)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.user.active)

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def role(self) -> str:
        return self.user.role


@login_manager.user_loader
def _load_user(user_id: str) -> CurrentUser | None:
    user = get_session().get(User, int(user_id)) if user_id.isdigit() else None
    return CurrentUser(user) if user is not None and user.active else None


@login_manager.request_loader
def _load_token_user(req: Any) -> CurrentUser | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    user = user_service.user_for_token(get_session(), header[7:].strip())
    if user is None:
        return None
    session = get_session()
    if session.dirty:
        session.commit()  # record last_used_at
    return CurrentUser(user, via_token=True)


def init_app(app: Flask) -> None:
    """Install Flask-Login."""
    login_manager.init_app(app)


def me() -> User:
    """Return the logged-in ``User`` row (only inside a login_required view)."""
    return current_user.user  # type: ignore[no-any-return]


def role_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow a view only to logged-in users with one of ``roles`` (global role)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


class LoginForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def _safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the home page."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("web.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the login form and log the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = user_service.authenticate(get_session(), form.username.data or "", form.password.data or "")
        if user is None:
            flash("Wrong user name or password.", "error")
        else:
            login_user(CurrentUser(user))
            return redirect(_safe_next(request.args.get("next")))
    return render_template(
        "auth/login.html",
        form=form,
        demo=current_app.config.get("DEMO_LOGINS"),
        cookie_warning=_cookie_would_be_dropped(),
    )


def _cookie_would_be_dropped() -> bool:
    """Tell whether the browser will drop our Secure session cookie on this request.

    Browsers keep Secure cookies over plain HTTP only on loopback hosts, so
    a server reached as ``http://192.168.1.5`` would loop back to the login
    page without saying why.
    """
    if not current_app.config.get("SESSION_COOKIE_SECURE") or request.is_secure:
        return False
    host = request.host.rsplit(":", 1)[0] if not request.host.startswith("[") else request.host.split("]")[0] + "]"
    return host not in ("localhost", "127.0.0.1", "[::1]")


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """Log out (POST only, so a link elsewhere cannot log a person out)."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
