"""Adjudication: turning several annotators' layers into one gold layer, with provenance and reasons.

A document is ready for adjudication when as many annotators as the project
wants (k, or one) have submitted it.  Its gold layer (``owner_key`` "gold")
is written through the same ops and rules as an annotator's layer
(:mod:`workbench.services.annotation`), so every gold item passed the same
checks, and every change is in the layer's history (``changes``): who, when,
what, and for a curator's decision why (``decision`` with a reason and a note).

What the annotators agree on (all of them, or a majority: the project's
``merge_rule``) enters gold with ``provenance`` ``{"annotators": [...],
"decision": "unanimous" | "majority"}``; a curator's choice enters with
``{"annotators": [...], "decision": "adjudicated", "curator": name, "note": ...}``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.domain import merge
from workbench.errors import InvalidAnnotation
from workbench.errors import InvalidInput
from workbench.errors import NotFound
from workbench.models import AnnotationSet
from workbench.models import Change
from workbench.models import Document
from workbench.models import Project
from workbench.models import User
from workbench.services import annotation
from workbench.services import assignment
from workbench.services.projects import project_schema
from workbench.transactions import begin_write

#: Project settings (``Project.settings``) of adjudication, with their defaults.
DEFAULTS = {"merge_rule": "majority", "hide_annotator_names": False}
#: The most documents one bulk merge takes in one transaction.
BATCH = 200


def adjudication_settings(project: Project) -> dict[str, Any]:
    """Return the project's adjudication settings: ``merge_rule`` and ``hide_annotator_names``."""
    stored = project.settings or {}
    return {name: stored.get(name, default) for name, default in DEFAULTS.items()}


