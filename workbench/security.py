"""CSRF protection and security headers for every response."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import request
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

#: No inline script or style anywhere: article text can never become code.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def init_app(app: Flask) -> None:
    """Turn on CSRF for the whole app, bound request input and add security headers."""
    from workbench import limits

    limits.init_app(app)
    csrf.init_app(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            # Served over TLS (directly, or by a proxy trusted through BEHIND_PROXY):
            # browsers must never come back over plain HTTP.
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
