"""Plain ``make_*`` helpers for seeding test databases (they commit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from workbench.domain.offsets import text_sha256
from workbench.models import Document
from workbench.models import Project
from workbench.models import User
from workbench.services import projects as project_service
from workbench.services import users as user_service

PASSWORD = "password-123"


def make_user(db: Session, username: str = "annotator", role: str = "annotator", password: str = PASSWORD) -> User:
    user = user_service.create_user(db, username, role, password, hash_method="pbkdf2:sha256:1000")
    db.commit()
    return user


def make_project(db: Session, name: str = "news", members: list[User] | None = None, schema: dict[str, Any] | None = None) -> Project:
    project = project_service.create_project(db, name, schema)
    for user in members or []:
        project_service.add_member(db, project, user)
    db.commit()
    return project


def make_document(
    db: Session, project: Project, text: str = "Anna Berg said the mill will close.", external_id: str | None = None, title: str = "", meta: dict[str, Any] | None = None
) -> Document:
    doc = Document(
        project_id=project.id,
        external_id=external_id or f"doc-{text_sha256(text)[:8]}",
        title=title,
        text=text,
        text_sha256=text_sha256(text),
        meta=meta or {},
    )
    db.add(doc)
    db.commit()
    return doc