def update_adjudication_settings(session: Session, project: Project, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the project's adjudication settings (keys of :data:`DEFAULTS`).

    :raise InvalidInput: an unknown key or a bad value (nothing changed).
    """
    unknown = sorted(set(changes) - set(DEFAULTS))
    if unknown:
        raise InvalidInput(f"unknown setting {unknown[0]!r}")
    if "merge_rule" in changes and changes["merge_rule"] not in merge.RULES:
        raise InvalidInput(f"merge_rule must be one of {', '.join(merge.RULES)}")
    if "hide_annotator_names" in changes and not isinstance(changes["hide_annotator_names"], bool):
        raise InvalidInput("hide_annotator_names must be true or false")
    project.settings = {**(project.settings or {}), **changes}
    session.flush()
    return adjudication_settings(project)


# --------------------------------------------------------------------------- reading


@dataclass
class DocumentTally:
    """A document's annotator layers, tallied item by item."""

    document: Document
    layers: dict[str, dict[str, Any]]
    tally: merge.Tally
    gold: AnnotationSet | None

    def agreed(self, rule: str) -> list[merge.Candidate]:
        """Return what enough annotators share under ``rule``."""
        return self.tally.agreed(rule)

    def disputed(self, rule: str) -> list[merge.Candidate]:
        """Return what too few annotators share under ``rule``."""
        return self.tally.disputed(rule)


def _submitted_layers(session: Session, document_ids: list[int]) -> dict[int, list[tuple[str, AnnotationSet]]]:
    """Return each document's submitted annotator layers with their annotators' names (by name)."""
    result: dict[int, list[tuple[str, AnnotationSet]]] = {d: [] for d in document_ids}
    rows = session.execute(
        select(AnnotationSet, User.username)
        .join(User, User.id == AnnotationSet.user_id)
        .where(
            AnnotationSet.document_id.in_(document_ids),
            AnnotationSet.kind == "annotator",
            AnnotationSet.status == "submitted",
        )
        .order_by(AnnotationSet.document_id, User.username)
    )
    for layer, username in rows:
        result[layer.document_id].append((username, layer))
    return result


def _gold_layer(session: Session, document_id: int) -> AnnotationSet | None:
    return session.scalar(
        select(AnnotationSet).where(AnnotationSet.document_id == document_id, AnnotationSet.owner_key == "gold")
    )


def tally_document(session: Session, document: Document) -> DocumentTally:
    """Return the document's submitted annotator layers, tallied."""
    submitted = _submitted_layers(session, [document.id])[document.id]
    data = annotation.layers_data(session, [(layer, document.text) for _name, layer in submitted])
    layers = {name: data[layer.id] for name, layer in submitted}
    return DocumentTally(document, layers, merge.tally(layers), _gold_layer(session, document.id))


def ready_documents(session: Session, project: Project, *, include_adjudicated: bool = False) -> list[int]:
    """Return the ids of ``project``'s documents ready for adjudication (all k submitted), by id."""
    complete = assignment.complete_condition(project)
    query = select(Document.id).where(Document.project_id == project.id, Document.id.in_(complete))
    if not include_adjudicated:
        adjudicated = select(AnnotationSet.document_id).where(
            AnnotationSet.owner_key == "gold", AnnotationSet.status == "adjudicated"
        )
        query = query.where(Document.id.not_in(adjudicated))
    return list(session.scalars(query.order_by(Document.id)))


@dataclass(frozen=True)
class QueueRow:
    """A document waiting for a curator: how much its annotators agree."""

    id: int
    external_id: str
    title: str
    annotators: int
    agreed: int
    disputed: int
    gold_status: str | None

    @property
    def agreement(self) -> float | None:
        """Return the share of items the annotators agree on (None when nobody made any)."""
        total = self.agreed + self.disputed
        return self.agreed / total if total else None


def queue(session: Session, project: Project, *, include_adjudicated: bool = False, limit: int = 500) -> list[QueueRow]:
    """Return the documents ready for adjudication, worst agreement first, with agreed and disputed counts."""
    rule = adjudication_settings(project)["merge_rule"]
    ids = ready_documents(session, project, include_adjudicated=include_adjudicated)[: max(1, limit)]
    rows = []
    documents = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(ids)))}
    gold = dict(
        session.execute(
            select(AnnotationSet.document_id, AnnotationSet.status).where(
                AnnotationSet.document_id.in_(ids), AnnotationSet.owner_key == "gold"
            )
        ).all()
    )
    layers_by_doc = _submitted_layers(session, ids)
    data = annotation.layers_data(
        session, [(layer, documents[doc_id].text) for doc_id in ids for _name, layer in layers_by_doc[doc_id]]
    )
    for document_id in ids:
        document = documents[document_id]
        layers = {name: data[layer.id] for name, layer in layers_by_doc[document_id]}
        tally = merge.tally(layers)
        rows.append(
            QueueRow(
                document.id,
                document.external_id,
                document.title or document.external_id,
                len(layers),
                len(tally.agreed(rule)),
                len(tally.disputed(rule)),
                gold.get(document_id),
            )
        )
    rows.sort(key=lambda r: (r.agreement if r.agreement is not None else 2.0, r.id))
    return rows


# --------------------------------------------------------------------------- writing


def open_gold_layer(session: Session, document: Document) -> AnnotationSet:
    """Return the document's gold layer, making it (``in_progress``) if missing.

    The caller has checked that the user is a curator or admin of the project.
    """
    layer = _gold_layer(session, document.id)
    if layer is not None:
        return layer
    begin_write(session)
    layer = _gold_layer(session, document.id)
    if layer is None:
        layer = AnnotationSet(document_id=document.id, kind="gold", owner_key="gold", status="in_progress", version=0)
        session.add(layer)
        session.flush()
    return layer


def _uid(prefix: str, key: Any) -> str:
    """Return a stable id for an item made by a merge: the same key gives the same id."""
    return prefix + hashlib.sha1(repr(key).encode("utf-8")).hexdigest()[:16]


