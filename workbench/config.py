"""Configuration defaults.  The only module that reads the environment.

Order (flaskr): these defaults -> ``config.py`` in the instance folder ->
``WORKBENCH_*`` environment variables -> the test mapping.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULTS = {
    # None means: SQLite file ``workbench.sqlite3`` in the instance folder.
    "DATABASE_URL": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "WTF_CSRF_TIME_LIMIT": None,
    "MAX_CONTENT_LENGTH": 512 * 1024 * 1024,
    "DOCUMENTS_PER_PAGE": 50,
    "PASSWORD_HASH_METHOD": "scrypt",
    # How many reverse proxies (TLS terminators) sit in front; 0 trusts no X-Forwarded-* header.
    "BEHIND_PROXY": 0,
    # When the export records of changed layers are stored (formats each project keeps ready): background, now or off (workbench/records_keeper.py).
    "EXPORT_RECORDS": "background",
}


def instance_path_from_env() -> str | None:
    """Return the instance folder named by ``WORKBENCH_INSTANCE``, if any."""
    value = os.environ.get("WORKBENCH_INSTANCE")
    return str(Path(value).resolve()) if value else None


def secret_key(instance_path: str) -> str:
    """Return the instance's secret key, creating it (mode 0600) on first use."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def child_environment(**extra: str) -> dict[str, str]:
    """Return this process's environment plus ``extra``, for a tool run as a child (pg_dump, pg_restore)."""
    return {**os.environ, **extra}
