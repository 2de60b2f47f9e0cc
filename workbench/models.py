"""ORM classes: columns, relationships and constraints only.

No Flask and no business rules here; those live in ``services/``.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

# Named constraints, so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("admin", "curator", "annotator")
MEMBER_ROLES = ("curator", "annotator")
LAYER_KINDS = ("annotator", "gold", "prediction")
#: Status of a layer.  Annotator layers go new -> in_progress -> submitted
#: (or skipped); gold goes in_progress -> adjudicated; predictions are "suggested".
#: ``released``: an annotator layer left untouched longer than the project's
#: ``abandon_after``, whose place was given to someone else by the queue.
LAYER_STATUSES = ("new", "in_progress", "submitted", "skipped", "adjudicated", "suggested", "released")
#: How documents reach annotators: the automatic queue, or a curator's assignments.
ASSIGNMENT_MODES = ("queue", "manual")
#: The order in which the queue hands out documents.
QUEUE_ORDERS = ("oldest", "random")


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base with portable constraint names."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default="annotator")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")

    __table_args__ = (CheckConstraint("role IN ('admin', 'curator', 'annotator')", name="role"),)


class ApiToken(Base):
    """A token for scripts; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    label_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    guidelines: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: k, the number of annotators each document needs; None: every annotator annotates every document.
    annotators_per_document: Mapped[int | None] = mapped_column(Integer)
    #: ``queue`` (annotators take documents) or ``manual`` (curators assign them).
    assignment: Mapped[str] = mapped_column(String(20), default="queue", server_default="queue")
    #: ``oldest`` (by import) or ``random`` (a stable shuffle per annotator).
    queue_order: Mapped[str] = mapped_column(String(20), default="oldest", server_default="oldest")
    #: Seconds without a save after which an unfinished queue document returns to the queue; 0: never.
    abandon_after: Mapped[int] = mapped_column(Integer, default=7200, server_default="7200")
    #: Further settings that no query filters on (JSON object).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    memberships: Mapped[list[Membership]] = relationship(back_populates="project", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("assignment IN ('queue', 'manual')", name="assignment"),
        CheckConstraint("queue_order IN ('oldest', 'random')", name="queue_order"),
        CheckConstraint("annotators_per_document IS NULL OR annotators_per_document >= 1", name="k"),
        CheckConstraint("abandon_after >= 0", name="abandon_after"),
    )


class Membership(Base):
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="annotator")

    project: Mapped[Project] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")

    __table_args__ = (
        UniqueConstraint("project_id", "user_id"),
        CheckConstraint("role IN ('curator', 'annotator')", name="role"),
    )


