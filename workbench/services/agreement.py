"""A project's agreement figures: which layers count, loading them, and the cache.

Counted layers are annotator layers with status ``submitted``.  Pairwise
figures use the documents both annotators submitted; alpha uses documents
with at least two submitted layers.  The figures themselves come from
``workbench.metrics.agreement`` (docs/agreement.md).

The result is kept in ``agreement_cache`` under a fingerprint of the counted
layers (their count, ids, versions and newest change) and of the schema, and
computed again only when the fingerprint differs.  Like every service, this
module flushes and never commits: the view or command commits.
"""

from __future__ import annotations

import hashlib
import json
from functools import partial
from itertools import groupby
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workbench.domain.offsets import Span as TextSpan
from workbench.domain.schema import KINDS
from workbench.metrics import agreement as metrics
from workbench.models import AgreementCache
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import AttributionContent
from workbench.models import Document
from workbench.models import Project
from workbench.models import Relation
from workbench.models import Span
from workbench.models import User
from workbench.models import utcnow
from workbench.services import projects as project_service
from workbench.transactions import begin_write

#: Bump when the figures' computation changes, so cached results are recomputed.
ALGORITHM = 1


def _counted(project: Project) -> list[Any]:
    """The WHERE clauses choosing a project's counted layers (AnnotationSet joined to Document)."""
    return [Document.project_id == project.id, AnnotationSet.kind == "annotator", AnnotationSet.status == "submitted"]


