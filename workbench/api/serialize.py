"""Turn rows and service results into JSON-ready dicts.

The only module that spells the API's JSON field names; views call these
and never build response dicts of their own (apart from the ``ok`` flag).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone
from typing import Any

from workbench.domain.offsets import tokens
from workbench.domain.schema import Schema
from workbench.models import ApiToken
from workbench.models import Document
from workbench.models import Project
from workbench.models import User
from workbench.services.documents import DocumentPage
from workbench.services.documents import DocumentRow
from workbench.services.documents import LayerSummary
from workbench.services.adjudication import adjudication_settings
from workbench.services.assignment import AssignmentReport
from workbench.services.assignment import ProgressReport
from workbench.services.assignment import settings_of
from workbench.services.exporting import ready_formats
from workbench.services.projects import ProjectSummary


def timestamp(value: datetime | None) -> str | None:
    """Return ``value`` as an ISO 8601 string in UTC, or None.

    SQLite hands back naive datetimes; every time the workbench stores is UTC.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def user(row: User) -> dict[str, Any]:
    """Return a user as the API shows it (never the password hash)."""
    return {"id": row.id, "username": row.username, "role": row.role, "active": row.active}


def member(row: User, role: str) -> dict[str, Any]:
    """Return a project member: the user and their role in the project."""
    return {"id": row.id, "username": row.username, "role": role, "active": row.active}


def project_summary(summary: ProjectSummary) -> dict[str, Any]:
    """Return a project as listed: counts and the viewer's progress.

    ``progress`` is the share of documents done (0.0 for an empty project).
    """
    project = summary.project
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "role": summary.role,
        "counts": {"documents": summary.documents, "done": summary.done, "mine_done": summary.mine_done},
        "progress": round(summary.done / summary.documents, 4) if summary.documents else 0.0,
        "created_at": timestamp(project.created_at),
    }


def project_detail(summary: ProjectSummary, members: list[tuple[User, str]]) -> dict[str, Any]:
    """Return one project with its label schema, guidelines, members and queue settings."""
    project: Project = summary.project
    return {
        **project_summary(summary),
        "schema": project.label_schema,
        "guidelines": project.guidelines,
        "members": [member(u, r) for u, r in members],
        "settings": {**settings_of(project).to_dict(), **adjudication_settings(project), "ready_formats": ready_formats(project)},
    }


def assignment_report(report: AssignmentReport) -> dict[str, Any]:
    """Return what an assignment did: places given, places the annotators had already."""
    return {"assigned": report.assigned, "already": report.already, "documents": report.documents, "users": report.users}


def progress(report: ProgressReport) -> dict[str, Any]:
    """Return a project's progress: per annotator, and one page of documents with who has each.

    ``seconds`` is time spent: the gaps between an annotator's consecutive
    saves on a document, pauses over five minutes left out.
    """
    return {
        "settings": report.settings.to_dict(),
        "documents_total": report.total_documents,
        "documents_complete": report.complete_documents,
        "annotators": [
            {
                "username": a.username,
                "done": a.done,
                "in_progress": a.in_progress,
                "skipped": a.skipped,
                "released": a.released,
                "spans": a.spans,
                "seconds": round(a.seconds, 1),
            }
            for a in report.annotators
        ],
        "documents": {
            "items": [
                {
                    "id": d.id,
                    "external_id": d.external_id,
                    "title": d.title,
                    "submitted": d.submitted,
                    "needed": d.needed,
                    "annotators": [{"username": u, "status": s} for u, s in d.annotators],
                }
                for d in report.documents
            ],
            "page": report.page,
            "per_page": report.per_page,
            "pages": report.pages,
            "total": report.total_documents,
        },
    }


def document_row(row: DocumentRow) -> dict[str, Any]:
    """Return a document as listed (no text); ``length`` is in code points."""
    return {
        "id": row.id,
        "external_id": row.external_id,
        "title": row.title,
        "source": row.source,
        "published": row.published,
        "length": row.length,
        "status": row.status,
    }


