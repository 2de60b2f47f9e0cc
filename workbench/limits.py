"""Limits on what a request may hold, so bad input gets a 4xx with a reason, never a 500.

- ids in URLs fit the id columns (32-bit INTEGER; larger ones are no route: 404);
- JSON bodies nest at most :data:`MAX_JSON_DEPTH` deep, hold no lone
  surrogate (``"\\ud800"``, which no database can store as UTF-8) and no NUL
  (which PostgreSQL cannot store), no integer beyond 64 bits and no NaN or infinity;
- an upload larger than ``MAX_CONTENT_LENGTH`` gets a 413 that says the limit.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flask import Flask
from flask import render_template
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from workbench.domain.numbers import INT32_MAX
from workbench.errors import InvalidInput

#: The largest id a URL may name: ids are INTEGER columns, 32 bits on PostgreSQL.
MAX_ID = INT32_MAX
#: The largest whole number a JSON body may hold (a signed 64-bit integer).
MAX_JSON_INT = 2**63 - 1
#: How deep a JSON body may nest (an annotation op needs four levels).
MAX_JSON_DEPTH = 64
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


class BoundedIntConverter(IntegerConverter):
    """The ``int`` URL converter, up to :data:`MAX_ID` (a larger id matches no route)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID, signed: bool = False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def text_problem(text: str) -> str | None:
    """Return why ``text`` cannot be stored (a lone surrogate, a NUL character), or None."""
    found = _NOT_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "a NUL character (\\u0000), which no text column can hold"
    return "a lone surrogate (\\ud800-\\udfff), which is not text"


def check_json(value: Any) -> None:
    """Check a parsed JSON body against the limits above, without recursion.

    :raise InvalidInput: naming where in the body the problem is.
    """
    stack: list[tuple[Any, str, int]] = [(value, "$", 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels (at {where})")
            for key, child in item.items():
                problem = text_problem(key)
                if problem:
                    raise InvalidInput(f"a key in {where} holds {problem}")
                stack.append((child, f"{where}.{key[:40]}", depth + 1))
        elif isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels (at {where})")
            stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise InvalidInput(f"{where} holds {problem}")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if abs(item) > MAX_JSON_INT:
                raise InvalidInput(f"{where} is a number beyond 64 bits")
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput(f"{where} is not a finite number")


def _too_large(exc: RequestEntityTooLarge) -> Any:
    """Answer an upload over ``MAX_CONTENT_LENGTH`` with a 413 naming the limit."""
    from flask import current_app

    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    message = f"the upload is larger than this server's limit of {_size(limit)}; split it into smaller files"
    if request.path.startswith("/api/"):
        from workbench.api import error_response

        return error_response(413, message)
    return render_template("errors/error.html", status=413, message=message), 413


def _size(n: int) -> str:
    """Return ``n`` bytes as a short figure (``512 MB``)."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n} bytes"


def init_app(app: Flask) -> None:
    """Bound the ``int`` URL converter and answer oversized uploads clearly (before routes are added)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.register_error_handler(RequestEntityTooLarge, _too_large)
