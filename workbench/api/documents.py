"""API views for a project's documents and for importing them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO
from typing import Any

import ijson

from flask import current_app
from flask import jsonify
from flask import request

from workbench.api import bp
from workbench.api import error_response
from workbench.api import serialize
from workbench.auth import me
from workbench.db import get_session
from workbench.domain.numbers import whole_number
from workbench.limits import MAX_JSON_INT
from workbench.errors import ImportError_
from workbench.formats._foreign import LabelMapError
from workbench.formats._foreign import parse_label_map
from workbench.errors import InvalidInput
from workbench.services import documents as document_service
from workbench.services import importing
from workbench.services import projects as project_service

#: The most documents one page of the list may hold.
MAX_PER_PAGE = 500
#: The file name that errors name for a JSON import body.
BODY_NAME = "request body"


def int_arg(name: str, default: int) -> int:
    """Return the query-string parameter ``name`` as a positive integer.

    :raise InvalidInput: it is not a whole number of at least 1.
    """
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    value = whole_number(raw, MAX_JSON_INT, clamp=True)
    if value is None or value < 1:
        raise InvalidInput(f"{name} must be a whole number of at least 1, not {raw!r}")
    return value


@bp.get("/projects/<int:project_id>/documents")
def list_documents(project_id: int) -> Any:
    """Return one page of the project's documents.

    Query: ``q`` (words that must all occur in the title or text), ``page``
    (from 1), ``per_page`` (at most 500).
    """
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id)
    per_page = min(MAX_PER_PAGE, int_arg("per_page", int(current_app.config.get("DOCUMENTS_PER_PAGE", 50))))
    page = document_service.list_documents(
        session, project, me(), query=request.args.get("q", ""), page=int_arg("page", 1), per_page=per_page
    )
    return jsonify(ok=True, **serialize.document_page(page))


@bp.get("/projects/<int:project_id>/documents/<int:document_id>")
def get_document(project_id: int, document_id: int) -> Any:
    """Return a document with its text verbatim and the layers the viewer may see.

    Annotation is blind: an annotator sees only their own annotator layer;
    curators and admins see every layer.
    """
    session = get_session()
    project, role = project_service.require_access(session, me(), project_id)
    document = document_service.get_document(session, project, document_id)
    layers = document_service.layer_summaries(session, document, me(), see_all=role in ("curator", "admin"))
    return jsonify(ok=True, document=serialize.document(document, layers))


class _BodyLines:
    """A JSON import body read as it arrives, as the JSONL lines of its records (see :func:`_body_lines`)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines = _body_lines(stream)

    def __iter__(self) -> Iterator[bytes]:
        return self.lines

    def seekable(self) -> bool:
        return False


#: A JSON ``\\uXXXX`` escape of a surrogate code point, with the backslashes before it (an even run is no escape).
_SURROGATE_ESCAPE = re.compile(rb"(\\+)u([dD][89abAB][0-9a-fA-F]{2}|[dD][c-fC-F][0-9a-fA-F]{2})")
#: What a high surrogate's escape must be followed by: its low half.
_LOW_ESCAPE = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")


class _Reader:
    """The request stream as ijson reads it (werkzeug's stream takes ``read(0)`` for a disconnect).

    It also looks for lone surrogate escapes (``"\\ud800"``) as the bytes go
    by: ijson's C parser would turn them into ``?`` without a word, so the
    importer could never refuse them.
    """

    #: Bytes kept from one read to the next, so that an escape pair cut between reads is seen whole.
    KEEP = 24

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.carry = b""
        #: How many bytes at the start of ``carry`` were scanned already (kept only as context).
        self.skip = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size) if size != 0 else b""
        self._scan(self.carry + data, final=not data)
        return data

    def _scan(self, data: bytes, *, final: bool) -> None:
        """Refuse a lone surrogate escape in ``data``; keep its tail for the next read unless ``final``."""
        cut = len(data) if final else max(0, len(data) - self.KEEP)
        for match in _SURROGATE_ESCAPE.finditer(data):
            if match.start() < self.skip:
                continue
            if match.start() >= cut:
                break
            if len(match.group(1)) % 2 == 0:
                continue  # an escaped backslash followed by the letters "ud8..", not an escape
            unit = int(match.group(2), 16)
            if unit >= 0xDC00:
                previous = data[max(0, match.start(1) - 6) : match.start(1)]
                if _LOW_ESCAPE.fullmatch(match.group(0)[len(match.group(1)) - 1 :]) and re.fullmatch(
                    rb"\\u[dD][89abAB][0-9a-fA-F]{2}", previous
                ):
                    continue  # the low half of a pair
                raise InvalidInput("the request body holds a lone surrogate (\\udc00-\\udfff), which is not text")
            if not _LOW_ESCAPE.match(data, match.end()):
                raise InvalidInput("the request body holds a lone surrogate (\\ud800-\\udbff), which is not text")
        keep_from = max(0, cut - 12)  # a low half's high half may lie just before the cut
        self.skip = cut - keep_from
        self.carry = data[keep_from:]


