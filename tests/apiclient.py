"""Helpers for tests that talk to the app over HTTP: the ``Api`` client, bearer headers, CSRF tokens.

The ``api`` fixture (in conftest.py) hands tests an :class:`Api` on the test app;
tests import the class and helpers with ``from apiclient import ...``, as they
import ``factories``.
"""

from __future__ import annotations

import re
from typing import Any

from factories import PASSWORD
from sqlalchemy.orm import Session

from workbench.models import User
from workbench.services import users as user_service

#: The keys of every error answer under /api/v1, whatever went wrong.
ERROR_KEYS = {"ok", "error", "errors", "status"}


class Api:
    """The test client, but each request in its own app context, as in production.

    pytest-flask keeps one app context for a whole test, so ``g`` (and the
    user Flask-Login caches there) would leak from one request to the next.
    """

    def __init__(self, app: Any):
        """Wrap ``app`` in a test client of its own."""
        self.app = app
        # Not pytest-flask's ``client``: that one runs inside ``with``, which
        # keeps each request's context around until the next request.
        self.client = app.test_client()

    def login(self, username: str, password: str = PASSWORD) -> Any:
        """Log in through the login form; later requests carry the session cookie."""
        return self.post("/login", data={"username": username, "password": password})

    def open(self, method: str, url: str, token: str | None = None, **kwargs: Any) -> Any:
        """Make one request in a fresh app context and return the response.

        :param token: an API token, sent as ``Authorization: Bearer <token>``.
        """
        if token:
            kwargs["headers"] = {**dict(kwargs.get("headers") or {}), "Authorization": f"Bearer {token}"}
        with self.app.app_context():
            return self.client.open(url, method=method, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        """GET ``url``."""
        return self.open("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        """POST to ``url``."""
        return self.open("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        """DELETE ``url``."""
        return self.open("DELETE", url, **kwargs)


def bearer(db: Session, user: User) -> dict[str, str]:
    """Return headers authenticating as ``user`` with a fresh API token."""
    token = user_service.create_token(db, user, "tests")
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def csrf_token(html: str) -> str:
    """Return the CSRF token of a page (its meta tag or hidden form field)."""
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)
