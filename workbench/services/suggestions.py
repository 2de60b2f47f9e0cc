"""Suggestions for annotators: prediction layers and recommenders, accept/reject events, acceptance rates, gazetteers.

A suggestion comes from one or more *sources*: ``model:<name>`` for each
model's prediction layer (imported, or posted through the API), ``markup``
for the hints of an HTML import, and the name of each recommender
(``recommender``, ``gazetteer``, ``attribution``, or a plugged-in one; see
``workbench.recommenders``).  The same span suggested by several sources is
one suggestion listing them all.  Accepting happens in the browser through
the annotator's own layer (the normal ops); this module only records the
decision, so that a rejected suggestion stays hidden for that annotator and
curators see how often each source is right.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_left
import time
from collections import OrderedDict
from collections import defaultdict
from typing import Any

from sqlalchemy import String
from sqlalchemy import and_
from sqlalchemy import cast
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench import recommenders
from workbench.domain.annotations import AnnotationError
from workbench.domain.annotations import check_relation
from workbench.domain.annotations import check_span
from workbench.domain.annotations import has_overlap_rules
from workbench.domain.annotations import overlap_conflict
from workbench.domain.offsets import tokens as tokenize
from workbench.domain.schema import Schema
from workbench.errors import InvalidInput
from workbench.formats.html_article import MARKUP_MODEL
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import Document
from workbench.models import GazetteerEntry
from workbench.models import Project
from workbench.models import Relation
from workbench.models import Span
from workbench.models import SuggestionEvent
from workbench.models import User
from workbench.recommenders import AttributionSuggestion
from workbench.recommenders import Context
from workbench.recommenders import SpanSuggestion
from workbench.recommenders.dictionary import MAX_TOKENS
from workbench.recommenders.dictionary import GazetteerError
from workbench.recommenders.dictionary import parse_gazetteer
from workbench.services import annotation as annotation_service
from workbench.services import importing
from workbench.services import projects as project_service
from workbench.services.assignment import annotator_key
from workbench.transactions import begin_write

#: The most events one request may record.
MAX_EVENTS = 2000
#: The most suggestions one document shows.
MAX_SUGGESTIONS = 5000
#: The most lines a gazetteer may have.
MAX_GAZETTEER = 100_000
#: Learned strings longer than this many characters are not looked for.
MAX_LEARNED = 100
ACTIONS = ("accept", "reject")


def source_of_model(model_name: str | None) -> str:
    """Return the suggestion source of a prediction layer: ``markup`` for HTML hints, else ``model:<name>``."""
    return "markup" if model_name == MARKUP_MODEL else f"model:{model_name or ''}"


def span_key(label: str, start: int, end: int) -> str:
    """Return the key of a span suggestion (the same whatever its source)."""
    return f"span:{label}:{start}:{end}"


def _part(span: dict[str, Any] | None) -> str:
    return "-" if span is None else f"{span['label']}:{span['start']}:{span['end']}"


def attribution_key(source: dict[str, Any] | None, cue: dict[str, Any] | None, content: list[dict[str, Any]]) -> str:
    """Return the key of an attribution suggestion: its spans' labels and offsets."""
    return "attribution:" + "|".join([_part(source), _part(cue), ",".join(_part(c) for c in content)])


def relation_key(rel_type: str, head: dict[str, Any], tail: dict[str, Any]) -> str:
    """Return the key of a relation suggestion: its type and its ends' labels and offsets."""
    return f"relation:{rel_type}:{_part(head)}>{_part(tail)}"


# --------------------------------------------------------------------------- reading


def _learned_from(learner: int | None) -> Any:
    """Return the condition on AnnotationSet for the layers the recommender learns from for a viewer.

    ``learner`` None (a curator or admin): every annotator layer and gold.  A
    user id (an annotator): gold and that annotator's own layers only, since
    annotators work blind to each other.
    """
    if learner is None:
        return AnnotationSet.kind.in_(("annotator", "gold"))
    return or_(AnnotationSet.kind == "gold", AnnotationSet.owner_key == annotator_key(learner))


def learner_of(session: Session, user: User, project: Project, role: str | None = None) -> int | None:
    """Return whose layers (besides gold) the recommender may learn from for ``user``: None for all (curators, admins), else their id."""
    if role is None:
        role = project_service.role_in(session, user, project)
    return None if role is not None and project_service.RANK[role] >= project_service.RANK["curator"] else user.id


