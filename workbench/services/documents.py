"""Reading documents: lists with search and pages, one document with its layers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import InvalidInput
from workbench.errors import NotFound
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import Document
from workbench.models import Project
from workbench.models import Relation
from workbench.models import Span
from workbench.models import User


@dataclass(frozen=True)
class DocumentRow:
    """A document as listed, without its text."""

    id: int
    external_id: str
    title: str
    source: str
    published: str
    length: int
    status: str


@dataclass(frozen=True)
class DocumentPage:
    """One page of a document list."""

    rows: list[DocumentRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Return the number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))


#: A search's limits: each word is one LIKE over every text of the project.
MAX_SEARCH_WORDS = 20
MAX_SEARCH_CHARS = 1000


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_documents(
    session: Session, project: Project, viewer: User, *, query: str = "", page: int = 1, per_page: int = 50
) -> DocumentPage:
    """Return one page of the project's documents, in import order.

    :param query: words that must all occur in the title or the text (case-insensitive).
    ``status`` is the viewer's own layer status (``new`` without one), or
    ``adjudicated`` once gold is final.
    """
    page = max(1, page)
    words = list(dict.fromkeys(query.split()))
    if len(words) > MAX_SEARCH_WORDS or len(query) > MAX_SEARCH_CHARS:
        raise InvalidInput(f"a search takes at most {MAX_SEARCH_WORDS} words and {MAX_SEARCH_CHARS} characters")
    if "\x00" in query:
        raise InvalidInput("a search cannot hold a NUL character")
    where = [Document.project_id == project.id]
    for word in words:
        pattern = f"%{_escape_like(word.lower())}%"
        where.append(
            or_(func.lower(Document.title).like(pattern, escape="\\"), func.lower(Document.text).like(pattern, escape="\\"))
        )
    total = session.scalar(select(func.count(Document.id)).where(*where)) or 0
    # A page past the end (even past 2^63, which no database could take as an offset) is empty.
    past_end = (page - 1) * per_page >= total
    rows = [] if past_end else session.execute(
        select(
            Document.id,
            Document.external_id,
            Document.title,
            Document.meta,
            func.length(Document.text),
        )
        .where(*where)
        .order_by(Document.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    ids = [r[0] for r in rows]
    statuses: dict[int, str] = {}
    if ids:
        for doc_id, kind, status in session.execute(
            select(AnnotationSet.document_id, AnnotationSet.kind, AnnotationSet.status).where(
                AnnotationSet.document_id.in_(ids),
                or_(
                    (AnnotationSet.kind == "annotator") & (AnnotationSet.user_id == viewer.id),
                    (AnnotationSet.kind == "gold") & (AnnotationSet.status == "adjudicated"),
                ),
            )
        ):
            if kind == "gold" or doc_id not in statuses:
                statuses[doc_id] = status
    return DocumentPage(
        rows=[
            DocumentRow(
                id=r[0],
                external_id=r[1],
                title=r[2] or r[1],
                source=str((r[3] or {}).get("source", "") or ""),
                published=str((r[3] or {}).get("published", "") or ""),
                length=r[4] or 0,
                status=statuses.get(r[0], "new"),
            )
            for r in rows
        ],
        total=total,
        page=page,
        per_page=per_page,
    )


def get_document(session: Session, project: Project, document_id: int) -> Document:
    """Return a document of ``project``.

    :raise NotFound: no such document in this project.
    """
    document = session.get(Document, document_id)
    if document is None or document.project_id != project.id:
        raise NotFound("no such document in this project")
    return document


def get_document_by_external_id(session: Session, project: Project, external_id: str) -> Document | None:
    """Return the project's document with this external id, or None."""
    return session.scalar(
        select(Document).where(Document.project_id == project.id, Document.external_id == external_id)
    )


def layers_of(session: Session, document: Document) -> list[AnnotationSet]:
    """Return the document's annotation layers: gold, annotators by name, predictions."""
    order = {"gold": 0, "annotator": 1, "prediction": 2}
    sets = list(session.scalars(select(AnnotationSet).where(AnnotationSet.document_id == document.id)))
    return sorted(sets, key=lambda s: (order[s.kind], s.owner_key))


def count_documents(session: Session, project: Project) -> int:
    """Return how many documents the project holds."""
    return session.scalar(select(func.count(Document.id)).where(Document.project_id == project.id)) or 0


@dataclass(frozen=True)
class LayerSummary:
    """One annotation layer as listed on a document page."""

    id: int
    kind: str
    owner: str
    status: str
    spans: int
    relations: int
    attributions: int
    updated_at: datetime | None
    #: The annotator's note on the document ("" when none).
    note: str = ""


def neighbours(session: Session, document: Document) -> tuple[int | None, int | None]:
    """Return the ids of the previous and next documents of the project, in import order (one query)."""
    same_project = Document.project_id == document.project_id
    row = session.execute(
        select(
            select(func.max(Document.id)).where(same_project, Document.id < document.id).scalar_subquery(),
            select(func.min(Document.id)).where(same_project, Document.id > document.id).scalar_subquery(),
        )
    ).one()
    return row[0], row[1]


def layer_summaries(session: Session, document: Document, viewer: User, *, see_all: bool) -> list[LayerSummary]:
    """Return the document's layers with their span, relation and attribution counts.

    :param see_all: curators see every layer; otherwise only the viewer's own
        annotator layer is listed.
    """
    sets = layers_of(session, document)
    if not see_all:
        sets = [s for s in sets if s.kind == "annotator" and s.user_id == viewer.id]
    ids = [s.id for s in sets]
    counts: dict[str, dict[int, int]] = {}
    for name, model in (("spans", Span), ("relations", Relation), ("attributions", Attribution)):
        counts[name] = (
            dict(
                session.execute(
                    select(model.set_id, func.count(model.id)).where(model.set_id.in_(ids)).group_by(model.set_id)
                ).all()
            )
            if ids
            else {}
        )
    result = []
    for s in sets:
        if s.kind == "annotator":
            owner = s.user.username if s.user is not None else "(deleted user)"
        elif s.kind == "prediction":
            owner = s.model_name or s.owner_key.partition(":")[2]
        else:
            owner = "gold"
        result.append(
            LayerSummary(
                id=s.id,
                kind=s.kind,
                owner=owner,
                status=s.status,
                spans=counts["spans"].get(s.id, 0),
                relations=counts["relations"].get(s.id, 0),
                attributions=counts["attributions"].get(s.id, 0),
                updated_at=s.updated_at,
                note=s.note or "",
            )
        )
    return result

