"""API views for the current user, projects and their members."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from workbench.api import bp
from workbench.api import json_body
from workbench.api import serialize
from workbench.auth import me
from workbench.db import get_session
from workbench.errors import Forbidden
from workbench.errors import InvalidInput
from workbench.api.documents import int_arg
from workbench.services import adjudication
from workbench.services import assignment
from workbench.services import exporting
from workbench.services import projects as project_service

#: Global roles that may create projects.
CREATORS = ("admin", "curator")


def text_field(body: dict[str, Any], name: str, *, required: bool = False, default: str = "") -> str:
    """Return the string field ``name`` of a JSON body.

    :raise InvalidInput: the field is missing (when ``required``) or not a string.
    """
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"the field {name!r} is required")
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"the field {name!r} must be a string")
    return value


@bp.get("/me")
def get_me() -> Any:
    """Return the logged-in user and the projects they can open."""
    session = get_session()
    summaries = project_service.visible_projects(session, me())
    return jsonify(ok=True, user=serialize.user(me()), projects=[serialize.project_summary(s) for s in summaries])


@bp.get("/projects")
def list_projects() -> Any:
    """Return the projects visible to the user, with counts and progress."""
    summaries = project_service.visible_projects(get_session(), me())
    return jsonify(ok=True, items=[serialize.project_summary(s) for s in summaries])


@bp.post("/projects")
def create_project() -> Any:
    """Create a project (admins and curators); a curator becomes its curator.

    Body: ``{"name": ..., "schema": {...}?, "description": ...?}``.
    """
    user = me()
    if user.role not in CREATORS:
        raise Forbidden("only admins and curators may create projects")
    body = json_body()
    schema = body.get("schema")
    if schema is not None and not isinstance(schema, dict):
        raise InvalidInput("the field 'schema' must be a JSON object")
    session = get_session()
    project = project_service.create_project(
        session,
        text_field(body, "name", required=True),
        schema,
        description=text_field(body, "description"),
        guidelines=text_field(body, "guidelines"),
    )
    if user.role != "admin":
        # Admins see every project anyway; a curator must be a member to open it.
        project_service.add_member(session, project, user, "curator")
    role = project_service.role_in(session, user, project) or "curator"
    summary = project_service.project_summary(session, user, project, role)
    detail = serialize.project_detail(summary, project_service.members(session, project))
    session.commit()
    return jsonify(ok=True, project=detail), 201


@bp.get("/projects/<int:project_id>")
def get_project(project_id: int) -> Any:
    """Return one project with its schema, members and counts (members only)."""
    session = get_session()
    project, role = project_service.require_access(session, me(), project_id)
    summary = project_service.project_summary(session, me(), project, role)
    return jsonify(ok=True, project=serialize.project_detail(summary, project_service.members(session, project)))


@bp.patch("/projects/<int:project_id>")
def update_project(project_id: int) -> Any:
    """Change how the project hands out documents and which export formats it keeps ready (curators of the project and admins).

    Body: any of ``{"annotators_per_document": k | null, "assignment": "queue" | "manual",
    "queue_order": "oldest" | "random", "abandon_after": seconds | "2h",
    "merge_rule": "unanimous" | "majority", "hide_annotator_names": bool,
    "ready_formats": ["jsonl", "conll", ...]}``.
    """
    session = get_session()
    project, role = project_service.require_access(session, me(), project_id, at_least="curator")
    body = json_body()
    if not body:
        raise InvalidInput("send at least one setting to change")
    adjudication_keys = set(adjudication.DEFAULTS)
    assignment.update_settings(
        session, project, {k: v for k, v in body.items() if k not in adjudication_keys and k != "ready_formats"}
    )
    adjudication.update_adjudication_settings(session, project, {k: v for k, v in body.items() if k in adjudication_keys})
    if "ready_formats" in body:
        exporting.set_ready_formats(session, project, body["ready_formats"])
    summary = project_service.project_summary(session, me(), project, role)
    detail = serialize.project_detail(summary, project_service.members(session, project))
    session.commit()
    return jsonify(ok=True, project=detail)


@bp.get("/projects/<int:project_id>/progress")
def get_progress(project_id: int) -> Any:
    """Return who did what: per annotator, and one page of documents (``?page=``, ``?per_page=`` up to 500)."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    report = assignment.progress(
        session, project, page=int_arg("page", 1), per_page=min(int_arg("per_page", 50), 500)
    )
    return jsonify(ok=True, progress=serialize.progress(report))


@bp.post("/projects/<int:project_id>/assignments")
def create_assignments(project_id: int) -> Any:
    """Assign documents to annotators (curators of the project and admins): all of it, or nothing.

    Body: ``{"users": ["alice", ...], "documents": ["external-id", ...]}`` or,
    instead of ``documents``, ``{"next": N}``: the next N documents, in import
    order, that none of the users has and that still need annotators.
    """
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    body = json_body()
    users = [project_service.require_member_user(session, project, name) for name in _names(body, "users")]
    if "next" in body:
        count = body["next"]
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= assignment.MAX_ASSIGN_DOCUMENTS:
            raise InvalidInput(f"'next' must be a whole number from 1 to {assignment.MAX_ASSIGN_DOCUMENTS}")
        documents = assignment.documents_needing_annotators(session, project, count, users)
    else:
        documents = assignment.require_documents(session, project, _names(body, "documents"))
    report = assignment.assign(session, me(), project, documents, users)
    session.commit()
    return jsonify(ok=True, assignment=serialize.assignment_report(report)), 201


@bp.delete("/projects/<int:project_id>/assignments")
def delete_assignment(project_id: int) -> Any:
    """Take back a document an annotator has not started. Body: ``{"user": name, "document": external id}``."""
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    body = json_body()
    user = project_service.require_member_user(session, project, text_field(body, "user", required=True))
    (document,) = assignment.require_documents(session, project, [text_field(body, "document", required=True)])
    assignment.unassign(session, project, document, user)
    session.commit()
    return jsonify(ok=True)


def _names(body: dict[str, Any], name: str) -> list[str]:
    """Return the body's list of strings ``name``.

    :raise InvalidInput: missing, not a list of strings, or too long.
    """
    value = body.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"the field {name!r} must be a list of names")
    if len(value) > assignment.MAX_ASSIGN_DOCUMENTS:
        raise InvalidInput(f"the field {name!r} names more than {assignment.MAX_ASSIGN_DOCUMENTS:,} items")
    return value


@bp.post("/projects/<int:project_id>/members")
def add_member(project_id: int) -> Any:
    """Give a user a role in the project (curators of the project and admins).

    Body: ``{"username": ..., "role": "annotator" | "curator"}``.  Answers 201
    for a new member and 200 when an existing member's role changed.
    """
    session = get_session()
    project, _role = project_service.require_access(session, me(), project_id, at_least="curator")
    body = json_body()
    username = text_field(body, "username", required=True)
    before = {u.id for u, _ in project_service.members(session, project)}
    membership = project_service.add_member_by_name(session, project, username, text_field(body, "role", default="annotator"))
    payload = serialize.member(membership.user, membership.role)
    session.commit()
    return jsonify(ok=True, member=payload), 200 if membership.user_id in before else 201