def learned_strings(session: Session, project: Project, learner: int | None) -> dict[str, dict[str, int]]:
    """Return string -> {label: count} over the project's gold layers and annotator layers (short spans only).

    ``learner``: see :func:`_learned_from` (None: every annotator's layers;
    a user id: that annotator's own layers only).

    The spans come in one query, ordered by document; each document's text is
    read once, in batches, and the strings are cut from it in Python (code
    points, as the offsets).
    """
    # Core rows through the session's connection: ORM rows cost more than the query for 10^5 spans.
    rows = session.connection().execute(
        select(AnnotationSet.document_id, Span.start, Span.end, Span.label)
        .join(AnnotationSet, AnnotationSet.id == Span.set_id)
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(
            Document.project_id == project.id,
            _learned_from(learner),
            Span.end - Span.start <= MAX_LEARNED,
        )
        .order_by(AnnotationSet.document_id)
    ).all()
    out: dict[str, dict[str, int]] = defaultdict(dict)
    doc_ids = sorted({row[0] for row in rows})
    texts: dict[int, str] = {}
    fits: dict[str, bool] = {}
    position = 0
    for first in range(0, len(doc_ids), 200):
        batch = doc_ids[first : first + 200]
        texts = dict(session.connection().execute(select(Document.id, Document.text).where(Document.id.in_(batch))).all())
        while position < len(rows) and rows[position][0] in texts:
            doc_id, start, end, label = rows[position]
            position += 1
            string = texts[doc_id][start:end]
            ok = fits.get(string)
            if ok is None:
                ok = fits[string] = string.strip() == string and len(tokenize(string)) <= MAX_TOKENS
            if ok:
                counts = out[string]
                counts[label] = counts.get(label, 0) + 1
    return dict(out)


#: (database, project, viewer) -> ((fingerprints, when, cost), memo): what the recommenders learned, kept while its
#: sources stay.  One per viewer: an annotator's memo holds what gold and their own layers taught, nothing of others'.
_MEMOS: OrderedDict[tuple[str, int, str, int | None], tuple[tuple[Any, ...], dict[str, Any]]] = OrderedDict()
#: Learning that took longer than this (seconds) is redone at most every STALE_FOR seconds.
SLOW_LEARNING = 0.1
STALE_FOR = 30.0
#: How many (project, viewer) memos one process keeps.
MEMO_VIEWERS = 32
_memo_lock = threading.Lock()


