"""Exporting a project's dataset as records of the JSONL shape (docs/format.md).

Records are built a batch of documents at a time (a handful of queries per
batch, never one per document), in the order of their external ids, so
memory stays flat however large the project.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from typing import IO
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.domain.offsets import text_sha256
from workbench.errors import InvalidInput
from workbench.formats import WRITERS
from workbench.formats.jsonl import FORMAT_VERSION
from workbench.formats.split import assign_splits
from workbench.formats.split import parse_split
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import AttributionContent
from workbench.models import Document
from workbench.models import Project
from workbench.models import Relation
from workbench.models import Span
from workbench.models import User
from workbench.services import projects as project_service

#: The ``--layer`` choices.
LAYERS = ("gold", "annotators", "predictions", "documents", "all")
#: Documents per round of queries.
BATCH = 200
_KIND_ORDER = {"gold": 0, "annotator": 1, "prediction": 2}


def document_external_ids(session: Session, project: Project) -> list[str]:
    """Return the project's external ids in export order (code-point order, the same on every database)."""
    return sorted(session.scalars(select(Document.external_id).where(Document.project_id == project.id)))


def _set_filter(layer: str) -> list[Any]:
    """Return the WHERE clauses choosing the annotation layers an export of ``layer`` writes."""
    gold = (AnnotationSet.kind == "gold") & (AnnotationSet.status == "adjudicated")
    annotators = (AnnotationSet.kind == "annotator") & AnnotationSet.status.in_(("in_progress", "submitted"))
    predictions = AnnotationSet.kind == "prediction"
    return {"gold": [gold], "annotators": [annotators], "predictions": [predictions]}.get(
        layer, [gold | annotators | predictions]
    )


