"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import lru_cache

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from workbench.errors import Conflict
from workbench.errors import InvalidInput
from workbench.errors import NotFound
from workbench.models import ROLES
from workbench.models import ApiToken
from workbench.models import User
from workbench.models import utcnow

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")
MIN_PASSWORD = 8


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Return a hash to check against when the user does not exist.

    A login for an unknown name then takes as long as one for a known name.
    Made on first use: hashing at import would slow every start-up.
    """
    return generate_password_hash("not-a-password")


def create_user(
    session: Session,
    username: str,
    role: str = "annotator",
    password: str | None = None,
    *,
    active: bool = True,
    hash_method: str = "scrypt",
) -> User:
    """Add a user.

    :param password: None makes a user who cannot log in (an imported annotator).
    :raise InvalidInput: bad name, role or too short a password.
    :raise Conflict: the name is taken.
    """
    if not USERNAME_RE.match(username or ""):
        raise InvalidInput(f"user name {username!r} must be letters, digits, '.', '_' or '-' (at most 80)")
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    if get_user_by_name(session, username) is not None:
        raise Conflict(f"user {username!r} exists already")
    user = User(
        username=username,
        role=role,
        active=active,
        password_hash=generate_password_hash(password, method=hash_method) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str, hash_method: str = "scrypt") -> None:
    """Set a user's password (and activate the account)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    user.password_hash = generate_password_hash(password, method=hash_method)
    user.active = True


def get_user_by_name(session: Session, username: str) -> User | None:
    """Return the user called ``username`` (case-insensitive), or None."""
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def require_user(session: Session, username: str) -> User:
    """Return the user called ``username``.

    :raise NotFound: no such user.
    """
    user = get_user_by_name(session, username)
    if user is None:
        raise NotFound(f"no user called {username!r}")
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the active user whose name and password match, or None."""
    user = get_user_by_name(session, username)
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def list_users(session: Session) -> list[User]:
    """Return every user, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, user: User, name: str = "") -> str:
    """Create an API token for ``user`` and return it; only its hash is stored."""
    token = "wb_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name[:100], token_sha256=_token_hash(token)))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """Return the active user owning ``token``, or None."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _token_hash(token)))
    if row is None or not row.user.active:
        return None
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    # Record use at most once a minute: a write on every API call would
    # cost each save a second transaction.
    if last is None or (now - last).total_seconds() > 60:
        row.last_used_at = now
    return row.user


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """Return a user's tokens, newest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, user: User, token_id: int) -> None:
    """Delete one of ``user``'s tokens.

    :raise NotFound: the user has no such token.
    """
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("no such token")
    session.delete(row)