def _fingerprint(session: Session, project: Project, learner: int | None) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Return what changes whenever the learned strings, or the gazetteer and schema, may have.

    Two small aggregate queries.  Every save bumps a layer's version and
    ``updated_at``; a new or deleted layer changes the count; a gazetteer
    load replaces every row (new ids).
    """
    layers = session.execute(
        select(func.count(AnnotationSet.id), func.max(AnnotationSet.updated_at), func.coalesce(func.sum(AnnotationSet.version), 0))
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(Document.project_id == project.id, _learned_from(learner))
    ).one()
    gazetteer = session.execute(
        select(func.count(GazetteerEntry.id), func.max(GazetteerEntry.id)).where(GazetteerEntry.project_id == project.id)
    ).one()
    return tuple(str(v) for v in layers), (*gazetteer, json.dumps(project.label_schema, sort_keys=True))


def _project_memo(session: Session, project: Project, learner: int | None) -> dict[str, Any]:
    """Return the strings learned for a viewer, the gazetteer (and the recommenders' memo), from the cache when still current.

    ``learner``: see :func:`_learned_from`; each viewer has their own memo.

    When learning the strings took longer than :data:`SLOW_LEARNING` seconds
    (a large project), saves made since are picked up at most
    :data:`STALE_FOR` seconds later rather than on every opening; a new
    gazetteer or schema always counts at once.
    """
    layers, rest = _fingerprint(session, project, learner)
    # Keyed by database too: one process may serve (or test) several.
    key = (str(session.get_bind().url), project.id, str(project.created_at), learner)
    now = time.monotonic()
    with _memo_lock:
        found = _MEMOS.get(key)
        if found is not None:
            (old_layers, old_rest, at, cost), memo = found
            if old_rest == rest and (old_layers == layers or (cost > SLOW_LEARNING and now - at < STALE_FOR)):
                _MEMOS.move_to_end(key)
                return memo
    memo = {
        "examples": learned_strings(session, project, learner),
        "gazetteer": gazetteer_entries(session, project),
        "recommenders": {},
    }
    with _memo_lock:
        _MEMOS[key] = ((layers, rest, now, time.monotonic() - now), memo)
        _MEMOS.move_to_end(key)
        while len(_MEMOS) > MEMO_VIEWERS:
            _MEMOS.popitem(last=False)
    return memo


def gazetteer_entries(session: Session, project: Project) -> dict[str, list[str]]:
    """Return the project's gazetteer as string -> labels."""
    out: dict[str, list[str]] = defaultdict(list)
    for text, label in session.execute(
        select(GazetteerEntry.text, GazetteerEntry.label).where(GazetteerEntry.project_id == project.id).order_by(GazetteerEntry.id)
    ):
        out[text].append(label)
    return dict(out)


def _span_item(schema: Schema, text: str, s: SpanSuggestion) -> dict[str, Any] | None:
    """Return a suggested span as the API shows it, or None when the schema cannot hold it."""
    label = schema.label(s.label)
    attrs = {a.name: a.default for a in (label.attributes if label else ()) if a.default is not None}
    try:
        check_span(schema, text, s.label, s.start, s.end, attrs)
    except AnnotationError:
        return None
    return {"label": s.label, "start": s.start, "end": s.end, "text": text[s.start : s.end]}


class _Collector:
    """Merges suggestions from several sources by key."""

    def __init__(self, schema: Schema, text: str, hidden: set[str]) -> None:
        self.schema, self.text, self.hidden = schema, text, hidden
        self.items: dict[str, dict[str, Any]] = {}

    def add(self, source: str, item: SpanSuggestion | AttributionSuggestion) -> None:
        if isinstance(item, SpanSuggestion):
            span = _span_item(self.schema, self.text, item)
            if span is None:
                return
            key = span_key(item.label, item.start, item.end)
            entry = {"kind": "span", **span}
        else:
            parts = [_span_item(self.schema, self.text, s) if s is not None else None for s in (item.source, item.cue, *item.content)]
            source_span, cue_span, content = parts[0], parts[1], parts[2:]
            if any(p is None for p in content) or (item.source is not None and source_span is None) or (
                item.cue is not None and cue_span is None
            ) or (source_span is None and cue_span is None) or not self.schema.attributions:
                return
            key = attribution_key(source_span, cue_span, content)  # type: ignore[arg-type]
            entry = {"kind": "attribution", "source": source_span, "cue": cue_span, "content": content}
        self._put(source, key, entry, item.score)

    def add_relation(self, source: str, rel_type: str, head: SpanSuggestion, tail: SpanSuggestion, score: float) -> None:
        """Add a predicted relation between two spans, when the schema allows it between their labels."""
        ends = [_span_item(self.schema, self.text, s) for s in (head, tail)]
        if ends[0] is None or ends[1] is None:
            return
        try:
            check_relation(self.schema, rel_type, head.label, tail.label)
        except AnnotationError:
            return
        self._put(source, relation_key(rel_type, ends[0], ends[1]), {"kind": "relation", "type": rel_type, "head": ends[0], "tail": ends[1]}, score)

    def _put(self, source: str, key: str, entry: dict[str, Any], score: float) -> None:
        if key in self.hidden:
            return
        score = max(0.0, min(1.0, float(score)))
        found = self.items.get(key)
        if found is None:
            self.items[key] = {"key": key, **entry, "score": round(score, 3), "sources": [source]}
        else:
            found["score"] = max(found["score"], round(score, 3))
            if source not in found["sources"]:
                found["sources"].append(source)


def _ends(item: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the spans a suggestion names: itself, an attribution's parts, a relation's head and tail."""
    if item["kind"] == "span":
        return [item]
    if item["kind"] == "relation":
        return [item["head"], item["tail"]]
    return [p for p in (item["source"], item["cue"], *item["content"]) if p is not None]


def _first_start(item: dict[str, Any]) -> int:
    return min(int(p["start"]) for p in _ends(item))


def _score(attrs: dict[str, Any] | None) -> float:
    """Return a predicted item's ``attrs.score`` when it is a number, else 1."""
    score = (attrs or {}).get("score", 1.0)
    return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else 1.0


def document_suggestions(
    session: Session, user: User, project: Project, document: Document, role: str | None = None
) -> dict[str, Any]:
    """Return the suggestions ``user`` sees on ``document``: ``{"suggestions": [...], "sources": [...]}``.

    The learned strings an annotator is suggested come from gold and their own
    layers only (annotators work blind to each other); a curator's or admin's
    (``role``, looked up when not given) from every layer.

    Left out: what the user rejected on this document, spans their own layer
    already has (same label and offsets), attributions whose content their
    layer already attributes, relations their layer already has (same type,
    ends with the same labels and offsets), relations with an end that is
    neither a span of their layer nor offered as a span suggestion, and
    suggestions the schema's overlap rules would refuse beside the spans of
    their layer.  In reading order, at most :data:`MAX_SUGGESTIONS`.
    """
    schema = project_service.project_schema(project)
    text = document.text
    hidden = set(
        session.scalars(
            select(SuggestionEvent.key).where(
                SuggestionEvent.document_id == document.id,
                SuggestionEvent.user_id == user.id,
                SuggestionEvent.action == "reject",
            )
        )
    )
    own = session.scalar(
        select(AnnotationSet).where(AnnotationSet.document_id == document.id, AnnotationSet.owner_key == annotator_key(user.id))
    )
    own_data = annotation_service.layer_data(session, own, text) if own is not None else None
    own_keys: set[str] = set()
    if own_data is not None:
        spans_by_id = {s["id"]: s for s in own_data["spans"]}
        own_keys = {span_key(s["label"], s["start"], s["end"]) for s in own_data["spans"]}
        hidden.update(own_keys)
        hidden.update(
            relation_key(r["type"], spans_by_id[r["head"]], spans_by_id[r["tail"]])
            for r in own_data["relations"]
            if r["head"] in spans_by_id and r["tail"] in spans_by_id
        )
    collector = _Collector(schema, text, hidden)
    predictions = list(
        session.scalars(
            select(AnnotationSet)
            .where(AnnotationSet.document_id == document.id, AnnotationSet.kind == "prediction")
            .order_by(AnnotationSet.owner_key)
        )
    )
    data = annotation_service.layers_data(session, [(layer, text) for layer in predictions]) if predictions else {}
    for layer in predictions:
        source = source_of_model(layer.model_name)
        layer_items = data[layer.id]
        by_id = {s["id"]: s for s in layer_items["spans"]}
        for s in layer_items["spans"]:
            collector.add(source, SpanSuggestion(s["label"], s["start"], s["end"], _score(s.get("attrs"))))
        as_span = lambda uid: None if uid is None else SpanSuggestion(by_id[uid]["label"], by_id[uid]["start"], by_id[uid]["end"])  # noqa: E731
        for a in layer_items["attributions"]:
            collector.add(
                source,
                AttributionSuggestion(as_span(a["source"]), as_span(a["cue"]), tuple(as_span(c) for c in a["content"]), 1.0),  # type: ignore[misc]
            )
        for r in layer_items["relations"]:
            collector.add_relation(source, r["type"], as_span(r["head"]), as_span(r["tail"]), _score(r.get("attrs")))
    memo = _project_memo(session, project, learner_of(session, user, project, role))
    context = Context(
        text=text, schema=schema, tokens=tokenize(text), examples=memo["examples"], gazetteer=memo["gazetteer"], memo=memo["recommenders"]
    )
    for source, item in recommenders.run_all(context):
        collector.add(source, item)
    items = list(collector.items.values())
    if own_data is not None and own_data["attributions"]:
        done: set[tuple[int, int]] = set()
        for a in own_data["attributions"]:
            for uid in a["content"]:
                span = spans_by_id.get(uid)
                if span is not None:
                    done.add((span["start"], span["end"]))
        items = [i for i in items if i["kind"] != "attribution" or not any((c["start"], c["end"]) in done for c in i["content"])]
    if own_data is not None and own_data["spans"] and has_overlap_rules(schema):
        items = _fitting(schema, text, own_data["spans"], items)
    if any(i["kind"] == "relation" for i in items):
        # A relation joins spans: each end is the annotator's already, or offered to them as a span suggestion.
        offered = own_keys | {i["key"] for i in items if i["kind"] == "span"}
        items = [
            i for i in items
            if i["kind"] != "relation" or all(span_key(e["label"], e["start"], e["end"]) in offered for e in (i["head"], i["tail"]))
        ]
    items.sort(key=lambda i: (_first_start(i), i["kind"] != "span", i["key"]))
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        for source in item["sources"]:
            counts[source] += 1
    return {
        "suggestions": items[:MAX_SUGGESTIONS],
        "sources": [{"name": name, "count": counts[name]} for name in sorted(counts)],
    }


def _fitting(schema: Schema, text: str, own: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave out suggestions that the schema's overlap rules would refuse beside the annotator's own spans.

    A suggested span equal to one of the annotator's (same label and offsets)
    is theirs already, not a clash.
    """
    refs = sorted(((s["id"], s["label"], s["start"], s["end"]) for s in own), key=lambda r: r[2])
    starts = [r[2] for r in refs]
    longest = max(r[3] - r[2] for r in refs)

    def clashes(part: dict[str, Any]) -> bool:
        ref = ("suggested", part["label"], part["start"], part["end"])
        lo = bisect_left(starts, part["start"] - longest)
        hi = bisect_left(starts, part["end"])
        for other in refs[lo:hi]:
            if other[3] > part["start"] and other[1:] != ref[1:] and overlap_conflict(schema, text, other, ref):
                return True
        return False

    out = []
    for item in items:
        # A relation makes no span: its ends are checked as span suggestions (or are the annotator's).
        if item["kind"] == "relation" or not any(clashes(part) for part in _ends(item)):
            out.append(item)
    return out


# --------------------------------------------------------------------------- events


def _string(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidInput(f"{what} must be a string of 1 to {limit} characters")
    return value


def record_events(session: Session, user: User, project: Project, document: Document, events: Any) -> int:
    """Record accept/reject decisions on ``document``'s suggestions; return how many rows were stored.

    ``events``: ``[{"key": str, "action": "accept" | "reject", "sources": [str, ...], "label": str, "item": str}]``;
    one row per source, so each source's rate counts it.  An accept names the
    ``item`` it made in the user's layer (the id of the span, attribution or
    relation): it counts in the rates only while that item is there.

    :raise InvalidInput: not such a list (naming the event's index), or too long.
    """
    if not isinstance(events, list) or not events:
        raise InvalidInput("events must be a non-empty list")
    if len(events) > MAX_EVENTS:
        raise InvalidInput(f"at most {MAX_EVENTS} events at once, got {len(events)}")
    rows = []
    for index, event in enumerate(events):
        try:
            if not isinstance(event, dict):
                raise InvalidInput("an event must be an object")
            key = _string(event.get("key"), "key", 300)
            action = event.get("action")
            if action not in ACTIONS:
                raise InvalidInput("action must be accept or reject")
            sources = event.get("sources")
            if not isinstance(sources, list) or not 1 <= len(sources) <= 20:
                raise InvalidInput("sources must be a list of 1 to 20 names")
            sources = [_string(s, "a source", 200) for s in sources]
            label = event.get("label", "")
            if not isinstance(label, str) or len(label) > 40:
                raise InvalidInput("label must be a string of at most 40 characters")
            item = _string(event.get("item"), "item (the id of what the acceptance made)", 64) if action == "accept" else None
        except InvalidInput as exc:
            raise InvalidInput(f"events[{index}]: {exc.message}") from None
        rows.extend(
            {"project_id": project.id, "document_id": document.id, "user_id": user.id, "source": source, "key": key,
             "label": label, "action": action, "item": item}
            for source in dict.fromkeys(sources)
        )
    begin_write(session)
    session.execute(insert(SuggestionEvent), rows)
    session.flush()
    return len(rows)


def _still_there(kind: str, table: Any) -> Any:
    """Return: the event is about a ``kind`` suggestion and the item it made is still in its user's layer on its document."""
    owner = literal("annotator:") + cast(SuggestionEvent.user_id, String)
    return and_(
        SuggestionEvent.key.startswith(f"{kind}:"),
        exists(
            select(1)
            .select_from(table)
            .join(AnnotationSet, AnnotationSet.id == table.set_id)
            .where(
                AnnotationSet.document_id == SuggestionEvent.document_id,
                AnnotationSet.owner_key == owner,
                table.uid == SuggestionEvent.item,
            )
        ),
    )


def acceptance(session: Session, project: Project) -> list[dict[str, Any]]:
    """Return each source's accept and reject counts and acceptance rate (accepted / decided), by source name.

    An accept counts while the span, attribution or relation it made is still
    in the annotator's layer: an undone (or later deleted) acceptance no
    longer counts, a redone one counts again.  Accepts recorded before
    migration 0007 name no item and always count.
    """
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"accept": 0, "reject": 0})
    counted = or_(
        SuggestionEvent.action == "reject",
        SuggestionEvent.item.is_(None),
        _still_there("span", Span),
        _still_there("attribution", Attribution),
        _still_there("relation", Relation),
    )
    for source, action, count in session.execute(
        select(SuggestionEvent.source, SuggestionEvent.action, func.count())
        .where(SuggestionEvent.project_id == project.id, counted)
        .group_by(SuggestionEvent.source, SuggestionEvent.action)
    ):
        counts[source][action] += int(count)
    out = []
    for source in sorted(counts):
        accepted, rejected = counts[source]["accept"], counts[source]["reject"]
        decided = accepted + rejected
        out.append({
            "source": source, "accepted": accepted, "rejected": rejected,
            "rate": round(accepted / decided, 4) if decided else None,
        })
    return out


# --------------------------------------------------------------------------- predictions and gazetteer


def post_predictions(
    session: Session, user: User | None, project: Project, document: Document, model: Any, body: dict[str, Any]
) -> dict[str, Any]:
    """Replace ``model``'s prediction layer on ``document`` with ``body``'s spans, relations and attributions.

    The items have the dataset format's shape (docs/format.md) and are
    checked as an import checks them; all or nothing.

    :return: ``{"model", "source", "spans", "relations", "attributions"}`` (counts).
    :raise InvalidInput: a bad model name or body.
    :raise ImportError_: an item that does not fit (its reason).
    """
    model = importing.check_model_name(model)
    record: dict[str, Any] = {"id": document.external_id, "text": document.text, "layer": "prediction", "annotator": model}
    for name in ("spans", "relations", "attributions"):
        items = body.get(name, [])
        if not isinstance(items, list):
            raise InvalidInput(f"{name} must be a list")
        record[name] = items
    if not record["spans"]:
        raise InvalidInput("spans must be a non-empty list")
    line = json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
    begin_write(session)
    with session.begin_nested():
        session.execute(
            delete(AnnotationSet).where(AnnotationSet.document_id == document.id, AnnotationSet.owner_key == f"prediction:{model}")
        )
        importing.import_stream(session, project, "request body", line, "jsonl", user=user)
    return {
        "model": model,
        "source": source_of_model(model),
        "spans": len(record["spans"]),
        "relations": len(record["relations"]),
        "attributions": len(record["attributions"]),
    }


def set_gazetteer(session: Session, project: Project, name: str, data: Any) -> int:
    """Replace the project's gazetteer with the ``text<TAB>LABEL`` lines of ``data``; return the entry count.

    :raise InvalidInput: ``name:line: reason`` for the first bad line, or too many lines; nothing changes.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(f"{name}: not UTF-8 text") from None
    if not isinstance(data, str):
        raise InvalidInput("the gazetteer must be text")
    schema = project_service.project_schema(project)
    try:
        entries = parse_gazetteer(name, data, {label.name for label in schema.labels})
    except GazetteerError as exc:
        raise InvalidInput(str(exc)) from None
    if len(entries) > MAX_GAZETTEER:
        raise InvalidInput(f"{name}: a gazetteer holds at most {MAX_GAZETTEER} entries, got {len(entries)}")
    begin_write(session)
    session.execute(delete(GazetteerEntry).where(GazetteerEntry.project_id == project.id))
    if entries:
        session.execute(insert(GazetteerEntry), [{"project_id": project.id, "text": t, "label": lb} for t, lb in entries])
    session.flush()
    return len(entries)


def gazetteer_size(session: Session, project: Project) -> int:
    """Return how many entries the project's gazetteer has."""
    return int(session.scalar(select(func.count(GazetteerEntry.id)).where(GazetteerEntry.project_id == project.id)) or 0)
