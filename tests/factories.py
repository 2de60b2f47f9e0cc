"""Plain ``make_*`` helpers for seeding test databases (they commit)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from workbench.domain.offsets import text_sha256
from workbench.models import AnnotationSet
from workbench.models import Document
from workbench.models import Project
from workbench.models import Span
from workbench.models import User
from workbench.services import projects as project_service
from workbench.services import users as user_service

PASSWORD = "password-123"
#: A cheap password hash for tests (the app's default, scrypt, is slow on purpose).
FAST_HASH = "pbkdf2:sha256:1000"


def make_user(db: Session, username: str = "annotator", role: str = "annotator", password: str = PASSWORD) -> User:
    user = user_service.create_user(db, username, role, password, hash_method=FAST_HASH)
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


def make_team(db: Session) -> tuple[User, User, User, Project]:
    """Make annotators ``ann`` and ``bob``, curator ``cur`` and their project ``news``."""
    ann = make_user(db, "ann")
    bob = make_user(db, "bob")
    cur = make_user(db, "cur", role="curator")
    return ann, bob, cur, make_project(db, "news", members=[ann, bob, cur])


def make_layer(
    db: Session,
    document: Document,
    kind: str,
    user: User | None = None,
    model: str | None = None,
    spans: int = 0,
    status: str = "in_progress",
) -> AnnotationSet:
    """Store a layer on ``document`` holding ``spans`` one-character PERSON spans over its first characters."""
    owner = {"annotator": f"annotator:{user.id if user else 0}", "gold": "gold", "prediction": f"prediction:{model}"}[kind]
    layer = AnnotationSet(
        document_id=document.id,
        kind=kind,
        owner_key=owner,
        user_id=user.id if user else None,
        model_name=model,
        status=status,
    )
    db.add(layer)
    db.flush()
    for i in range(spans):
        db.add(Span(set_id=layer.id, uid=f"T{i + 1}", label="PERSON", start=i, end=i + 1, attrs={}))
    db.commit()
    return layer


def jsonl(*records: dict[str, Any] | str) -> bytes:
    """Return records (dicts, or raw lines as strings) as JSONL bytes, one per line."""
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records).encode("utf-8")


def span_op(text: str, uid: str, label: str, needle: str, nth: int = 0) -> dict[str, Any]:
    """Return a ``span.create`` op for the ``nth`` occurrence (from 0) of ``needle`` in ``text`` (code points)."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    return {"op": "span.create", "id": uid, "label": label, "start": start, "end": start + len(needle)}