def document_page(page: DocumentPage) -> dict[str, Any]:
    """Return one page of a document list with its paging figures."""
    return {
        "items": [document_row(r) for r in page.rows],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
    }


def layer(summary: LayerSummary) -> dict[str, Any]:
    """Return one annotation layer: who made it, its status and counts.

    ``annotator`` is the user name of an annotator layer, ``model`` the
    model name of a prediction layer; the other one is None.
    """
    return {
        "id": summary.id,
        "kind": summary.kind,
        "annotator": summary.owner if summary.kind == "annotator" else None,
        "model": summary.owner if summary.kind == "prediction" else None,
        "status": summary.status,
        "counts": {"spans": summary.spans, "relations": summary.relations, "attributions": summary.attributions},
        "updated_at": timestamp(summary.updated_at),
    }


def document(row: Document, layers: list[LayerSummary]) -> dict[str, Any]:
    """Return a document with its text verbatim and the layers the viewer may see.

    Offsets into ``text`` count Unicode code points.
    """
    return {
        "id": row.id,
        "project_id": row.project_id,
        "external_id": row.external_id,
        "title": row.title,
        "text": row.text,
        "text_sha256": row.text_sha256,
        "meta": row.meta or {},
        "created_at": timestamp(row.created_at),
        "layers": [layer(s) for s in layers],
    }


def annotate_document(row: Document) -> dict[str, Any]:
    """Return a document as the annotate page needs it, with the server's tokens.

    ``tokens`` are ``[start, end]`` pairs in code points; the title falls back
    to the external id.
    """
    return {
        "id": row.id,
        "external_id": row.external_id,
        "title": row.title or row.external_id,
        "text": row.text,
        "meta": row.meta or {},
        "text_sha256": row.text_sha256,
        "tokens": [[start, end] for start, end in tokens(row.text)],
    }


def annotate_project(row: Project, guidelines_html: str, schema: Schema) -> dict[str, Any]:
    """Return the project's name, its guidelines (already rendered to safe HTML) and, per label,
    what its spans may overlap, in words (``label_rules``), for the annotate page."""
    return {
        "id": row.id,
        "name": row.name,
        "guidelines_html": guidelines_html,
        "label_rules": [{"name": lb.name, "kind": lb.kind, "rule": lb.rule_text()} for lb in schema.labels],
    }


def navigation(next_url: str | None, prev_url: str | None, project_url: str) -> dict[str, Any]:
    """Return the annotate page's links: next and previous documents (None at the ends) and the project."""
    return {"next_url": next_url, "prev_url": prev_url, "project_url": project_url}


def token(row: ApiToken) -> dict[str, Any]:
    """Return an API token's description (never the secret, which is not stored)."""
    return {
        "id": row.id,
        "name": row.name,
        "created_at": timestamp(row.created_at),
        "last_used_at": timestamp(row.last_used_at),
    }


def _count(report: Any, *names: str) -> int:
    """Return the first of ``names`` that ``report`` has (the importer's field names changed once)."""
    for name in names:
        value = getattr(report, name, None)
        if value is not None:
            return int(value)
    return 0


def file_report(report: Any) -> dict[str, Any]:
    """Return what importing one file did (a ``services.importing.FileReport``)."""
    return {
        "filename": report.filename,
        "format": getattr(report, "format", None),
        "records": _count(report, "records"),
        "documents_created": _count(report, "documents_created", "documents"),
        "documents_unchanged": _count(report, "documents_unchanged", "unchanged"),
        "layers_created": _count(report, "layers_created", "layers"),
        "notes": list(getattr(report, "notes", [])),
    }


def import_error(exc: Any) -> dict[str, Any]:
    """Return where and why a file could not be imported (a ``workbench.errors.ImportError_``)."""
    return {"file": exc.filename, "line": exc.line, "reason": exc.reason}
