"""Projects, their schemas, members and who may do what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import union
from sqlalchemy.orm import Session

from workbench.domain.numbers import whole_number
from workbench.domain.schema import NEWS_SCHEMA
from workbench.domain.schema import Schema
from workbench.domain.schema import SchemaError
from workbench.domain.schema import parse_schema
from workbench.errors import Conflict
from workbench.errors import Forbidden
from workbench.errors import InvalidInput
from workbench.errors import NotFound
from workbench.models import MEMBER_ROLES
from workbench.models import AnnotationSet
from workbench.models import Document
from workbench.models import Membership
from workbench.models import Project
from workbench.models import User

#: Rank of project roles: a higher rank may do everything a lower one may.
RANK = {"annotator": 1, "curator": 2, "admin": 3}


def create_project(
    session: Session, name: str, schema: dict[str, Any] | None = None, description: str = "", guidelines: str = ""
) -> Project:
    """Add a project; without ``schema`` it gets the built-in news schema.

    :raise InvalidInput: a bad name or schema.
    :raise Conflict: the name is taken.
    """
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("a project name needs 1 to 100 characters")
    try:
        parsed = parse_schema(schema if schema is not None else NEWS_SCHEMA)
    except SchemaError as exc:
        raise InvalidInput(f"schema: {exc}") from None
    if session.scalar(select(Project.id).where(func.lower(Project.name) == name.lower())) is not None:
        raise Conflict(f"project {name!r} exists already")
    project = Project(name=name, label_schema=parsed.to_dict(), description=description, guidelines=guidelines)
    session.add(project)
    session.flush()
    return project


def project_schema(project: Project) -> Schema:
    """Return the project's parsed label schema."""
    return parse_schema(project.label_schema)


def get_project_by_name(session: Session, name: str) -> Project | None:
    """Return the project called ``name`` (case-insensitive, in every script), or None.

    SQLite's ``lower()`` folds ASCII letters only, so a name such as
    ``Новости`` given in another case is matched in Python (the projects'
    names are few).
    """
    found = session.scalar(select(Project).where(func.lower(Project.name) == name.lower()))
    if found is None and not name.isascii():
        wanted = name.casefold()
        found = next((p for p in session.scalars(select(Project)) if p.name.casefold() == wanted), None)
    return found


def require_project_by_name(session: Session, name: str) -> Project:
    """Return the project called ``name``, or by numeric id.

    :raise NotFound: no such project.
    """
    project = get_project_by_name(session, name)
    if project is None and (number := whole_number(name)) is not None:
        project = session.get(Project, number)
    if project is None:
        raise NotFound(f"no project called {name!r}")
    return project


def add_member(session: Session, project: Project, user: User, role: str | None = None) -> Membership:
    """Give ``user`` access to ``project`` (or change their role there).

    :param role: ``annotator`` or ``curator``; by default the user's own role
        (an admin or curator becomes curator).
    """
    role = role or ("annotator" if user.role == "annotator" else "curator")
    if role not in MEMBER_ROLES:
        raise InvalidInput(f"project role {role!r} is not one of {', '.join(MEMBER_ROLES)}")
    membership = session.scalar(
        select(Membership).where(Membership.project_id == project.id, Membership.user_id == user.id)
    )
    if membership is None:
        membership = Membership(project_id=project.id, user_id=user.id, role=role)
        session.add(membership)
    else:
        membership.role = role
    session.flush()
    return membership


def members(session: Session, project: Project) -> list[tuple[User, str]]:
    """Return the project's members with their project roles, by name."""
    rows = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project.id)
        .order_by(User.username)
    )
    return [(user, role) for user, role in rows]


def role_in(session: Session, user: User, project: Project) -> str | None:
    """Return what ``user`` is in ``project``: admin, curator, annotator or None."""
    if user.role == "admin":
        return "admin"
    return session.scalar(
        select(Membership.role).where(Membership.project_id == project.id, Membership.user_id == user.id)
    )


def require_access(session: Session, user: User, project_id: int, at_least: str = "annotator") -> tuple[Project, str]:
    """Return the project and the user's role in it, checking the role.

    :raise NotFound: no such project, or the user is not a member (so that
        non-members cannot tell which projects exist).
    :raise Forbidden: a member whose role is too low.
    """
    project = session.get(Project, project_id)
    role = role_in(session, user, project) if project is not None else None
    if project is None or role is None:
        raise NotFound("no such project")
    if RANK[role] < RANK[at_least]:
        raise Forbidden(f"this needs the {at_least} role in project {project.name!r}")
    return project, role


@dataclass(frozen=True)
class ProjectSummary:
    """A project as listed: its counts and the viewer's progress."""

    project: Project
    role: str
    documents: int
    done: int
    mine_done: int


def visible_projects(session: Session, user: User) -> list[ProjectSummary]:
    """Return the projects ``user`` can open, with document counts and progress.

    ``done`` counts documents with a gold layer marked adjudicated, or
    submitted by as many annotators as the project wants (k, or one); for an
    annotator it is their own count, as blind annotation asks.  ``mine_done``
    counts the viewer's own submitted or skipped documents.
    """
    if user.role == "admin":
        rows = [(p, "admin") for p in session.scalars(select(Project).order_by(Project.name))]
    else:
        rows = [
            (p, r)
            for p, r in session.execute(
                select(Project, Membership.role)
                .join(Membership, Membership.project_id == Project.id)
                .where(Membership.user_id == user.id)
                .order_by(Project.name)
            )
        ]
    if not rows:
        return []
    ids = [p.id for p, _ in rows]
    doc_counts = dict(
        session.execute(
            select(Document.project_id, func.count(Document.id))
            .where(Document.project_id.in_(ids))
            .group_by(Document.project_id)
        ).all()
    )
    done_counts = _done_counts(session, ids)
    mine = _mine_done_counts(session, user, ids)
    return [_summary(p, role, doc_counts.get(p.id, 0), done_counts.get(p.id, 0), mine.get(p.id, 0)) for p, role in rows]


