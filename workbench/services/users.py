"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from workbench.errors import Conflict
from workbench.errors import Forbidden
from workbench.errors import InvalidInput
from workbench.errors import NotFound
from workbench.models import ROLES
from workbench.models import ApiToken
from workbench.models import LoginSession
from workbench.models import LoginThrottle
from workbench.models import User
from workbench.models import utcnow

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1000


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Return a hash to check against when the user does not exist.

    A login for an unknown name then takes as long as one for a known name.
    Made on first use: hashing at import would slow every start-up.
    """
    return generate_password_hash("not-a-password")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """Return the 30,000 most common passwords (zxcvbn's list), loaded on first use."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password(password: str, username: str = "") -> None:
    """Refuse a password that is too short, too long, one of the most common ones or the user name itself.

    :raise InvalidInput: with the reason.
    """
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD} characters")
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(lowered)) < 3:
        raise InvalidInput("that password is one of the most common ones; choose another")
    if username and username.lower() == lowered:
        raise InvalidInput("a password must not be the user name")


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
    if password is not None:
        check_password(password, username)
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


def set_password(
    session: Session, user: User, password: str, hash_method: str = "scrypt", *, keep_session: str | None = None
) -> None:
    """Set a user's password and end their login sessions (all but ``keep_session``, a session key).

    An admin's reset ends every session; a user changing their own password
    keeps the session they changed it from.  API tokens stay valid.

    :raise InvalidInput: the password breaks the rules of :func:`check_password`.
    """
    check_password(password, user.username)
    user.password_hash = generate_password_hash(password, method=hash_method)
    end_sessions(session, user, keep=keep_session)


def change_password(
    session: Session, user: User, current: str, new: str, hash_method: str = "scrypt", *, keep_session: str | None = None
) -> None:
    """Change ``user``'s own password after checking the current one; ends their other sessions.

    :raise InvalidInput: the current password is wrong, or the new one breaks the rules.
    """
    if not user.password_hash or not check_password_hash(user.password_hash, current):
        raise InvalidInput("the current password is wrong")
    set_password(session, user, new, hash_method, keep_session=keep_session)


def deactivate_user(session: Session, user: User, *, by: User | None = None) -> None:
    """Deactivate ``user``: their login sessions and API tokens end at once.

    Tokens are deleted, not suspended: activating the account again does not
    bring a leaked token back.

    :raise Forbidden: ``by`` is ``user`` (nobody locks themselves out).
    """
    if by is not None and by.id == user.id:
        raise Forbidden("you cannot deactivate your own account")
    user.active = False
    end_sessions(session, user)
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id).execution_options(synchronize_session=False))
    session.flush()


def activate_user(session: Session, user: User) -> None:
    """Let ``user`` log in again (with the password they had, if any)."""
    user.active = True
    session.flush()


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


# -- login sessions -----------------------------------------------------------

#: How long a login session lasts at most (Flask's permanent-session lifetime, 31 days).
SESSION_LIFETIME = timedelta(days=31)


def start_session(session: Session, user: User) -> str:
    """Record a new login session of ``user`` and return its key (for the cookie; only its hash is stored)."""
    key = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, key_sha256=_token_hash(key)))
    session.flush()
    return key


def user_for_session(session: Session, user_id: int, key: str) -> User | None:
    """Return the active user whose live login session ``key`` is, or None (ended, expired, deactivated)."""
    return session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == user_id,
            User.active.is_(True),
            LoginSession.key_sha256 == _token_hash(key),
            LoginSession.created_at > utcnow() - SESSION_LIFETIME,
        )
    )


def end_session(session: Session, key: str) -> None:
    """End one login session (logout): a copy of its cookie stops working."""
    session.execute(
        delete(LoginSession).where(LoginSession.key_sha256 == _token_hash(key)).execution_options(synchronize_session=False)
    )


def end_sessions(session: Session, user: User, *, keep: str | None = None) -> None:
    """End every login session of ``user`` except the one with key ``keep``."""
    stmt = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep is not None:
        stmt = stmt.where(LoginSession.key_sha256 != _token_hash(keep))
    session.execute(stmt.execution_options(synchronize_session=False))


# -- login back-off -------------------------------------------------------------

#: (failures allowed before back-off, longest wait in seconds) per kind of key.
#: ``pair``: one account from one address; ``addr``: one address, any account;
#: ``acct``: one account from anywhere (a spread-out attack), capped short so
#: an attacker can delay a real user by a minute at most, never lock them out.
BACKOFF = {"pair": (5, 900), "addr": (30, 900), "acct": (50, 60)}
#: Failures older than this are forgotten.
FORGET_AFTER = timedelta(hours=1)


def _throttle_keys(username: str, address: str) -> dict[str, str]:
    """Return the throttle key of each kind for a login of ``username`` from ``address``."""
    name = username.strip().lower()[:80]
    addr = (address or "?")[:60]
    return {"pair": f"pair:{name}|{addr}", "addr": f"addr:{addr}", "acct": f"acct:{name}"}


def _aware(value: datetime) -> datetime:
    """Return ``value`` with UTC attached (SQLite gives naive datetimes back)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


def login_wait(session: Session, username: str, address: str) -> int:
    """Return how many seconds a login of ``username`` from ``address`` must wait (0: it may try now).

    Back-off, not a lock: after the free failures each further one doubles
    the wait (1 s, 2 s, 4 s ...) up to a cap, and an hour without failures
    forgets them.
    """
    keys = _throttle_keys(username, address)
    rows = {r.key: r for r in session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys.values())))}
    now = utcnow()
    wait = 0.0
    for kind, key in keys.items():
        row = rows.get(key)
        if row is None:
            continue
        last = _aware(row.last_failure_at)
        if now - last > FORGET_AFTER:
            continue
        free, cap = BACKOFF[kind]
        if row.failures >= free:
            delay = min(cap, 2 ** min(row.failures - free, 20))
            wait = max(wait, delay - (now - last).total_seconds())
    return max(0, int(wait + 0.999))


def record_login_failure(session: Session, username: str, address: str) -> None:
    """Count one failed login against the account, the address and the pair."""
    now = utcnow()
    for key in _throttle_keys(username, address).values():
        row = session.get(LoginThrottle, key)
        if row is not None:
            forgotten = now - _aware(row.last_failure_at) > FORGET_AFTER
            row.failures = 1 if forgotten else row.failures + 1
            row.last_failure_at = now
            continue
        try:
            with session.begin_nested():
                session.add(LoginThrottle(key=key, failures=1, last_failure_at=now))
        except IntegrityError:  # another process counted a first failure at the same moment
            row = session.get(LoginThrottle, key)
            if row is not None:
                row.failures += 1
                row.last_failure_at = now
    session.flush()


def record_login_success(session: Session, username: str, address: str) -> None:
    """Forget the failures of this account (from this address and overall); the address's own count stays."""
    keys = _throttle_keys(username, address)
    session.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.key.in_([keys["pair"], keys["acct"]]))
        .execution_options(synchronize_session=False)
    )


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
    # One query for the token and its user (this runs on every API call).
    found = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_sha256 == _token_hash(token))
    ).first()
    if found is None or not found[1].active:
        return None
    row, user = found
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    # Record use at most once a minute: a write on every API call would
    # cost each save a second transaction.
    if last is None or (now - last).total_seconds() > 60:
        row.last_used_at = now
    return user


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
