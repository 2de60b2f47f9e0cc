"""A project's agreement figures: which layers count, loading them, and the cache.

Counted layers are annotator layers with status ``submitted``.  Pairwise
figures use the documents both annotators submitted; alpha uses documents
with at least two submitted layers.  The figures themselves come from
``workbench.metrics.agreement`` (docs/agreement.md).

Beside them, ``with_gold``: each annotator against the gold layer of the
adjudicated documents (computed on every request: gold changes do not touch
the cache).

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

from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
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
#: The key of a gold layer among a document's layers (no user name can hold a NUL).
GOLD = "\x00gold"


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


def load_documents(session: Session, project: Project, where: list[Any] | None = None) -> list[metrics.DocumentLayers]:
    """Return the project's documents that have counted layers, each with those layers by annotator name.

    Six queries whatever the size of the project.  Texts are loaded only
    for documents with two or more counted layers (the others count towards
    nothing pairwise).

    :param where: other WHERE clauses choosing the layers (AnnotationSet joined
        to Document); a gold layer is keyed :data:`GOLD`.
    """
    counted = where if where is not None else _counted(project)
    sets = session.execute(
        select(AnnotationSet.id, AnnotationSet.document_id, AnnotationSet.owner_key, User.username)
        .join(Document, Document.id == AnnotationSet.document_id)
        .outerjoin(User, User.id == AnnotationSet.user_id)
        .where(*counted)
        .order_by(AnnotationSet.document_id, AnnotationSet.id)
    ).all()
    if not sets:
        return []
    shared = (
        select(AnnotationSet.document_id)
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(*counted)
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
            .where(*counted)
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
    atts: dict[int, list[tuple[int, int | None, int | None, int | None]]] = {}
    att_where: dict[int, int] = {}  # attribution id -> its index in its layer
    for att_id, set_id, source, cue, parent in rows(
        Attribution.id, Attribution.set_id, Attribution.source_id, Attribution.cue_id, Attribution.parent_id, model=Attribution
    ):
        layer_atts = atts.setdefault(set_id, [])
        att_where[att_id] = len(layer_atts)
        layer_atts.append((att_id, source, cue, parent))
    content: dict[int, list[int]] = {}
    if atts:
        for att_id, span_id in conn.execute(
            select(AttributionContent.attribution_id, AttributionContent.span_id)
            .join(Attribution, Attribution.id == AttributionContent.attribution_id)
            .join(AnnotationSet, AnnotationSet.id == Attribution.set_id)
            .join(Document, Document.id == AnnotationSet.document_id)
            .where(*counted)
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
        doc.layers[GOLD if owner_key == "gold" else (username or owner_key)] = metrics.Layer(
            tuple(spans.get(set_id, ())),
            tuple(relations.get(set_id, ())),
            tuple(
                metrics.Attribution(
                    where[source] if source is not None else None,
                    where[cue] if cue is not None else None,
                    tuple(content.get(att_id, ())),
                    att_where[parent] if parent is not None else None,
                )
                for att_id, source, cue, parent in atts.get(set_id, ())
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


def agreement_with_gold(session: Session, project: Project) -> dict[str, Any]:
    """Return, per annotator, how their submitted layers compare with gold on the adjudicated documents.

    The gold layer is the reference (metrics.md, "Evaluating an extractor
    against gold", with the annotator in the extractor's place): precision,
    recall and F1 of spans (exact and overlap), relations and attributions.
    Annotators come worst span F1 first: the ones who may need more training.
    """
    adjudicated_ids = (
        select(AnnotationSet.document_id)
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(Document.project_id == project.id, AnnotationSet.kind == "gold", AnnotationSet.status == "adjudicated")
    )
    adjudicated = session.scalar(select(func.count()).select_from(adjudicated_ids.subquery())) or 0
    if not adjudicated:
        return {"documents": 0, "annotators": [], "reason": "no document is adjudicated yet"}
    where = [
        Document.project_id == project.id,
        Document.id.in_(adjudicated_ids),  # only the adjudicated documents' layers are read
        or_(
            and_(AnnotationSet.kind == "annotator", AnnotationSet.status == "submitted"),
            and_(AnnotationSet.kind == "gold", AnnotationSet.status == "adjudicated"),
        ),
    ]
    per_annotator: dict[str, tuple[dict[int, metrics.Layer], dict[int, metrics.Layer]]] = {}
    for doc in load_documents(session, project, where):
        gold = doc.layers.get(GOLD)
        if gold is None:
            continue
        for name, layer in doc.layers.items():
            if name != GOLD:
                golds, theirs = per_annotator.setdefault(name, ({}, {}))
                golds[doc.document_id], theirs[doc.document_id] = gold, layer
    rows = []
    for name, (golds, theirs) in per_annotator.items():
        scores = metrics.evaluate(golds, theirs)
        rows.append(
            {
                "annotator": name,
                "documents": len(golds),
                "spans_exact": scores["spans"]["exact"]["micro"],
                "spans_overlap": scores["spans"]["overlap"]["micro"],
                "relations_exact": scores["relations"]["exact"]["micro"],
                "attributions_exact": scores["attributions"]["exact"]["micro"],
            }
        )
    rows.sort(key=lambda r: (r["spans_exact"]["f1"] if r["spans_exact"]["f1"] is not None else 2.0, r["annotator"]))
    reason = None if rows else "no annotator submitted an adjudicated document"
    return {"documents": adjudicated, "annotators": rows, "reason": reason}


def project_agreement(session: Session, project: Project, *, refresh: bool = False, workers: int = 1) -> dict[str, Any]:
    """Return the project's figures, from the cache when its layers have not changed since.

    The answer carries ``computed_at`` (ISO 8601, UTC) and ``cached`` (True
    when it came from the cache).  A new result is stored (flushed, not
    committed) for the caller to commit.
    """
    key = fingerprint(session, project)
    row = session.get(AgreementCache, project.id)
    if row is not None and row.fingerprint == key and not refresh:
        return {**row.result, "with_gold": agreement_with_gold(session, project), "cached": True}
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
    return {**result, "with_gold": agreement_with_gold(session, project), "cached": False}