class Document(Base):
    """An article.  ``text`` is stored once and never changed."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(500), default="")
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # On PostgreSQL, migration 0008 adds the index ``ix_documents_project_external_id_c`` on
    # ``(project_id, external_id COLLATE "C")``: export order (SQLite's unique index already is in it).
    # An expression index, which Alembic cannot compare, so it is not declared here.
    __table_args__ = (UniqueConstraint("project_id", "external_id"),)


class AnnotationSet(Base):
    """One layer of annotations on a document.

    ``owner_key`` makes "one layer per annotator / one gold / one per model"
    a plain unique constraint: ``annotator:<user id>``, ``gold`` or
    ``prediction:<model name>``.
    """

    __tablename__ = "annotation_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    owner_key: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    model_name: Mapped[str | None] = mapped_column(String(200))
    #: The curator who assigned this layer's document to its annotator (None: taken from the queue).
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="new")
    status_note: Mapped[str] = mapped_column(Text, default="")
    #: The annotator's note on the document ("leave a note"), exported as the layer record's ``meta.note``;
    #: None or "" when there is none (nullable without a default, so older code paths never name it).
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=0)
    last_batch_id: Mapped[str | None] = mapped_column(String(64))
    last_batch_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    document: Mapped[Document] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    spans: Mapped[list[Span]] = relationship(
        back_populates="annotation_set", cascade="all, delete-orphan", order_by="[Span.start, Span.end]"
    )
    relations: Mapped[list[Relation]] = relationship(back_populates="annotation_set", cascade="all, delete-orphan")
    attributions: Mapped[list[Attribution]] = relationship(
        back_populates="annotation_set", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("document_id", "owner_key"),
        CheckConstraint("kind IN ('annotator', 'gold', 'prediction')", name="kind"),
        Index("ix_annotation_sets_document_kind", "document_id", "kind"),
    )


class Span(Base):
    __tablename__ = "spans"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("annotation_sets.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(40))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The annotator's note on this span (exported as ``attrs.note``).
    note: Mapped[str | None] = mapped_column(Text)

    annotation_set: Mapped[AnnotationSet] = relationship(back_populates="spans")

    __table_args__ = (
        UniqueConstraint("set_id", "uid"),
        CheckConstraint('start >= 0 AND start < "end"', name="range"),
    )


class Relation(Base):
    __tablename__ = "relations"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("annotation_sets.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(40))
    head_id: Mapped[int] = mapped_column(ForeignKey("spans.id", ondelete="CASCADE"), index=True)
    tail_id: Mapped[int] = mapped_column(ForeignKey("spans.id", ondelete="CASCADE"), index=True)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    annotation_set: Mapped[AnnotationSet] = relationship(back_populates="relations")
    head: Mapped[Span] = relationship(foreign_keys=[head_id])
    tail: Mapped[Span] = relationship(foreign_keys=[tail_id])

    __table_args__ = (UniqueConstraint("set_id", "uid"),)


class Attribution(Base):
    """Who said or reported what: source (or none), cue (or none), content pieces.

    ``parent`` is the attribution that relays this one ("Citing X, the
    paper reported Y": X's attribution has the paper's as parent); chains
    have no cycles.
    """

    __tablename__ = "attributions"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("annotation_sets.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("spans.id", ondelete="CASCADE"), index=True)
    cue_id: Mapped[int | None] = mapped_column(ForeignKey("spans.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("attributions.id", ondelete="SET NULL"), index=True)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The annotator's note on this attribution (exported as ``attrs.note``).
    note: Mapped[str | None] = mapped_column(Text)

    annotation_set: Mapped[AnnotationSet] = relationship(back_populates="attributions")
    source: Mapped[Span | None] = relationship(foreign_keys=[source_id])
    cue: Mapped[Span | None] = relationship(foreign_keys=[cue_id])
    parent: Mapped[Attribution | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    content: Mapped[list[AttributionContent]] = relationship(
        cascade="all, delete-orphan", order_by="AttributionContent.position"
    )

    __table_args__ = (UniqueConstraint("set_id", "uid"),)


class AttributionContent(Base):
    """One piece of an attribution's content, in order."""

    __tablename__ = "attribution_content"

    id: Mapped[int] = mapped_column(primary_key=True)
    attribution_id: Mapped[int] = mapped_column(ForeignKey("attributions.id", ondelete="CASCADE"), index=True)
    span_id: Mapped[int] = mapped_column(ForeignKey("spans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    span: Mapped[Span] = relationship()


class Change(Base):
    """The history of a layer: who changed what, when."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("annotation_sets.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AgreementCache(Base):
    """A project's agreement figures, kept until its annotator layers change.

    ``fingerprint`` sums up the layers the figures were computed from (their
    count and newest change); a different fingerprint means recompute.
    """

    __tablename__ = "agreement_cache"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


class LoginSession(Base):
    """One logged-in browser session; the cookie holds its key, the table its SHA-256.

    Deleting the row ends the session on every app process at once (logout,
    a password change, deactivation).
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginThrottle(Base):
    """Failed logins per account (``user:<name>``) or per address (``addr:<ip>``), for back-off."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExportLine(Base):
    """A layer's export record in one format (a JSONL line, a CoNLL block...) as the last export wrote it, so the next export copies it.

    Beside the line, what it was made of besides the layer's items (whose
    every change bumps ``AnnotationSet.version``): the layer's version,
    status and note, its annotator's user name, its document's external id,
    title and meta (the text never changes), and ``code``, a digest of the
    schema and of the code that writes lines.  An export copies the line
    only when all of them are still what they were, and builds (and stores)
    it afresh otherwise.  ``labels`` (the spans' labels, one per line),
    ``relations`` and ``attributions`` are the counts the manifest needs.
    """

    __tablename__ = "export_lines"

    set_id: Mapped[int] = mapped_column(ForeignKey("annotation_sets.id", ondelete="CASCADE"), primary_key=True)
    #: The export format the record is written in (``jsonl``, ``conll``, ``doccano``).
    format: Mapped[str] = mapped_column(String(20), primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(500))
    meta: Mapped[str | None] = mapped_column(Text)
    line: Mapped[str] = mapped_column(Text)
    labels: Mapped[str] = mapped_column(Text, default="")
    relations: Mapped[int] = mapped_column(Integer, default=0)
    attributions: Mapped[int] = mapped_column(Integer, default=0)
    #: What the format could not hold of the record, one problem per line (reported again whenever it is copied).
    problems: Mapped[str | None] = mapped_column(Text)


class ExportDocumentLine(Base):
    """A document's plain export record (text and meta, no layer) in one format, stored as :class:`ExportLine` is.

    Good while the document's external id, title and meta are what they were
    (its text never changes; a trigger deletes the line if it ever does) and
    ``code`` is the export's.
    """

    __tablename__ = "export_document_lines"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    format: Mapped[str] = mapped_column(String(20), primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(500))
    meta: Mapped[str | None] = mapped_column(Text)
    line: Mapped[str] = mapped_column(Text)


class SuggestionEvent(Base):
    """An annotator accepted or rejected a suggestion (recommender, gazetteer, rules, markup or a model).

    ``key`` names the suggestion whatever its source (``span:LABEL:START:END``
    or ``attribution:...``): a rejected key stays hidden for that annotator
    on that document.  ``source`` is the suggestion's source, so curators see
    each source's acceptance rate.  ``item`` is the id (``uid``) of the span,
    attribution or relation an acceptance made in the annotator's layer: the
    acceptance counts only while that item is there (None on rows from before
    migration 0007, which count as they always did).
    """

    __tablename__ = "suggestion_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(300))
    label: Mapped[str] = mapped_column(String(40), default="")
    action: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    item: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("action IN ('accept', 'reject')", name="action"),
        Index("ix_suggestion_events_document_user", "document_id", "user_id"),
    )


class GazetteerEntry(Base):
    """One line of a project's gazetteer: a string and the label the gazetteer suggests for it."""

    __tablename__ = "gazetteer_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(40))

    __table_args__ = (UniqueConstraint("project_id", "text", "label"),)