def _summary(project: Project, role: str, documents: int, done: int, mine_done: int) -> ProjectSummary:
    """Return a summary that an annotator's eyes may see: blind annotation hides others' work in the counts too."""
    if role == "annotator":
        done = mine_done
    return ProjectSummary(project, role, documents, done, mine_done)


def _done_counts(session: Session, project_ids: list[int]) -> dict[int, int]:
    """Return, per project, how many documents are done: adjudicated, or submitted by all the annotators they need (k, or one)."""
    complete = (
        select(Document.project_id, AnnotationSet.document_id)
        .join(Document, Document.id == AnnotationSet.document_id)
        .join(Project, Project.id == Document.project_id)
        .where(Document.project_id.in_(project_ids), AnnotationSet.kind == "annotator", AnnotationSet.status == "submitted")
        .group_by(Document.project_id, AnnotationSet.document_id, Project.annotators_per_document)
        .having(func.count(AnnotationSet.id) >= func.coalesce(Project.annotators_per_document, 1))
    )
    adjudicated = (
        select(Document.project_id, AnnotationSet.document_id)
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(Document.project_id.in_(project_ids), AnnotationSet.kind == "gold", AnnotationSet.status == "adjudicated")
    )
    done = union(complete, adjudicated).subquery()
    return dict(session.execute(select(done.c.project_id, func.count()).group_by(done.c.project_id)).all())


def _mine_done_counts(session: Session, user: User, project_ids: list[int]) -> dict[int, int]:
    """Return, per project, how many documents ``user`` submitted or skipped."""
    return dict(
        session.execute(
            select(Document.project_id, func.count(AnnotationSet.id))
            .join(AnnotationSet, AnnotationSet.document_id == Document.id)
            .where(
                Document.project_id.in_(project_ids),
                AnnotationSet.user_id == user.id,
                AnnotationSet.kind == "annotator",
                AnnotationSet.status.in_(("submitted", "skipped")),
            )
            .group_by(Document.project_id)
        ).all()
    )


def set_guidelines(session: Session, project: Project, guidelines: str) -> None:
    """Replace the project's guidelines (markdown)."""
    project.guidelines = guidelines


def require_member_user(session: Session, project: Project, username: str) -> User:
    """Return a member of ``project`` by name.

    :raise NotFound: no such member.
    """
    for user, _role in members(session, project):
        if user.username.lower() == username.lower():
            return user
    raise NotFound(f"{username!r} is not a member of {project.name!r}")


def project_summary(session: Session, user: User, project: Project, role: str) -> ProjectSummary:
    """Return one project's counts and ``user``'s progress, as ``visible_projects`` lists them.

    :param role: the user's role in the project (from ``require_access``).
    """
    documents = session.scalar(select(func.count(Document.id)).where(Document.project_id == project.id)) or 0
    done = _done_counts(session, [project.id]).get(project.id, 0)
    mine = _mine_done_counts(session, user, [project.id]).get(project.id, 0)
    return _summary(project, role, documents, done, mine)


def add_member_by_name(session: Session, project: Project, username: str, role: str) -> Membership:
    """Give the user called ``username`` the project role ``role`` (or change it).

    :raise NotFound: no such user.
    :raise InvalidInput: ``role`` is not a project role.
    """
    user = session.scalar(select(User).where(func.lower(User.username) == (username or "").strip().lower()))
    if user is None:
        raise NotFound(f"no user called {username.strip()!r}")
    if role not in MEMBER_ROLES:
        raise InvalidInput(f"project role {role!r} is not one of {', '.join(MEMBER_ROLES)}")
    return add_member(session, project, user, role)


def projects_with_counts(session: Session) -> list[tuple[Project, int]]:
    """Return every project, by name, with its number of documents (one query)."""
    rows = session.execute(
        select(Project, func.count(Document.id))
        .outerjoin(Document, Document.project_id == Project.id)
        .group_by(Project.id)
        .order_by(Project.name)
    )
    return [(project, count) for project, count in rows]


def remove_member(session: Session, project: Project, user: User) -> None:
    """Take ``user``'s access to ``project`` away; the layers they made stay, as data of the project.

    :raise NotFound: ``user`` is not a member.
    """
    membership = session.scalar(
        select(Membership).where(Membership.project_id == project.id, Membership.user_id == user.id)
    )
    if membership is None:
        raise NotFound(f"{user.username!r} is not a member of {project.name!r}")
    session.delete(membership)
    session.flush()


#: The longest document a project takes by default (characters), and the longest title.
DEFAULT_MAX_DOCUMENT_CHARS = 1_000_000
MAX_TITLE_CHARS = 500


def max_document_chars(project: Project) -> int:
    """Return the most characters a document of ``project`` may hold (its setting, else the default)."""
    value = (project.settings or {}).get("max_document_chars")
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT_MAX_DOCUMENT_CHARS


def set_max_document_chars(project: Project, limit: int) -> None:
    """Set the most characters a document of ``project`` may hold (for later imports).

    :raise InvalidInput: not a whole number from 1 to 100,000,000.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000_000:
        raise InvalidInput("the document limit must be a whole number of characters from 1 to 100,000,000")
    project.settings = {**(project.settings or {}), "max_document_chars": limit}
