"""API views for a project's documents and for importing them."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from flask import jsonify
from flask import request

from workbench.api import bp
from workbench.api import error_response
from workbench.api import json_body
from workbench.api import serialize
from workbench.auth import me
from workbench.db import get_session
from workbench.errors import ImportError_
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
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


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


def _body_to_jsonl(body: dict[str, Any]) -> tuple[str, bytes]:
    """Turn a JSON import body into ``(format, JSONL bytes)`` for the importer.

    ``{"format": "jsonl", "records": [...]}`` passes the records on as they
    are; ``{"documents": [{"id", "text", "meta"}, ...]}`` imports plain
    documents.

    :raise InvalidInput: neither a ``records`` nor a ``documents`` list.
    """
    if "records" in body:
        fmt = body.get("format", "jsonl")
        if fmt != "jsonl":
            raise InvalidInput("a JSON body carries JSONL records; send other formats as a file upload")
        items = body["records"]
        key = "records"
    elif "documents" in body:
        items = body["documents"]
        key = "documents"
    else:
        raise InvalidInput("send files as multipart/form-data, or a JSON body with 'records' or 'documents'")
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"'{key}' must be a non-empty list")
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    return "jsonl", ("\n".join(lines) + "\n").encode("utf-8")


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
        sources: list[tuple[str, Any, str]] = [(f.filename or "upload", f.stream, fmt) for f in uploads]
    else:
        fmt, data = _body_to_jsonl(json_body())
        sources = [(BODY_NAME, data, fmt)]
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
                reports.append(importing.import_stream(session, project, filename, data, file_format, user=me()))
            except ImportError_ as exc:
                failures.append(exc)
    except BaseException:
        session.rollback()  # the whole transaction, savepoints included
        raise
    if failures:
        session.rollback()
        message = failures[0].message if len(failures) == 1 else f"{len(failures)} files cannot be imported"
        return error_response(400, message, [serialize.import_error(e) for e in failures])
    whole.commit()
    session.commit()
    return jsonify(ok=True, files=[serialize.file_report(r) for r in reports]), 201
