"""Annotator layers: open one, read it, edit it by batches of ops, replace it, change its status.

A layer is an ``AnnotationSet`` with its spans, relations and attributions.
Span, relation and attribution ids seen by clients are the ``uid`` columns
(client-chosen strings); database ids never leave this module.  Offsets are
code points of ``Document.text``.

Every check of a span, relation or attribution goes through
``workbench.domain.annotations``; this module only adds what needs the
database: ids must be new on create and known on update/delete, and
references must point at spans of the same layer.

Writes happen inside a SAVEPOINT (all ops or none) and bump the layer's
version with an optimistic ``UPDATE ... WHERE version = :base``, so of two
concurrent saves from the same base exactly one wins.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import selectinload

from workbench.domain import annotations as rules
from workbench.domain.schema import Schema
from workbench.domain.schema import SchemaError
from workbench.domain.schema import parse_schema
from workbench.errors import Conflict
from workbench.errors import Forbidden
from workbench.errors import InvalidAnnotation
from workbench.errors import InvalidInput
from workbench.errors import NotFound
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import AttributionContent
from workbench.models import Change
from workbench.models import Document
from workbench.models import Membership
from workbench.models import Project
from workbench.models import Relation
from workbench.models import Span
from workbench.models import User
from workbench.models import utcnow
from workbench.services import assignment
from workbench.services.assignment import claim_document
from workbench.transactions import begin_write

#: Statuses an annotator may set on their own layer.
SETTABLE_STATUSES = ("submitted", "skipped", "in_progress")
#: Statuses a curator may set on a gold layer: finished (adjudicated), or reopened.
GOLD_STATUSES = ("adjudicated", "in_progress")
#: Why a curator decided as they did (adjudication decisions).
DECISION_REASONS = ("ambiguous_text", "guideline_gap", "annotator_error", "edge_case")
#: The most a provenance object or a decision may weigh, as JSON.
MAX_PROVENANCE = 4000
#: The ops a batch may hold.
OP_NAMES = (
    "span.create",
    "span.update",
    "span.delete",
    "relation.create",
    "relation.update",
    "relation.delete",
    "attribution.create",
    "attribution.update",
    "attribution.delete",
    "layer.update",
)
MAX_UID = 64
MAX_OPS = 10_000


@dataclass
class LayerAccess:
    """A layer with what a request needs around it: its document text, project and schema."""

    layer: AnnotationSet
    text: str
    project: Project
    role: str
    is_owner: bool

    @property
    def schema(self) -> Schema:
        """Return the project's parsed label schema."""
        return _schema_of(self.project)


def _schema_of(project: Project) -> Schema:
    """Return the project's parsed schema.

    :raise InvalidInput: the stored schema no longer parses.
    """
    try:
        return parse_schema(project.label_schema)
    except SchemaError as exc:  # a stored schema was valid when saved; say so if not
        raise InvalidInput(f"the project's schema is invalid: {exc}") from None


def _role(session: Session, user: User, project_id: int) -> str | None:
    """Return what ``user`` is in project ``project_id``: admin, curator, annotator or None."""
    if user.role == "admin":
        return "admin"
    return session.scalar(
        select(Membership.role).where(Membership.project_id == project_id, Membership.user_id == user.id)
    )


# --------------------------------------------------------------------------- opening and reading


def open_annotator_layer(session: Session, user: User, document: Document) -> AnnotationSet:
    """Return ``user``'s annotator layer on ``document``, taking a place on it if they have none.

    The caller has checked that ``user`` may annotate the document's project;
    the project's assignment rules are :func:`workbench.services.assignment.claim_document`'s.
    """
    return claim_document(session, user, document)