def merge_ops(tally: merge.Tally, rule: str, gold: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Return the ops that add to ``gold`` what enough annotators share under ``rule``, and how many items they add.

    Items already in gold (by the same exact key) are left as they are; a
    relation or attribution whose spans are not all in gold is left out.
    """
    span_uid = {merge.span_key(s): s["id"] for s in gold.get("spans", [])}
    rel_keys = {(r["type"], *(merge.span_key(s) for s in _spans(gold, r["head"], r["tail"]))) for r in gold.get("relations", [])}
    gold_spans = {s["id"]: merge.span_key(s) for s in gold.get("spans", [])}
    attr_uid = {key: uid for uid, key in merge.attribution_keys(gold, gold_spans).items()}
    have_attr = set(attr_uid)
    ops: list[dict[str, Any]] = []
    added = 0
    agreed = tally.agreed(rule)
    for c in agreed:
        provenance = {"annotators": sorted(c.annotators), "decision": rule}
        if c.kind == "span" and c.key not in span_uid:
            uid = _uid("s", c.key)
            span_uid[c.key] = uid
            ops.append({"op": "span.create", "id": uid, **c.item, "attrs": c.common_attrs(), "provenance": provenance})
            added += 1
        elif c.kind == "relation" and c.key not in rel_keys:
            head, tail = span_uid.get(c.key[1]), span_uid.get(c.key[2])
            if head and tail:
                ops.append({"op": "relation.create", "id": _uid("r", c.key), "type": c.item["type"], "head": head,
                            "tail": tail, "attrs": c.common_attrs(), "provenance": provenance})
                added += 1
    def depth(key: Any) -> int:
        return 0 if key is None else 1 + depth(key[3])

    # Relaying attributions first, so that a chain's parent is in gold before its child.
    for c in sorted((c for c in agreed if c.kind == "attribution"), key=lambda c: depth(c.key[3])):
        if c.key in have_attr:
            continue
        source = span_uid.get(c.key[0]) if c.key[0] else None
        cue = span_uid.get(c.key[1]) if c.key[1] else None
        content = [span_uid.get(k) for k in c.key[2]]
        if (c.key[0] and not source) or (c.key[1] and not cue) or not content or not all(content):
            continue
        op = {"op": "attribution.create", "id": _uid("a", c.key), "source": source, "cue": cue, "content": content,
              "attrs": c.common_attrs(), "provenance": {"annotators": sorted(c.annotators), "decision": rule}}
        if c.key[3] is not None:
            parent = attr_uid.get(c.key[3])
            if parent is None:
                continue
            op["parent"] = parent
        attr_uid[c.key] = op["id"]
        ops.append(op)
        added += 1
    return ops, added


def _spans(layer: dict[str, Any], *uids: str) -> list[dict[str, Any]]:
    by_id = {s["id"]: s for s in layer.get("spans", [])}
    return [by_id[u] for u in uids]


@dataclass
class MergeReport:
    """What a bulk merge did."""

    rule: str
    documents: int = 0
    items_added: int = 0
    finished: int = 0
    flagged: list[str] = field(default_factory=list)
    skipped_adjudicated: int = 0


def auto_merge(session: Session, project: Project, curator: User, rule: str, *, finish: bool = False) -> MergeReport:
    """Fill the gold layer of every ready, not yet adjudicated document with what its annotators agree on.

    Nothing already in gold is removed or changed.  With ``finish``, each
    such document is marked adjudicated, unless its gold layer holds spans of
    one kind with different labels over the same words: that document is
    flagged for a curator and left open.  The caller commits (this commits
    nothing).

    :raise InvalidInput: an unknown rule.
    """
    if rule not in merge.RULES:
        raise InvalidInput(f"--auto takes {' or '.join(merge.RULES)}, not {rule!r}")
    report = MergeReport(rule)
    kind_of = {label.name: label.kind for label in project_schema(project).labels}
    for document_id in ready_documents(session, project):
        document = session.get(Document, document_id)
        assert document is not None
        doc_tally = tally_document(session, document)
        gold_layer = open_gold_layer(session, document)
        gold = annotation.layer_data(session, gold_layer, document.text)
        ops, added = merge_ops(doc_tally.tally, rule, gold)
        decision = {"choice": "auto", "rule": rule, "annotators": doc_tally.tally.annotators, "item": {"items": added}}
        try:
            annotation.apply_ops(session, curator, gold_layer.id, gold_layer.version, f"auto-{uuid.uuid4().hex}", ops, decision)
        except InvalidAnnotation as exc:
            # What the annotators agree on breaks a schema rule next to what gold holds (overlap
            # rules): nothing of it is written; a curator decides.
            gold_layer.status_note = f"auto-merge refused: {exc.message}; a curator must decide"
            report.flagged.append(document.external_id)
            continue
        report.documents += 1
        report.items_added += added
        gold = annotation.layer_data(session, gold_layer, document.text)
        clashes = merge.label_clashes(gold["spans"], kind_of)
        if clashes:
            start, end, labels = clashes[0]
            note = f"conflict: {' and '.join(labels)} on the same words ({start}-{end}); a curator must decide"
            gold_layer.status_note = note
            report.flagged.append(document.external_id)
        elif finish:
            annotation.set_status(session, curator, gold_layer.id, "adjudicated", f"auto-merged ({rule})")
            report.finished += 1
    session.flush()
    return report


# --------------------------------------------------------------------------- reasons report


@dataclass
class ReasonsReport:
    """How curators decided: counts per reason and label, and the guideline-gap notes by label."""

    decisions: int
    by_reason: dict[str, int]
    by_reason_and_label: dict[str, dict[str, int]]
    guideline_gaps: dict[str, list[dict[str, Any]]]


def reasons_report(session: Session, project: Project) -> ReasonsReport:
    """Return the project's adjudication reasons (curators' decisions, not bulk merges)."""
    rows = session.execute(
        select(Change.payload, Change.at, User.username, Document.external_id)
        .join(AnnotationSet, AnnotationSet.id == Change.set_id)
        .join(Document, Document.id == AnnotationSet.document_id)
        .outerjoin(User, User.id == Change.user_id)
        .where(Document.project_id == project.id, AnnotationSet.kind == "gold", Change.action == "decision")
        .order_by(Change.at)
    )
    decisions = 0
    by_reason: dict[str, int] = {}
    by_label: dict[str, dict[str, int]] = {}
    gaps: dict[str, list[dict[str, Any]]] = {}
    for payload, at, username, external_id in rows:
        decision = (payload or {}).get("decision") or {}
        if decision.get("choice") == "auto":
            continue
        decisions += 1
        reason = decision.get("reason") or "none"
        label = str((decision.get("item") or {}).get("label") or (decision.get("item") or {}).get("kind") or "?")
        by_reason[reason] = by_reason.get(reason, 0) + 1
        by_label.setdefault(reason, {})
        by_label[reason][label] = by_label[reason].get(label, 0) + 1
        if reason == "guideline_gap" and decision.get("note"):
            gaps.setdefault(label, []).append(
                {"note": decision["note"], "document": external_id, "curator": username, "at": at.isoformat()}
            )
    return ReasonsReport(decisions, by_reason, by_label, gaps)


def require_gold_layer(session: Session, project: Project, document_id: int) -> AnnotationSet:
    """Return the gold layer of one of the project's documents.

    :raise NotFound: no such document, or it has no gold layer yet.
    """
    layer = session.scalar(
        select(AnnotationSet)
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(and_(Document.project_id == project.id, Document.id == document_id, AnnotationSet.owner_key == "gold"))
    )
    if layer is None:
        raise NotFound("this document has no gold layer yet")
    return layer


def gold_counts(session: Session, project: Project) -> dict[str, int]:
    """Return how many of the project's documents have gold in progress and adjudicated."""
    rows = session.execute(
        select(AnnotationSet.status, func.count(AnnotationSet.id))
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(Document.project_id == project.id, AnnotationSet.kind == "gold")
        .group_by(AnnotationSet.status)
    ).all()
    return {status: count for status, count in rows}