def _body_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """Yield the records of a JSON import body one at a time, each as one JSONL line, parsing the body as it arrives.

    ``{"format": "jsonl", "records": [...]}`` passes the records on as they
    are; ``{"documents": [{"id", "text", "meta"}, ...]}`` imports plain
    documents.  Only one record is in memory at a time, whatever the body's size.

    :raise InvalidInput: not a JSON object, malformed JSON, another format, or
        neither a non-empty ``records`` nor ``documents`` list.
    """
    events = ijson.parse(_Reader(stream), use_float=True)
    key: str | None = None
    count = 0
    try:
        prefix, event, value = next(events)
        if event != "start_map":
            raise InvalidInput("the request body must be a JSON object")
        for prefix, event, value in events:
            if prefix == "format" and event == "string" and value != "jsonl":
                raise InvalidInput("a JSON body carries JSONL records; send other formats as a file upload")
            if prefix in ("records", "documents") and event == "start_array":
                if key is not None:
                    raise InvalidInput("send either 'records' or 'documents', not both")
                key = prefix
                item = f"{prefix}.item"
                for record in _array_items(events, item):
                    count += 1
                    yield json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
            elif prefix in ("records", "documents") and event not in ("start_array", "end_array"):
                raise InvalidInput(f"'{prefix}' must be a non-empty list")
    except ijson.JSONError as exc:
        raise InvalidInput(f"the request body is not valid JSON ({str(exc).splitlines()[0][:120]})") from None
    except StopIteration:
        raise InvalidInput("the request body must be a JSON object") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the request body is not UTF-8 (byte {exc.start}: {exc.reason})") from None
    if key is None:
        raise InvalidInput("send files as multipart/form-data, or a JSON body with 'records' or 'documents'")
    if count == 0:
        raise InvalidInput(f"'{key}' must be a non-empty list")


def _array_items(events: Iterator[tuple[str, str, Any]], item: str) -> Iterator[Any]:
    """Build and yield each item of the array whose items have prefix ``item``, consuming its events."""
    builder: ijson.ObjectBuilder | None = None
    depth = 0
    for prefix, event, value in events:
        if builder is None:
            if event == "end_array" and prefix == item[: -len(".item")]:
                return
            builder = ijson.ObjectBuilder()
            depth = 0
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth == 0:
            yield builder.value
            builder = None


@bp.post("/projects/<int:project_id>/import")
def import_documents(project_id: int) -> Any:
    """Import files (multipart ``file`` parts, optional ``format``) or a JSON body.

    All or nothing for the whole request: every file is tried (each in its
    own savepoint), each bad one is reported with its line, and if any is
    bad nothing of the request is stored.
    """
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    if request.mimetype == "multipart/form-data":
        uploads = [f for f in request.files.getlist("file") if f.filename]
        if not uploads:
            raise InvalidInput("attach one or more files as 'file' parts")
        fmt = (request.form.get("format") or "auto").strip()
        try:
            label_map = parse_label_map(request.form.get("label_map") or "")
        except LabelMapError as exc:
            raise InvalidInput(str(exc).replace("--label-map", "label_map")) from None
        sources: list[tuple[str, Any, str]] = [(f.filename or "upload", f.stream, fmt) for f in uploads]
    else:
        if request.mimetype != "application/json":
            raise InvalidInput("send files as multipart/form-data, or a JSON body (application/json)")
        sources = [(BODY_NAME, _BodyLines(request.stream), "jsonl")]
        label_map = {}
    reports = []
    failures: list[ImportError_] = []
    # One savepoint around the whole request, inside which the importer takes
    # one per file.  Without it, on SQLite (whose driver sends no BEGIN) the
    # release of a good file's savepoint would commit that file at once, and a
    # later bad file could no longer undo it.
    whole = session.begin_nested()
    try:
        for filename, data, file_format in sources:
            try:
                reports.append(importing.import_stream(
                        session, project, filename, data, file_format, user=me(), label_map=label_map
                    ))
            except ImportError_ as exc:
                failures.append(exc)
    except BaseException:
        session.rollback()  # the whole transaction, savepoints included
        raise
    if failures:
        session.rollback()
        message = failures[0].message if len(failures) == 1 else f"{len(failures)} files cannot be imported"
        return error_response(400, message, [serialize.import_error(e) for e in failures])
    importing.refresh_statistics(session, sum(r.documents for r in reports))
    whole.commit()
    session.commit()
    return jsonify(ok=True, files=[serialize.file_report(r) for r in reports]), 201