def layer_access(session: Session, user: User, set_id: int, *, write: bool = False) -> LayerAccess:
    """Return layer ``set_id`` if ``user`` may read it (or, with ``write``, change it).

    The owning annotator may read and write their layer; curators and admins
    of the project may read any layer and write the gold layer; anyone else
    is told it does not exist.

    :raise NotFound: no such layer, or not visible to ``user`` (blind annotation).
    :raise Forbidden: a curator or admin asked to change someone else's layer.
    """
    # The caller's project role comes in the same query (one round trip less on every save).
    member_role = (
        select(Membership.role)
        .where(Membership.project_id == Project.id, Membership.user_id == user.id)
        .scalar_subquery()
    )
    row = session.execute(
        select(AnnotationSet, Document.text, Project, member_role)
        .join(Document, Document.id == AnnotationSet.document_id)
        .join(Project, Project.id == Document.project_id)
        .where(AnnotationSet.id == set_id)
        # A long-lived session may hold this layer from before; read it fresh.
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFound("no such layer")
    layer, text, project, role = row
    if user.role == "admin":
        role = "admin"
    if role is None:
        raise NotFound("no such layer")
    is_owner = layer.kind == "annotator" and layer.user_id == user.id
    if not is_owner and role not in ("curator", "admin"):
        raise NotFound("no such layer")
    if write and not is_owner and layer.kind != "gold":
        raise Forbidden("only the annotator who owns this layer may change it")
    return LayerAccess(layer, text, project, role, is_owner)


def layer_data(session: Session, layer: AnnotationSet, text: str) -> dict[str, Any]:
    """Return the layer as the API's ``<layer>`` object (offsets in code points, ids are uids).

    Four queries whatever the layer's size; spans come in reading order.
    """
    return layers_data(session, [(layer, text)])[layer.id]


def layers_data(session: Session, layers: list[tuple[AnnotationSet, str]]) -> dict[int, dict[str, Any]]:
    """Return several layers (each with its document's text) as :func:`layer_data` does, by layer id.

    Four queries however many layers, in batches of 500.
    """
    result: dict[int, dict[str, Any]] = {}
    for first in range(0, len(layers), 500):
        batch = layers[first : first + 500]
        ids = [layer.id for layer, _text in batch]
        spans: dict[int, list[Any]] = {}
        uid_of: dict[int, str] = {}
        for row in session.execute(
            select(Span.set_id, Span.id, Span.uid, Span.label, Span.start, Span.end, Span.attrs, Span.note)
            .where(Span.set_id.in_(ids))
            .order_by(Span.set_id, Span.start, Span.end, Span.id)
        ):
            spans.setdefault(row[0], []).append(row[1:])
            uid_of[row[1]] = row[2]
        relations: dict[int, list[Any]] = {}
        for row in session.execute(
            select(Relation.set_id, Relation.uid, Relation.type, Relation.head_id, Relation.tail_id, Relation.attrs)
            .where(Relation.set_id.in_(ids))
            .order_by(Relation.set_id, Relation.id)
        ):
            relations.setdefault(row[0], []).append(row[1:])
        attributions: dict[int, list[Any]] = {}
        attribution_uid: dict[int, str] = {}
        for row in session.execute(
            select(
                Attribution.set_id, Attribution.id, Attribution.uid, Attribution.source_id, Attribution.cue_id,
                Attribution.attrs, Attribution.parent_id, Attribution.note,
            )
            .where(Attribution.set_id.in_(ids))
            .order_by(Attribution.set_id, Attribution.id)
        ):
            attributions.setdefault(row[0], []).append(row[1:])
            attribution_uid[row[1]] = row[2]
        content: dict[int, list[str]] = {}
        if attribution_uid:
            for attribution_id, span_id in session.execute(
                select(AttributionContent.attribution_id, AttributionContent.span_id)
                .join(Attribution, Attribution.id == AttributionContent.attribution_id)
                .where(Attribution.set_id.in_(ids))
                .order_by(AttributionContent.attribution_id, AttributionContent.position, AttributionContent.id)
            ):
                content.setdefault(attribution_id, []).append(uid_of[span_id])
        for layer, text in batch:
            result[layer.id] = {
                "id": layer.id,
                "kind": layer.kind,
                "status": layer.status,
                "version": layer.version,
                "note": layer.note or "",
                "spans": [
                    {
                        "id": uid, "label": label, "start": start, "end": end, "text": text[start:end], "attrs": attrs or {},
                        # ``note`` only where the annotator left one.
                        **({"note": note} if note else {}),
                    }
                    for _id, uid, label, start, end, attrs, note in spans.get(layer.id, [])
                ],
                "relations": [
                    {"id": uid, "type": rtype, "head": uid_of[head], "tail": uid_of[tail], "attrs": attrs or {}}
                    for uid, rtype, head, tail, attrs in relations.get(layer.id, [])
                ],
                "attributions": [
                    {
                        "id": uid,
                        "source": uid_of.get(source) if source is not None else None,
                        "cue": uid_of.get(cue) if cue is not None else None,
                        "content": content.get(aid, []),
                        "attrs": attrs or {},
                        # ``parent`` only where an attribution is relayed by another (format.md: optional).
                        **({"parent": attribution_uid[parent]} if parent is not None else {}),
                        **({"note": note} if note else {}),
                    }
                    for aid, uid, source, cue, attrs, parent, note in attributions.get(layer.id, [])
                ],
            }
    return result


def layer_counts(session: Session, set_id: int) -> dict[str, int]:
    """Return how many spans, relations and attributions layer ``set_id`` holds (one query)."""
    row = session.execute(
        select(
            select(func.count(Span.id)).where(Span.set_id == set_id).scalar_subquery(),
            select(func.count(Relation.id)).where(Relation.set_id == set_id).scalar_subquery(),
            select(func.count(Attribution.id)).where(Attribution.set_id == set_id).scalar_subquery(),
        )
    ).one()
    return {"spans": int(row[0]), "relations": int(row[1]), "attributions": int(row[2])}


# --------------------------------------------------------------------------- navigation


def next_document_id(session: Session, user: User, project_id: int) -> int | None:
    """Return the document of project ``project_id`` that ``user`` should annotate next (see
    :func:`workbench.services.assignment.next_document_id`); a new one is claimed for them."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("no such project")
    return assignment.next_document_id(session, user, project)


# --------------------------------------------------------------------------- status


def set_status(session: Session, user: User, set_id: int, status: Any, note: Any = None) -> LayerAccess:
    """Set the status of ``user``'s own layer: submitted, skipped (with a note) or back to in_progress.

    On a gold layer (curators and admins): ``adjudicated`` (finished) or ``in_progress`` (reopened).

    :raise InvalidInput: an unknown status, or a skip without a note.
    :raise NotFound: / :raise Forbidden: as :func:`layer_access`.
    """
    if note is not None and not isinstance(note, str):
        raise InvalidInput("note must be a string")
    note = (note or "").strip()
    access = layer_access(session, user, set_id, write=True)
    allowed = GOLD_STATUSES if access.layer.kind == "gold" else SETTABLE_STATUSES
    if status not in allowed:
        raise InvalidInput(f"status must be one of {', '.join(allowed)}, got {status!r}")
    if status == "skipped" and not note:
        raise InvalidInput("a skip needs a note saying why")
    assignment.change_status(session, access.layer, user, status, note)
    session.flush()
    return access


# --------------------------------------------------------------------------- editing


class _OpError(Exception):
    """One op cannot be applied; the message is the reason."""


def _uid(value: Any, what: str = "id") -> str:
    """Return ``value`` if it is a usable id (a short non-empty string).

    :raise _OpError: naming ``what``.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_UID:
        raise _OpError(f"{what} must be a string of 1 to {MAX_UID} characters, got {value!r}")
    return value


def _attrs(value: Any) -> dict[str, Any]:
    """Return an op's ``attrs`` (an object; None means none)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _OpError("attrs must be an object")
    return value


def _note(value: Any) -> str:
    """Return an op's ``note`` (see :func:`workbench.domain.annotations.check_note`)."""
    return rules.check_note(value)


def _ref(value: Any, what: str) -> str | None:
    """Return a span reference that may be null."""
    return None if value is None else _uid(value, what)


class _Editor:
    """Applies ops to one layer, loading only the rows the ops name (indexed by uid).

    Everything a batch needs is loaded up front in a few queries (the spans,
    relations and attributions its ops name, and whatever touches a span it
    updates or deletes); the ops then run in memory and one flush writes them.
    """

    def __init__(
        self, session: Session, layer_id: int, text: str, schema: Schema, *, empty: bool = False, gold: bool = False
    ):
        """Start a batch on layer ``layer_id`` of ``text`` under ``schema``.

        :param empty: the layer is known to be empty (a replace), so nothing is looked up.
        :param gold: the layer is a gold layer, whose items may carry ``provenance``.
        """
        self.session = session
        self.gold = gold
        self.layer_id = layer_id
        self.text = text
        self.schema = schema
        #: uid -> row, or None when known not to exist (never existed or deleted in this batch).
        self.spans: dict[str, Span | None] = {}
        self.relations: dict[str, Relation | None] = {}
        self.attributions: dict[str, Attribution | None] = {}
        #: uids of relations and attributions that existed when the batch began (for "id already used").
        self.taken: set[str] = set()
        #: Every relation / attribution loaded or created in this batch and not deleted.
        self.known_relations: set[Relation] = set()
        self.known_attributions: set[Attribution] = set()
        #: Ids of stored spans whose relations and attributions are all loaded.
        self.touch_loaded: set[int] = set()
        #: uids of stored rows deleted in this batch (not yet flushed).
        self.deleted_stored: set[str] = set()
        #: True when the layer is known to be empty: nothing to look up.
        self.empty = empty
        #: Ranges [start, end) whose stored spans were all loaded by :meth:`preload` (overlap rules).
        self.covered: list[tuple[int, int]] = []

    # -- loading

    def preload(self, ops: list[dict[str, Any]]) -> None:
        """Load, in one query per kind of row, everything the ops name."""
        if self.empty:
            return
        span_uids: set[str] = set()
        changed_spans: set[str] = set()
        relation_uids: set[str] = set()
        attribution_uids: set[str] = set()
        created: set[str] = set()
        for op in ops:
            kind, _, action = op["op"].partition(".")
            uid = op.get("id")
            if isinstance(uid, str):
                if action == "create":
                    created.add(uid)
                elif kind == "span":
                    changed_spans.add(uid)
                elif kind == "relation":
                    relation_uids.add(uid)
                else:
                    attribution_uids.add(uid)
            for key in ("head", "tail", "source", "cue"):
                if isinstance(op.get(key), str):
                    span_uids.add(op[key])
            if isinstance(op.get("parent"), str):
                attribution_uids.add(op["parent"])
            if isinstance(op.get("content"), list):
                span_uids.update(u for u in op["content"] if isinstance(u, str))
        ranges: list[tuple[int, int]] = []
        if rules.has_overlap_rules(self.schema):
            # The spans next to where a span is made or moved come in the same query, for the overlap check.
            for op in ops:
                start, end = op.get("start"), op.get("end")
                if op["op"] in ("span.create", "span.update") and type(start) is int and type(end) is int:
                    ranges.append((start, end))
            if len(ranges) > 200:
                ranges = []
        self._load_spans(span_uids | changed_spans | created, ranges)
        if relation_uids:
            self._load_relations(relation_uids)
        if attribution_uids:
            self._load_attributions(attribution_uids)
        if created:
            self.taken.update(
                self.session.scalars(
                    select(Relation.uid)
                    .where(Relation.set_id == self.layer_id, Relation.uid.in_(created))
                    .union_all(
                        select(Attribution.uid).where(Attribution.set_id == self.layer_id, Attribution.uid.in_(created))
                    )
                )
            )
        stored = [span.id for uid in changed_spans if (span := self.spans.get(uid)) is not None]
        if stored:
            self._load_touching(stored)

    def _load_spans(self, uids: set[str], ranges: list[tuple[int, int]] | None = None) -> None:
        """Load the layer's spans with these uids (and any sharing a code point with one of ``ranges``);
        remember the missing uids as absent."""
        if not uids:
            return
        wanted = Span.uid.in_(uids)
        if ranges:
            wanted = or_(wanted, *[(Span.start < end) & (Span.end > start) for start, end in ranges])
        for span in self.session.scalars(select(Span).where(Span.set_id == self.layer_id, wanted)):
            if span.uid not in self.spans:
                self.spans[span.uid] = span
        self.covered.extend(ranges or ())
        for uid in uids:
            self.spans.setdefault(uid, None)

    def _relations_query(self) -> Any:
        """Return a select of relations with their head and tail spans."""
        return select(Relation).options(joinedload(Relation.head), joinedload(Relation.tail))

    def _attributions_query(self) -> Any:
        """Return a select of attributions with their source, cue and content spans."""
        return select(Attribution).options(
            joinedload(Attribution.source),
            joinedload(Attribution.cue),
            joinedload(Attribution.parent),
            selectinload(Attribution.content).joinedload(AttributionContent.span),
        )

    def _keep_relations(self, rows: Any) -> None:
        """Index loaded relations by uid, except those deleted earlier in this batch."""
        for relation in rows:
            if self.relations.get(relation.uid, relation) is relation:  # not deleted in this batch
                self.relations[relation.uid] = relation
                self.known_relations.add(relation)

    def _keep_attributions(self, rows: Any) -> None:
        """Index loaded attributions by uid, except those deleted earlier in this batch."""
        for attribution in rows:
            if self.attributions.get(attribution.uid, attribution) is attribution:
                self.attributions[attribution.uid] = attribution
                self.known_attributions.add(attribution)

    def _load_relations(self, uids: set[str]) -> None:
        """Load the layer's relations with these uids; remember the missing ones as absent."""
        stmt = self._relations_query().where(Relation.set_id == self.layer_id, Relation.uid.in_(uids))
        self._keep_relations(self.session.scalars(stmt).unique())
        for uid in uids:
            self.relations.setdefault(uid, None)

    def _load_attributions(self, uids: set[str]) -> None:
        """Load the layer's attributions with these uids; remember the missing ones as absent."""
        stmt = self._attributions_query().where(Attribution.set_id == self.layer_id, Attribution.uid.in_(uids))
        self._keep_attributions(self.session.scalars(stmt).unique())
        for uid in uids:
            self.attributions.setdefault(uid, None)

    def _load_touching(self, span_ids: list[int]) -> None:
        """Load every stored relation and attribution that uses one of these stored spans."""
        relations = self._relations_query().where(
            Relation.set_id == self.layer_id, or_(Relation.head_id.in_(span_ids), Relation.tail_id.in_(span_ids))
        )
        self._keep_relations(self.session.scalars(relations).unique())
        in_content = select(AttributionContent.attribution_id).where(AttributionContent.span_id.in_(span_ids))
        attributions = self._attributions_query().where(
            Attribution.set_id == self.layer_id,
            or_(
                Attribution.source_id.in_(span_ids),
                Attribution.cue_id.in_(span_ids),
                Attribution.id.in_(in_content),
            ),
        )
        self._keep_attributions(self.session.scalars(attributions).unique())
        self.touch_loaded.update(span_ids)

    def span(self, uid: str) -> Span | None:
        """Return the layer's span ``uid`` (created earlier in this batch included), or None."""
        if uid not in self.spans and not self.empty:
            self._load_spans({uid})
        return self.spans.get(uid)

    def relation(self, uid: str) -> Relation | None:
        """Return the layer's relation ``uid``, or None."""
        if uid not in self.relations and not self.empty:
            self._load_relations({uid})
        return self.relations.get(uid)

    def attribution(self, uid: str) -> Attribution | None:
        """Return the layer's attribution ``uid``, or None."""
        if uid not in self.attributions and not self.empty:
            self._load_attributions({uid})
        return self.attributions.get(uid)

    def _new_uid(self, value: Any) -> str:
        """Return ``value`` if it is a valid id no span, relation or attribution of the layer uses."""
        uid = _uid(value)
        if self.span(uid) is not None or self.relations.get(uid) is not None or self.attributions.get(uid) is not None:
            raise _OpError(f"id {uid!r} is already used in this layer")
        if uid in self.taken and uid not in self.relations and uid not in self.attributions:
            raise _OpError(f"id {uid!r} is already used in this layer")
        if uid in self.deleted_stored:
            # The unit of work inserts before it deletes: write the delete first, or the ids clash.
            self.session.flush()
            self.deleted_stored.discard(uid)
        return uid

    def _need_span(self, value: Any, what: str) -> Span:
        """Return the layer's span named by ``value``.

        :raise _OpError: no such span (``what`` names the field).
        """
        uid = _uid(value, what)
        span = self.span(uid)
        if span is None:
            raise _OpError(f"{what} {uid!r} is not a span of this layer")
        return span

    def _remove(self, row: Any) -> None:
        """Delete a stored row, or forget one created earlier in this batch."""
        if row in self.session.new:
            self.session.expunge(row)
        else:
            self.session.delete(row)
            self.deleted_stored.add(row.uid)

    def _forget_relation(self, relation: Relation) -> None:
        """Remove a relation from the layer and from this batch's indexes."""
        self._remove(relation)
        self.relations[relation.uid] = None
        self.known_relations.discard(relation)

    def _forget_attribution(self, attribution: Attribution) -> None:
        """Remove an attribution (and its content pieces) from the layer and this batch's indexes."""
        pending = [piece for piece in attribution.content if piece in self.session.new]
        if pending and attribution not in self.session.new:
            # Pieces added in this batch to a stored attribution: drop them before the delete cascades.
            attribution.content = [piece for piece in attribution.content if piece not in pending]
            for piece in pending:
                if piece in self.session:
                    self.session.expunge(piece)
        self._remove(attribution)
        self.attributions[attribution.uid] = None
        self.known_attributions.discard(attribution)
        for child in self.known_attributions:
            if child.parent is attribution:
                child.parent = None  # as the database's ON DELETE SET NULL does for the others

    def _touching(self, span: Span) -> tuple[list[Relation], list[Attribution]]:
        """Return the relations and attributions that use ``span`` (all in memory after preload)."""
        if span.id is not None and span.id not in self.touch_loaded:
            self._load_touching([span.id])
        relations = [r for r in self.known_relations if r.head is span or r.tail is span]
        attributions = [
            a
            for a in self.known_attributions
            if a.source is span or a.cue is span or any(piece.span is span for piece in a.content)
        ]
        return relations, attributions

    def _provenance(self, op: dict[str, Any]) -> dict[str, Any] | None:
        """Return the op's ``provenance`` (gold layers only: who had the item and how it entered gold)."""
        value = op.get("provenance")
        if value is None:
            return None
        if not self.gold:
            raise _OpError("only items of the gold layer carry provenance")
        if not isinstance(value, dict) or len(json.dumps(value)) > MAX_PROVENANCE:
            raise _OpError(f"provenance must be a JSON object of at most {MAX_PROVENANCE} characters")
        return value

    def check_overlaps(self, changed: set[str]) -> None:
        """Check the spans ``changed`` (created or updated in this batch) against their neighbours.

        One query reads the layer's spans that share a code point with a
        changed span (the whole layer when many changed).

        :raise rules.OverlapError: two spans break the schema's overlap rules.
        """
        live = [span for uid in changed if (span := self.spans.get(uid)) is not None]
        if not live:
            return
        if all(any(a <= span.start and span.end <= b for a, b in self.covered) for span in live):
            # Every stored span that could meet a changed one was loaded with the batch: no query.
            rows = [(span.uid, span.label, span.start, span.end) for span in self.spans.values() if span is not None]
            rules.check_overlaps(self.schema, self.text, rows, changed={span.uid for span in live})
            return
        self.session.flush()
        stmt = select(Span.uid, Span.label, Span.start, Span.end).where(Span.set_id == self.layer_id)
        if len(live) <= 200:
            stmt = stmt.where(or_(*[(Span.start < span.end) & (Span.end > span.start) for span in live]))
        rows = [(uid, label, start, end) for uid, label, start, end in self.session.execute(stmt)]
        rules.check_overlaps(self.schema, self.text, rows, changed={span.uid for span in live})

    # -- ops

    def apply(self, op: dict[str, Any]) -> None:
        """Apply one op (already known to be an object with a known ``op`` name)."""
        getattr(self, "_" + op["op"].replace(".", "_"))(op)

    def _span_create(self, op: dict[str, Any]) -> None:
        """``span.create``: a new span; ``text``, when given, must be what it covers."""
        uid = self._new_uid(op.get("id"))
        label, start, end, attrs = op.get("label"), op.get("start"), op.get("end"), _attrs(op.get("attrs"))
        quote = op.get("text")
        if quote is not None and not isinstance(quote, str):
            raise _OpError("text must be a string")
        rules.check_span(self.schema, self.text, label, start, end, attrs, quote=quote)
        span = Span(set_id=self.layer_id, uid=uid, label=label, start=start, end=end, attrs=attrs,
                    provenance=self._provenance(op), note=_note(op.get("note")))
        self.session.add(span)
        self.spans[uid] = span

    def _span_update(self, op: dict[str, Any]) -> None:
        """``span.update``: change label, offsets or attrs; a new label must suit the span's relations."""
        span = self._need_span(op.get("id"), "span")
        label = op["label"] if "label" in op else span.label
        start = op["start"] if "start" in op else span.start
        end = op["end"] if "end" in op else span.end
        attrs = _attrs(op["attrs"]) if "attrs" in op else span.attrs
        rules.check_span(self.schema, self.text, label, start, end, attrs)
        relabelled = label != span.label
        span.label, span.start, span.end, span.attrs = label, start, end, attrs
        if "provenance" in op:
            span.provenance = self._provenance(op)
        if "note" in op:
            span.note = _note(op["note"])
        if relabelled:
            # A new label must still fit every relation the span takes part in.
            for relation in self._touching(span)[0]:
                rules.check_relation(self.schema, relation.type, relation.head.label, relation.tail.label)

    def _span_delete(self, op: dict[str, Any]) -> None:
        """``span.delete``: remove the span, its relations, and its place in attributions.

        An attribution left without content, or with neither source nor cue, goes too.
        """
        span = self._need_span(op.get("id"), "span")
        relations, attributions = self._touching(span)
        for relation in relations:
            self._forget_relation(relation)
        for attribution in attributions:
            if attribution.source is span:
                attribution.source = None
            if attribution.cue is span:
                attribution.cue = None
            dropped = [piece for piece in attribution.content if piece.span is span]
            kept = [piece for piece in attribution.content if piece.span is not span]
            attribution.content = kept
            for piece in dropped:
                if piece in self.session.new:
                    self.session.expunge(piece)
            if not kept or (attribution.source is None and attribution.cue is None):
                self._forget_attribution(attribution)
        self._remove(span)
        self.spans[span.uid] = None

    def _relation_create(self, op: dict[str, Any]) -> None:
        """``relation.create``: a typed link between two spans of the layer, as the schema allows."""
        uid = self._new_uid(op.get("id"))
        head = self._need_span(op.get("head"), "head")
        tail = self._need_span(op.get("tail"), "tail")
        if head is tail:
            raise _OpError("a relation cannot link a span to itself")
        attrs = _attrs(op.get("attrs"))
        rules.check_relation(self.schema, op.get("type"), head.label, tail.label, attrs)
        relation = Relation(set_id=self.layer_id, uid=uid, type=op["type"], head=head, tail=tail, attrs=attrs,
                            provenance=self._provenance(op))
        self.session.add(relation)
        self.relations[uid] = relation
        self.known_relations.add(relation)

    def _relation_update(self, op: dict[str, Any]) -> None:
        """``relation.update``: change the type or attrs (head and tail stay)."""
        uid = _uid(op.get("id"))
        relation = self.relation(uid)
        if relation is None:
            raise _OpError(f"relation {uid!r} is not in this layer")
        rtype = op["type"] if "type" in op else relation.type
        attrs = _attrs(op["attrs"]) if "attrs" in op else relation.attrs
        rules.check_relation(self.schema, rtype, relation.head.label, relation.tail.label, attrs)
        relation.type, relation.attrs = rtype, attrs
        if "provenance" in op:
            relation.provenance = self._provenance(op)

    def _relation_delete(self, op: dict[str, Any]) -> None:
        """``relation.delete``: remove the relation."""
        uid = _uid(op.get("id"))
        relation = self.relation(uid)
        if relation is None:
            raise _OpError(f"relation {uid!r} is not in this layer")
        self._forget_relation(relation)

    def _attribution_parts(
        self, source: Any, cue: Any, content: Any, attrs: Any
    ) -> tuple[Span | None, Span | None, list[Span], dict[str, Any]]:
        """Check an attribution's parts and return the spans they name, and its attrs."""
        source_uid, cue_uid = _ref(source, "source"), _ref(cue, "cue")
        if isinstance(content, list):
            content = [_uid(item, "content") for item in content]
        attrs = _attrs(attrs)
        rules.check_attribution(self.schema, source_uid, cue_uid, content, attrs)
        return (
            self._need_span(source_uid, "source") if source_uid is not None else None,
            self._need_span(cue_uid, "cue") if cue_uid is not None else None,
            [self._need_span(item, "content") for item in content],
            attrs,
        )

    def _parent(self, uid: str, value: Any) -> Attribution | None:
        """Return the attribution named as ``uid``'s parent (the one that relays it), checking the chain has no loop."""
        parent_uid = _ref(value, "parent")
        if parent_uid is None:
            return None
        parent = self.attribution(parent_uid)
        if parent is None:
            raise _OpError(f"parent {parent_uid!r} is not an attribution of this layer")

        def parent_of(name: str) -> str | None:
            row = self.attribution(name)
            return row.parent.uid if row is not None and row.parent is not None else None

        rules.check_chain(uid, parent_uid, parent_of)
        return parent

    def _attribution_create(self, op: dict[str, Any]) -> None:
        """``attribution.create``: source (or null), cue (or null), one or more content spans, and an optional parent."""
        uid = self._new_uid(op.get("id"))
        source, cue, content, attrs = self._attribution_parts(
            op.get("source"), op.get("cue"), op.get("content"), op.get("attrs")
        )
        parent = self._parent(uid, op.get("parent"))
        attribution = Attribution(
            set_id=self.layer_id,
            uid=uid,
            source=source,
            cue=cue,
            parent=parent,
            attrs=attrs,
            provenance=self._provenance(op),
            note=_note(op.get("note")),
            content=[AttributionContent(span=span, position=i) for i, span in enumerate(content)],
        )
        self.session.add(attribution)
        self.attributions[uid] = attribution
        self.known_attributions.add(attribution)

    def _attribution_update(self, op: dict[str, Any]) -> None:
        """``attribution.update``: replace any of source, cue, content, parent and attrs."""
        uid = _uid(op.get("id"))
        attribution = self.attribution(uid)
        if attribution is None:
            raise _OpError(f"attribution {uid!r} is not in this layer")
        source, cue, content, attrs = self._attribution_parts(
            op["source"] if "source" in op else (attribution.source.uid if attribution.source else None),
            op["cue"] if "cue" in op else (attribution.cue.uid if attribution.cue else None),
            op["content"] if "content" in op else [piece.span.uid for piece in attribution.content],
            op["attrs"] if "attrs" in op else attribution.attrs,
        )
        attribution.source, attribution.cue, attribution.attrs = source, cue, attrs
        if "parent" in op:
            attribution.parent = self._parent(uid, op["parent"])
        if "provenance" in op:
            attribution.provenance = self._provenance(op)
        if "note" in op:
            attribution.note = _note(op["note"])
        if "content" in op:
            attribution.content = [AttributionContent(span=span, position=i) for i, span in enumerate(content)]

    def _layer_update(self, op: dict[str, Any]) -> None:
        """``layer.update``: set the layer's note on the document (``note``; "" clears it)."""
        if "note" not in op:
            raise _OpError("layer.update needs a note (\"\" clears it)")
        self.session.execute(
            update(AnnotationSet)
            .where(AnnotationSet.id == self.layer_id)
            .values(note=_note(op["note"]))
            .execution_options(synchronize_session=False)
        )

    def _attribution_delete(self, op: dict[str, Any]) -> None:
        """``attribution.delete``: remove the attribution."""
        uid = _uid(op.get("id"))
        attribution = self.attribution(uid)
        if attribution is None:
            raise _OpError(f"attribution {uid!r} is not in this layer")
        self._forget_attribution(attribution)


def _run(editor: _Editor, items: list[tuple[dict[str, Any], Callable[[str], InvalidAnnotation]]]) -> None:
    """Apply ``items`` in order; the first failure raises the error its callback builds.

    Then the spans the items created or moved are checked against the
    schema's overlap rules; a clash is blamed on the last item that
    created or changed one of the two spans.
    """
    changed: dict[str, Callable[[str], InvalidAnnotation]] = {}
    for op, fail in items:
        try:
            editor.apply(op)
        except (_OpError, rules.AnnotationError) as exc:
            raise fail(str(exc)) from None
        if op["op"] in ("span.create", "span.update"):
            changed.pop(op["id"], None)
            changed[op["id"]] = fail  # insertion order: the latest last
    if changed and rules.has_overlap_rules(editor.schema):
        try:
            editor.check_overlaps(set(changed))
        except rules.OverlapError as exc:
            blamed = [uid for uid in changed if uid in exc.ids][-1]
            raise changed[blamed](str(exc)) from None


def _check_ops(ops: Any) -> list[dict[str, Any]]:
    """Return ``ops`` if it is a non-empty list of objects with known op names.

    :raise InvalidInput: not a list, empty or too long.
    :raise InvalidAnnotation: an op that is not an object or has an unknown name (naming its index).
    """
    if not isinstance(ops, list) or not ops:
        raise InvalidInput("ops must be a non-empty list")
    if len(ops) > MAX_OPS:
        raise InvalidInput(f"a batch holds at most {MAX_OPS} ops, got {len(ops)}")
    for index, op in enumerate(ops):
        name = op.get("op") if isinstance(op, dict) else None
        if name not in OP_NAMES:
            reason = "an op must be an object" if not isinstance(op, dict) else f"unknown op {name!r}"
            label = name if isinstance(name, str) else "?"
            raise InvalidAnnotation(
                f"op {index} ({label}): {reason}", details=[{"index": index, "op": label, "reason": reason}]
            )
    return ops


def _check_version(value: Any) -> int:
    """Return ``value`` if it is a whole number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"base_version must be a whole number, got {value!r}")
    return value


def _begin_write(session: Session, layer_id: int) -> None:
    """Take the write lock on the layer's row before any SAVEPOINT.

    On PostgreSQL this locks the row, so a concurrent save waits here and
    then sees the version it lost to; on SQLite it takes the database's
    write lock up front, so a save never fails half-way on a lock upgrade.
    """
    session.execute(
        update(AnnotationSet)
        .where(AnnotationSet.id == layer_id)
        .values(version=AnnotationSet.version)
        .execution_options(synchronize_session=False)
    )


def _bump(session: Session, layer: AnnotationSet, base_version: int) -> int:
    """Take the next version of ``layer`` if it is still at ``base_version``; return it.

    :raise Conflict: someone saved first (``current_version`` in the error).
    """
    result = session.execute(
        update(AnnotationSet)
        .where(AnnotationSet.id == layer.id, AnnotationSet.version == base_version)
        .values(
            version=AnnotationSet.version + 1,
            status=case((AnnotationSet.status == "new", "in_progress"), else_=AnnotationSet.status),
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        current = session.scalar(select(AnnotationSet.version).where(AnnotationSet.id == layer.id))
        raise Conflict(
            f"the layer is at version {current}, not {base_version}: reload it",
            extra={"current_version": current},
        )
    return base_version + 1


def _finish(
    session: Session, layer: AnnotationSet, user: User, version: int, action: str, payload: dict[str, Any],
    batch_id: str | None,
) -> dict[str, Any]:
    """Record the change and the batch's result; return that result."""
    session.flush()
    counts = layer_counts(session, layer.id)
    result: dict[str, Any] = {"version": version, "counts": counts, "batch_id": batch_id}
    session.execute(
        update(AnnotationSet)
        .where(AnnotationSet.id == layer.id)
        .values(last_batch_id=batch_id, last_batch_result=result)
        .execution_options(synchronize_session=False)
    )
    session.add(Change(set_id=layer.id, user_id=user.id, action=action, version=version, payload=payload))
    session.flush()
    session.expire(layer, ["version", "status", "updated_at", "last_batch_id", "last_batch_result", "note"])
    return result


def apply_ops(
    session: Session, user: User, set_id: int, base_version: Any, batch_id: Any, ops: Any, decision: Any = None
) -> dict[str, Any]:
    """Apply a batch of ops to ``user``'s layer ``set_id``: all of them, in order, or none.

    :return: ``{"version", "counts": {"spans", "relations", "attributions"}, "batch_id"}``;
        a retry of the last applied ``batch_id`` returns the stored result and applies nothing.
    :param decision: gold layers only: why the curator made this change (see
        :func:`check_decision`), kept in the layer's history; with a decision,
        ``ops`` may be empty (rejecting every version changes nothing).
    :raise InvalidAnnotation: an op does not fit (message ``op N (name): reason``,
        details ``[{"index", "op", "reason"}]``, N the op's index in ``ops``, from 0);
        nothing applied.
    :raise Conflict: ``base_version`` is stale (``current_version`` in ``extra``).
    :raise NotFound: / :raise Forbidden: as :func:`layer_access`.
    """
    base_version = _check_version(base_version)
    if not isinstance(batch_id, str) or not batch_id or len(batch_id) > MAX_UID:
        raise InvalidInput(f"batch_id must be a string of 1 to {MAX_UID} characters")
    decision = check_decision(decision) if decision is not None else None
    ops = [] if decision is not None and ops == [] else _check_ops(ops)
    access = layer_access(session, user, set_id, write=True)
    layer = access.layer
    if decision is not None and layer.kind != "gold":
        raise InvalidInput("only changes to the gold layer carry a decision")
    if layer.last_batch_id == batch_id and layer.last_batch_result is not None:
        return dict(layer.last_batch_result)
    if layer.version != base_version:
        raise Conflict(
            f"the layer is at version {layer.version}, not {base_version}: reload it",
            extra={"current_version": layer.version},
        )
    editor = _Editor(session, layer.id, access.text, access.schema, gold=layer.kind == "gold")

    def failure(index: int, name: str) -> Callable[[str], InvalidAnnotation]:
        """Return a builder of the error for one failing item."""
        return lambda reason: InvalidAnnotation(
            f"op {index} ({name}): {reason}", details=[{"index": index, "op": name, "reason": reason}]
        )

    begin_write(session)
    _begin_write(session, layer.id)
    try:
        with session.begin_nested():
            version = _bump(session, layer, base_version)
            editor.preload(ops)
            _run(editor, [(op, failure(i, op["op"])) for i, op in enumerate(ops)])
            payload: dict[str, Any] = {"batch_id": batch_id, "ops": ops}
            if decision is not None:
                payload["decision"] = decision
            return _finish(session, layer, user, version, "decision" if decision else "ops", payload, batch_id)
    except Conflict:
        # A retry that raced its own first attempt: answer as the first attempt did.
        last_id, last_result = session.execute(
            select(AnnotationSet.last_batch_id, AnnotationSet.last_batch_result).where(AnnotationSet.id == layer.id)
        ).one()
        if last_id == batch_id and last_result is not None:
            return dict(last_result)
        raise


def check_decision(value: Any) -> dict[str, Any]:
    """Return a curator's decision if well formed.

    ``{"choice": "accept" | "reject" | "edit" | "auto", "item": {...}, "reason": one of
    DECISION_REASONS or null, "note": "..." , "annotators": [...]}``: ``item``
    describes what was decided on (kind, label, offsets...), ``annotators``
    who had the version chosen.

    :raise InvalidInput: anything else.
    """
    if not isinstance(value, dict):
        raise InvalidInput("decision must be an object")
    unknown = sorted(set(value) - {"choice", "item", "reason", "note", "annotators", "rule"})
    if unknown:
        raise InvalidInput(f"decision: unknown field {unknown[0]!r}")
    if value.get("choice") not in ("accept", "reject", "edit", "auto"):
        raise InvalidInput("decision.choice must be accept, reject, edit or auto")
    reason = value.get("reason")
    if reason is not None and reason not in DECISION_REASONS:
        raise InvalidInput(f"decision.reason must be one of {', '.join(DECISION_REASONS)}, or null")
    note = value.get("note", "")
    if not isinstance(note, str) or len(note) > 2000:
        raise InvalidInput("decision.note must be a string of at most 2,000 characters")
    annotators = value.get("annotators", [])
    if not isinstance(annotators, list) or not all(isinstance(a, str) for a in annotators):
        raise InvalidInput("decision.annotators must be a list of names")
    if not isinstance(value.get("item", {}), dict):
        raise InvalidInput("decision.item must be an object")
    if len(json.dumps(value)) > MAX_PROVENANCE * 2:
        raise InvalidInput("decision is too large")
    return {**value, "note": note.strip(), "annotators": annotators}


def replace_layer(
    session: Session, user: User, set_id: int, base_version: Any, spans: Any, relations: Any, attributions: Any
) -> dict[str, Any]:
    """Replace everything in ``user``'s layer ``set_id`` with the given items (all or nothing).

    Items have the shape of the API's ``<layer>`` lists; they are checked
    exactly as the ops that would create them.

    :return: as :func:`apply_ops` (``batch_id`` is None).
    :raise InvalidAnnotation: an item does not fit (message ``spans[N] (id): reason``,
        details ``[{"list", "index", "id", "reason"}]``).
    :raise Conflict: ``base_version`` is stale.
    """
    base_version = _check_version(base_version)
    lists = {"spans": spans, "relations": relations, "attributions": attributions}
    for name, items in lists.items():
        if items is None:
            lists[name] = []
        elif not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise InvalidInput(f"{name} must be a list of objects")
    total = sum(len(items) for items in lists.values())
    if total > MAX_OPS:
        # The same cap as a PATCH batch: one annotator's save must not hold the write lock for long.
        raise InvalidInput(f"a layer replaced in one PUT holds at most {MAX_OPS} items, got {total}")
    access = layer_access(session, user, set_id, write=True)
    layer = access.layer
    if layer.version != base_version:
        raise Conflict(
            f"the layer is at version {layer.version}, not {base_version}: reload it",
            extra={"current_version": layer.version},
        )

    def failure(name: str, index: int, uid: Any) -> Callable[[str], InvalidAnnotation]:
        """Return a builder of the error for one failing item."""
        return lambda reason: InvalidAnnotation(
            f"{name}[{index}] ({uid}): {reason}",
            details=[{"list": name, "index": index, "id": uid, "reason": reason}],
        )

    kinds = {"spans": "span.create", "relations": "relation.create", "attributions": "attribution.create"}
    items = [
        ({**item, "op": kinds[name]} if name != "attributions" else {**item, "op": kinds[name], "parent": None},
         failure(name, index, item.get("id")))
        for name in ("spans", "relations", "attributions")
        for index, item in enumerate(lists[name])
    ]
    # Parents last: an attribution may be relayed by one listed after it.
    items += [
        ({"op": "attribution.update", "id": item.get("id"), "parent": item["parent"]}, failure("attributions", index, item.get("id")))
        for index, item in enumerate(lists["attributions"])
        if item.get("parent") is not None
    ]
    editor = _Editor(session, layer.id, access.text, access.schema, empty=True)
    begin_write(session)
    _begin_write(session, layer.id)
    with session.begin_nested():
        version = _bump(session, layer, base_version)
        _clear(session, layer.id)
        _run(editor, items)
        payload = {name: lists[name] for name in ("spans", "relations", "attributions")}
        return _finish(session, layer, user, version, "replace", payload, None)


def _clear(session: Session, set_id: int) -> None:
    """Delete every span, relation and attribution of layer ``set_id``."""
    attribution_ids = select(Attribution.id).where(Attribution.set_id == set_id)
    for stmt in (
        delete(AttributionContent).where(AttributionContent.attribution_id.in_(attribution_ids)),
        delete(Attribution).where(Attribution.set_id == set_id),
        delete(Relation).where(Relation.set_id == set_id),
        delete(Span).where(Span.set_id == set_id),
    ):
        session.execute(stmt.execution_options(synchronize_session=False))