def fingerprint(session: Session, project: Project) -> str:
    """Return a short string that changes whenever a counted layer or the schema changes (one query)."""
    count, id_sum, version_sum, newest = session.execute(
        select(
            func.count(AnnotationSet.id),
            func.coalesce(func.sum(AnnotationSet.id), 0),
            func.coalesce(func.sum(AnnotationSet.version), 0),
            func.max(AnnotationSet.updated_at),
        )
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(*_counted(project))
    ).one()
    schema = hashlib.sha256(json.dumps(project.label_schema, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    return f"v{ALGORITHM}:{count}:{id_sum}:{version_sum}:{newest}:{schema}"


def kinds_to_report(project: Project) -> tuple[dict[str, str], list[str]]:
    """Return the schema's labels (label -> kind, in order) and the kinds to report.

    Every kind the schema knows, then the kinds cli.md names (``source``
    among them), reported with null figures when the schema has none.
    """
    schema = project_service.project_schema(project)
    label_kinds = {label.name: label.kind for label in schema.labels}
    kinds = list(dict.fromkeys([*KINDS, *label_kinds.values(), *metrics.REPORTED_KINDS]))
    return label_kinds, kinds


def load_documents(session: Session, project: Project) -> list[metrics.DocumentLayers]:
    """Return the project's documents that have counted layers, each with those layers by annotator name.

    Six queries whatever the size of the project.  Texts are loaded only
    for documents with two or more counted layers (the others count towards
    nothing pairwise).
    """
    sets = session.execute(
        select(AnnotationSet.id, AnnotationSet.document_id, AnnotationSet.owner_key, User.username)
        .join(Document, Document.id == AnnotationSet.document_id)
        .outerjoin(User, User.id == AnnotationSet.user_id)
        .where(*_counted(project))
        .order_by(AnnotationSet.document_id, AnnotationSet.id)
    ).all()
    if not sets:
        return []
    shared = (
        select(AnnotationSet.document_id)
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(*_counted(project))
        .group_by(AnnotationSet.document_id)
        .having(func.count(AnnotationSet.id) >= 2)
    )
    texts = {
        doc_id: (external_id, title, text)
        for doc_id, external_id, title, text in session.execute(
            select(Document.id, Document.external_id, Document.title, Document.text).where(Document.id.in_(shared))
        )
    }
    # Plain Core rows through the session's connection: no ORM row processing for ~10^5 rows.
    conn = session.connection()

    def rows(*columns: Any, model: Any) -> Any:
        return conn.execute(
            select(*columns)
            .join(AnnotationSet, AnnotationSet.id == model.set_id)
            .join(Document, Document.id == AnnotationSet.document_id)
            .where(*_counted(project))
            .order_by(model.set_id, model.id)
        ).all()

    spans: dict[int, list[TextSpan]] = {}
    where: dict[int, int] = {}  # span id -> its index in its layer
    span_rows = rows(Span.set_id, Span.id, Span.start, Span.end, Span.label, model=Span)
    if span_rows:
        # ~10^5 rows: build the spans and their positions with C-level maps, a layer at a time.
        set_ids, span_ids, starts, ends, labels = zip(*span_rows)
        made = list(map(partial(tuple.__new__, TextSpan), zip(starts, ends, labels)))
        first = 0
        for set_id, group in groupby(set_ids):
            last = first + sum(1 for _ in group)
            spans[set_id] = made[first:last]
            where.update(zip(span_ids[first:last], range(last - first)))
            first = last
    relations: dict[int, list[metrics.Relation]] = {}
    for set_id, rtype, head, tail in rows(Relation.set_id, Relation.type, Relation.head_id, Relation.tail_id, model=Relation):
        relations.setdefault(set_id, []).append(metrics.Relation(rtype, where[head], where[tail]))
    atts: dict[int, list[tuple[int, int | None, int | None]]] = {}
    for att_id, set_id, source, cue in rows(Attribution.id, Attribution.set_id, Attribution.source_id, Attribution.cue_id, model=Attribution):
        atts.setdefault(set_id, []).append((att_id, source, cue))
    content: dict[int, list[int]] = {}
    if atts:
        for att_id, span_id in conn.execute(
            select(AttributionContent.attribution_id, AttributionContent.span_id)
            .join(Attribution, Attribution.id == AttributionContent.attribution_id)
            .join(AnnotationSet, AnnotationSet.id == Attribution.set_id)
            .join(Document, Document.id == AnnotationSet.document_id)
            .where(*_counted(project))
            .order_by(AttributionContent.attribution_id, AttributionContent.position, AttributionContent.id)
        ).all():
            content.setdefault(att_id, []).append(where[span_id])

    documents: dict[int, metrics.DocumentLayers] = {}
    for set_id, doc_id, owner_key, username in sets:
        doc = documents.get(doc_id)
        if doc is None:
            # A document with one counted layer counts towards nothing pairwise: its text is not needed.
            external_id, title, text = texts.get(doc_id, ("", "", ""))
            doc = documents[doc_id] = metrics.DocumentLayers(doc_id, external_id, title or "", text)
        doc.layers[username or owner_key] = metrics.Layer(
            tuple(spans.get(set_id, ())),
            tuple(relations.get(set_id, ())),
            tuple(
                metrics.Attribution(
                    where[source] if source is not None else None,
                    where[cue] if cue is not None else None,
                    tuple(content.get(att_id, ())),
                )
                for att_id, source, cue in atts.get(set_id, ())
            ),
        )
    return list(documents.values())


def compute(session: Session, project: Project, workers: int = 1) -> dict[str, Any]:
    """Compute the project's figures from its counted layers (no cache).

    :param workers: processes counting documents at once (the command line
        uses the machine's cores; a threaded server keeps to one).
    """
    label_kinds, kinds = kinds_to_report(project)
    result = metrics.compute_agreement(load_documents(session, project), label_kinds, kinds, workers=workers)
    result["project"] = {"id": project.id, "name": project.name}
    return result


def project_agreement(session: Session, project: Project, *, refresh: bool = False, workers: int = 1) -> dict[str, Any]:
    """Return the project's figures, from the cache when its layers have not changed since.

    The answer carries ``computed_at`` (ISO 8601, UTC) and ``cached`` (True
    when it came from the cache).  A new result is stored (flushed, not
    committed) for the caller to commit.
    """
    key = fingerprint(session, project)
    row = session.get(AgreementCache, project.id)
    if row is not None and row.fingerprint == key and not refresh:
        return {**row.result, "cached": True}
    result = compute(session, project, workers)
    now = utcnow()
    result["computed_at"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    begin_write(session)
    try:
        with session.begin_nested():
            if row is None:
                row = AgreementCache(project_id=project.id, fingerprint=key, computed_at=now, result=result)
                session.add(row)
            else:
                row.fingerprint, row.computed_at, row.result = key, now, result
            session.flush()
    except IntegrityError:
        # Another request stored the same figures a moment ago; theirs stay.
        pass
    return {**result, "cached": False}
