"""Logging in and out, who the current user is, and role checks.

Browser sessions use Flask-Login cookies that name a row of
``login_sessions``: logging out, a password change or deactivation deletes
the row, so a copied cookie stops working on every app process at once.
Scripts send ``Authorization: Bearer <token>`` to the API.  Failed logins
back off per account, per address and per pair (``services.users.login_wait``).
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
from flask import make_response
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
from workbench.domain.numbers import whole_number
from workbench.models import User
from workbench.services import users as user_service
from workbench.transactions import begin_write

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.session_protection = "strong"


class CurrentUser(UserMixin):
    """The Flask-Login view of a ``User`` row."""

    def __init__(self, user: User, via_token: bool = False, session_key: str | None = None):
        self.user = user
        self.via_token = via_token
        #: The key of this browser's row in ``login_sessions`` (None for a token).
        self.session_key = session_key

    def get_id(self) -> str:
        # Flask-Login keeps this in the cookie and hands it back to _load_user.
        return f"{self.user.id}:{self.session_key}"

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
def _load_user(cookie_id: str) -> CurrentUser | None:
    user_id, _, key = cookie_id.partition(":")
    number = whole_number(user_id)
    if number is None or not key:
        return None
    user = user_service.user_for_session(get_session(), number, key)
    return CurrentUser(user, session_key=key) if user is not None else None


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
    """Install Flask-Login, and the write lock of logged-in page writes.

    Registered after the CSRF check (security.init_app), so a forged or
    anonymous POST (a password-guessing loop) never takes the database's
    write lock; the API takes it after its own checks (api._authenticate).
    """
    login_manager.init_app(app)

    @app.before_request
    def _checked_writes_take_the_lock_first() -> None:
        if request.method in ("GET", "HEAD", "OPTIONS") or request.blueprint == "api":
            return
        if current_user.is_authenticated:
            begin_write(get_session())


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
    """Show the login form and log the user in.

    No write lock is held while the password hash is checked: a failed
    login writes only its count, after the check, and a wait is refused
    (429) before any hashing at all.
    """
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        session = get_session()
        username = (form.username.data or "")[:200]
        address = request.remote_addr or "?"
        wait = user_service.login_wait(session, username, address)
        if wait:
            flash(f"Too many failed logins; try again in {wait} second{'s' if wait != 1 else ''}.", "error")
            status = 429
        else:
            user = user_service.authenticate(session, username, form.password.data or "")
            begin_write(session)
            if user is None:
                user_service.record_login_failure(session, username, address)
                session.commit()
                flash("Wrong user name or password.", "error")
            else:
                user_service.record_login_success(session, username, address)
                key = user_service.start_session(session, user)
                session.commit()
                login_user(CurrentUser(user, session_key=key))
                return redirect(_safe_next(request.args.get("next")))
    response = make_response(
        render_template(
            "auth/login.html",
            form=form,
            demo=current_app.config.get("DEMO_LOGINS"),
            cookie_warning=_cookie_would_be_dropped(),
        ),
        status,
    )
    if status == 429:
        response.headers["Retry-After"] = str(wait)
    return response


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
    """Log out (POST only, so a link elsewhere cannot log a person out).

    The session's row is deleted, so a copy of the cookie taken before
    logging out no longer works either.
    """
    key = getattr(current_user, "session_key", None)
    if key:
        user_service.end_session(get_session(), key)
        get_session().commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