def export_records(
    session: Session, project: Project, layer: str = "gold", only: Iterable[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the project's records of ``layer``, ordered by external id, then gold, annotators, models.

    :param layer: ``gold`` (adjudicated gold layers), ``annotators`` (layers in
        progress or submitted), ``predictions``, ``documents`` (text and meta
        only) or ``all`` (the records of every other choice).
    :param only: restrict to these external ids (a split).
    :raise InvalidInput: an unknown layer.
    """
    if layer not in LAYERS:
        raise InvalidInput(f"unknown layer {layer!r} (use {', '.join(LAYERS)})")
    schema = project_service.project_schema(project)
    schema_ref = {"name": schema.name, "version": schema.version}
    pairs = sorted(
        (str(ext), int(doc_id))
        for ext, doc_id in session.execute(
            select(Document.external_id, Document.id).where(Document.project_id == project.id)
        )
    )
    if only is not None:
        keep = set(only)
        pairs = [p for p in pairs if p[0] in keep]
    for start in range(0, len(pairs), BATCH):
        chunk = [doc_id for _ext, doc_id in pairs[start : start + BATCH]]
        docs = {
            row[0]: row
            for row in session.execute(
                select(Document.id, Document.external_id, Document.title, Document.text, Document.meta).where(
                    Document.id.in_(chunk)
                )
            )
        }
        texts = {doc_id: row[3] for doc_id, row in docs.items()}
        layers = _layers(session, chunk, layer, texts) if layer != "documents" else {}
        for doc_id in chunk:
            _id, external_id, title, text, meta = docs[doc_id]
            meta = dict(meta or {})
            if title and "title" not in meta:
                meta["title"] = title
            base = {"id": external_id, "text": text, "meta": meta}
            tail = {"doc_labels": [], "schema": schema_ref, "text_sha256": text_sha256(text), "format_version": FORMAT_VERSION}
            if layer in ("documents", "all"):
                yield {**base, "layer": None, "annotator": None, "spans": [], "relations": [], "attributions": [], **tail}
            for item in layers.get(doc_id, []):
                yield {**base, **item, **tail}


def _layers(
    session: Session, doc_ids: list[int], layer: str, texts: dict[int, str]
) -> dict[int, list[dict[str, Any]]]:
    """Return, per document id (``texts`` maps it to its text), the layer parts of its records (layer, annotator, status, annotations), in order."""
    sets = session.execute(
        select(
            AnnotationSet.id,
            AnnotationSet.document_id,
            AnnotationSet.kind,
            AnnotationSet.user_id,
            AnnotationSet.model_name,
            AnnotationSet.owner_key,
            AnnotationSet.status,
        ).where(AnnotationSet.document_id.in_(doc_ids), *_set_filter(layer))
    ).all()
    if not sets:
        return {}
    set_ids = [row[0] for row in sets]
    user_ids = sorted({row[3] for row in sets if row[3] is not None})
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all()) if user_ids else {}
    spans: dict[int, list[tuple[Any, ...]]] = {}
    uid_of: dict[int, str] = {}
    for row in session.execute(
        select(Span.id, Span.set_id, Span.uid, Span.start, Span.end, Span.label, Span.attrs, Span.provenance).where(
            Span.set_id.in_(set_ids)
        )
    ):
        spans.setdefault(row[1], []).append(row)
        uid_of[row[0]] = row[2]
    relations: dict[int, list[tuple[Any, ...]]] = {}
    for row in session.execute(
        select(
            Relation.id, Relation.set_id, Relation.uid, Relation.type, Relation.head_id, Relation.tail_id, Relation.attrs, Relation.provenance
        )
        .where(Relation.set_id.in_(set_ids))
        .order_by(Relation.id)
    ):
        relations.setdefault(row[1], []).append(row)
    attributions: dict[int, list[tuple[Any, ...]]] = {}
    attribution_ids: list[int] = []
    for row in session.execute(
        select(
            Attribution.id, Attribution.set_id, Attribution.uid, Attribution.source_id, Attribution.cue_id, Attribution.attrs, Attribution.provenance
        )
        .where(Attribution.set_id.in_(set_ids))
        .order_by(Attribution.id)
    ):
        attributions.setdefault(row[1], []).append(row)
        attribution_ids.append(row[0])
    content: dict[int, list[int]] = {}
    if attribution_ids:
        for att_id, span_id in session.execute(
            select(AttributionContent.attribution_id, AttributionContent.span_id)
            .where(AttributionContent.attribution_id.in_(attribution_ids))
            .order_by(AttributionContent.attribution_id, AttributionContent.position, AttributionContent.id)
        ):
            content.setdefault(att_id, []).append(span_id)

    def with_provenance(out: dict[str, Any], provenance: Any) -> dict[str, Any]:
        """Add ``provenance`` to ``out`` when there is one."""
        if provenance is not None:
            out["provenance"] = provenance
        return out

    out: dict[int, list[tuple[tuple[int, str], dict[str, Any]]]] = {}
    for set_id, doc_id, kind, user_id, model_name, owner_key, status in sets:
        text = texts[doc_id]
        if kind == "annotator":
            who: str | None = names.get(user_id, owner_key) if user_id is not None else owner_key
        elif kind == "prediction":
            who = model_name or owner_key.split(":", 1)[-1]
        else:
            who = None
        item = {
            "layer": kind,
            "annotator": who,
            "status": status,
            "spans": [
                with_provenance(
                    {"id": uid, "start": s, "end": e, "label": label, "text": text[s:e], "attrs": attrs or {}}, prov
                )
                for _sid, _set, uid, s, e, label, attrs, prov in sorted(
                    spans.get(set_id, []), key=lambda r: (r[3], r[4], r[5], r[2])
                )
            ],
            "relations": [
                with_provenance(
                    {"id": uid, "type": rtype, "head": uid_of[head], "tail": uid_of[tail], "attrs": attrs or {}}, prov
                )
                for _rid, _set, uid, rtype, head, tail, attrs, prov in relations.get(set_id, [])
            ],
            "attributions": [
                with_provenance(
                    {
                        "id": uid,
                        "source": uid_of[source] if source is not None else None,
                        "cue": uid_of[cue] if cue is not None else None,
                        "content": [uid_of[c] for c in content.get(aid, [])],
                        "attrs": attrs or {},
                    },
                    prov,
                )
                for aid, _set, uid, source, cue, attrs, prov in attributions.get(set_id, [])
            ],
        }
        out.setdefault(doc_id, []).append(((_KIND_ORDER[kind], who or ""), item))
    return {doc_id: [item for _key, item in sorted(items, key=lambda p: p[0])] for doc_id, items in out.items()}


def plan_split(session: Session, project: Project, spec: str, seed: int) -> dict[str, set[str]]:
    """Return, per split name, the external ids that go there (deterministic for a given seed).

    :raise InvalidInput: a malformed split spec.
    """
    try:
        parts = parse_split(spec)
    except ValueError as exc:
        raise InvalidInput(f"--split: {exc}") from None
    assignment = assign_splits(document_external_ids(session, project), parts, seed)
    plan: dict[str, set[str]] = {name: set() for name, _ in parts}
    for external_id, name in assignment.items():
        plan[name].add(external_id)
    return plan


def write_export(
    session: Session, project: Project, layer: str, fmt: str, fh: IO[str], only: Iterable[str] | None = None
) -> int:
    """Write the records of ``layer`` in format ``fmt`` to ``fh``; return how many were written.

    :raise InvalidInput: an unknown format or layer.
    """
    writer = WRITERS.get(fmt)
    if writer is None:
        raise InvalidInput(f"unknown export format {fmt!r} (use {', '.join(WRITERS)})")
    return writer(export_records(session, project, layer, only), fh)