# --------------------------------------------------------------------------- the adjudication page


def _span_view(key: merge.SpanKey | None, text: str) -> dict[str, Any] | None:
    """Return a span key as the page shows it: label, offsets and the words."""
    if key is None:
        return None
    label, start, end = key
    return {"label": label, "start": start, "end": end, "text": text[start:end]}


def _version_view(c: merge.Candidate, text: str) -> dict[str, Any]:
    """Return one version of a disputed item, its spans spelled out, for the page."""
    if c.kind == "span":
        item: dict[str, Any] = _span_view(c.key, text) or {}
    elif c.kind == "relation":
        item = {"type": c.key[0], "head": _span_view(c.key[1], text), "tail": _span_view(c.key[2], text)}
    else:
        item = _attribution_view(c.key, text) or {}
    notes = [{"annotator": name, "note": c.notes[name]} for name in sorted(c.notes)]
    return {"annotators": sorted(c.annotators), "item": item, "attrs": c.common_attrs(), "notes": notes}


def _notes_view(layers: dict[str, dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Return every note the annotators left on the document and its items, for the curator.

    ``[{"annotator", "on": "document" | "span" | "attribution", "item": view or None, "note"}]``,
    by annotator, the document's note first, then in reading order.
    """
    out: list[dict[str, Any]] = []
    for name in sorted(layers):
        layer = layers[name]
        if layer.get("note"):
            out.append({"annotator": name, "on": "document", "item": None, "note": layer["note"]})
        keys = {s["id"]: merge.span_key(s) for s in layer.get("spans", [])}
        for s in layer.get("spans", []):
            if s.get("note"):
                out.append({"annotator": name, "on": "span", "item": _span_view(keys[s["id"]], text), "note": s["note"]})
        attribution_keys = merge.attribution_keys(layer, keys)
        for a in layer.get("attributions", []):
            if a.get("note"):
                item = _attribution_view(attribution_keys[a["id"]], text)
                out.append({"annotator": name, "on": "attribution", "item": item, "note": a["note"]})
    return out


def _attribution_view(key: Any, text: str) -> dict[str, Any] | None:
    """Return an attribution key as the page shows it, with the attribution that relays it (``parent``)."""
    if key is None:
        return None
    return {
        "source": _span_view(key[0], text),
        "cue": _span_view(key[1], text),
        "content": [_span_view(k, text) for k in key[2]],
        "parent": _attribution_view(key[3], text),
    }


def _range_of(group: list[merge.Candidate]) -> tuple[int, int]:
    """Return the stretch of text a group of versions covers."""
    points: list[int] = []
    for c in group:
        for key in _span_keys(c):
            points += [key[1], key[2]]
    return (min(points), max(points)) if points else (0, 0)


def _span_keys(c: merge.Candidate) -> list[merge.SpanKey]:
    if c.kind == "span":
        return [c.key]  # type: ignore[list-item]
    if c.kind == "relation":
        return [c.key[1], c.key[2]]
    return [k for k in (c.key[0], c.key[1], *c.key[2]) if k is not None]


def group_id(group: list[merge.Candidate]) -> str:
    """Return a stable id of a disagreement: the same versions give the same id on every visit."""
    return "g" + hashlib.sha1(repr(sorted(repr(c.key) for c in group)).encode("utf-8")).hexdigest()[:12]


@dataclass
class AdjudicationView:
    """Everything the adjudication page needs beside the gold layer."""

    rule: str
    annotators: list[dict[str, str]]
    agreed: int
    groups: list[dict[str, Any]]
    #: The annotators' notes on the document and its items (see :func:`_notes_view`).
    notes: list[dict[str, Any]]


def open_for_adjudication(session: Session, project: Project, document: Document, curator: User) -> tuple[AnnotationSet, AdjudicationView]:
    """Return the document's gold layer and its disagreements, for a curator.

    A gold layer nobody has touched yet is first filled with what the
    annotators agree on (the project's merge rule), so the curator starts
    from the agreed items and settles only the rest.

    :raise InvalidInput: no annotator has submitted the document yet.
    """
    settings = adjudication_settings(project)
    rule = settings["merge_rule"]
    doc_tally = tally_document(session, document)
    if not doc_tally.layers:
        raise InvalidInput("no annotator has submitted this document yet: there is nothing to adjudicate")
    gold_layer = open_gold_layer(session, document)
    if gold_layer.version == 0:
        gold = annotation.layer_data(session, gold_layer, document.text)
        ops, added = merge_ops(doc_tally.tally, rule, gold)
        decision = {"choice": "auto", "rule": rule, "annotators": doc_tally.tally.annotators, "item": {"items": added}}
        annotation.apply_ops(session, curator, gold_layer.id, 0, f"auto-{uuid.uuid4().hex}", ops, decision)
        session.refresh(gold_layer)
    kind_of = {label.name: label.kind for label in project_schema(project).labels}
    decided = _decisions(session, gold_layer.id)
    names = doc_tally.tally.annotators
    shown = {name: (f"Annotator {i + 1}" if settings["hide_annotator_names"] else name) for i, name in enumerate(names)}
    groups = []
    for group in merge.dispute_groups(list(doc_tally.tally.all()), kind_of, doc_tally.disputed(rule)):
        gid = group_id(group)
        start, end = _range_of(group)
        had = {a for c in group for a in c.annotators}
        groups.append(
            {
                "id": gid,
                "kind": group[0].kind,
                "start": start,
                "end": end,
                "versions": [_version_view(c, document.text) for c in group],
                "without": sorted(set(names) - had),
                "decision": decided.get(gid),
            }
        )
    view = AdjudicationView(
        rule=rule,
        annotators=[{"name": n, "shown": shown[n]} for n in names],
        agreed=len(doc_tally.agreed(rule)),
        groups=groups,
        notes=_notes_view(doc_tally.layers, document.text),
    )
    return gold_layer, view


def _decisions(session: Session, set_id: int) -> dict[str, dict[str, Any]]:
    """Return the latest curator decision on each disagreement of a gold layer, by group id."""
    out: dict[str, dict[str, Any]] = {}
    for payload, at, username in session.execute(
        select(Change.payload, Change.at, User.username)
        .outerjoin(User, User.id == Change.user_id)
        .where(Change.set_id == set_id, Change.action == "decision")
        .order_by(Change.id)
    ):
        decision = (payload or {}).get("decision") or {}
        gid = (decision.get("item") or {}).get("group")
        if gid:
            out[gid] = {"choice": decision.get("choice"), "version": (decision.get("item") or {}).get("version"),
                        "reason": decision.get("reason"), "note": decision.get("note", ""), "by": username,
                        "at": at.isoformat()}
    return out


def record_decision(session: Session, curator: User, set_id: int, decision: Any) -> dict[str, Any]:
    """Record a curator's decision on a gold layer (the ops that carry it out are saved as any edit).

    :raise InvalidInput: a malformed decision, or a layer that is not gold.
    """
    decision = annotation.check_decision(decision)
    access = annotation.layer_access(session, curator, set_id, write=True)
    if access.layer.kind != "gold":
        raise InvalidInput("decisions are recorded on gold layers")
    session.add(Change(set_id=set_id, user_id=curator.id, action="decision", version=access.layer.version,
                       payload={"decision": decision}))
    session.flush()
    return decision


def adjudicated_documents(session: Session, project: Project, limit: int = 200) -> list[tuple[int, str, str, Any]]:
    """Return the project's adjudicated documents, last finished first: (id, external id, title, when)."""
    rows = session.execute(
        select(Document.id, Document.external_id, Document.title, AnnotationSet.updated_at)
        .join(AnnotationSet, AnnotationSet.document_id == Document.id)
        .where(Document.project_id == project.id, AnnotationSet.owner_key == "gold", AnnotationSet.status == "adjudicated")
        .order_by(AnnotationSet.updated_at.desc(), Document.id)
        .limit(limit)
    ).all()
    return [(doc_id, external_id, title or external_id, at) for doc_id, external_id, title, at in rows]


def following_ready(session: Session, project: Project, after: int) -> int | None:
    """Return the ready, not yet adjudicated document after ``after`` in import order (the first one past the end).

    One query, for the page's "Next" link; :func:`next_to_adjudicate` ranks by agreement, which costs a tally.
    """
    ready = [doc_id for doc_id in ready_documents(session, project) if doc_id != after]
    return next((doc_id for doc_id in ready if doc_id > after), ready[0] if ready else None)


def next_to_adjudicate(session: Session, project: Project, after: int | None = None) -> int | None:
    """Return the next document waiting for adjudication (worst agreement first), other than ``after``."""
    for row in queue(session, project):
        if row.id != after:
            return row.id
    return None
