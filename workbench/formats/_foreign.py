"""What the readers and writers of other tools' formats share (pure: stdlib and ``workbench.domain``).

Readers of brat, Label Studio and doccano collect a document's spans and
relations as the tool wrote them (:class:`RawSpan`, :class:`RawRelation`),
and :func:`build_record` turns them into a checked :class:`DocumentRecord`:

- labels and relation types go through the label map (``--label-map``); a
  label that is neither mapped nor in the schema is an error naming it;
- offsets are converted into code points of the stored text: a tool may
  have counted UTF-16 units (Label Studio counts what the browser counts) or
  read CRLF line breaks as one character; the unit that makes every quoted
  span cover its quote is chosen per document, and what was converted is
  noted in ``ReadOptions.notes``; a span whose text still does not match is
  an error;
- other tools have no attributions: they come as relations, ``attributed_to``
  (content → source) and ``introduces`` (cue → content), the names the
  writers here use too; a relation type that the schema does not have but
  maps to one of those becomes part of an attribution.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import PurePath
from typing import Any
from urllib.parse import quote
from urllib.parse import unquote

from workbench.domain.annotations import AnnotationError
from workbench.domain.annotations import check_attribution
from workbench.domain.annotations import check_chains
from workbench.domain.annotations import check_note
from workbench.domain.annotations import check_relation
from workbench.domain.annotations import check_span
from workbench.domain.offsets import OFFSET_UNITS
from workbench.domain.offsets import choose_unit
from workbench.domain.offsets import text_sha256
from workbench.domain.schema import Schema
from workbench.formats.records import AttributionRecord
from workbench.formats.records import DocumentRecord
from workbench.formats.records import FormatError
from workbench.formats.records import RelationRecord
from workbench.formats.records import SpanRecord

#: Relation types that carry an attribution in tools without attributions.
ATTRIBUTED_TO = "attributed_to"
INTRODUCES = "introduces"
_WHITE_RE = re.compile(r"[\t\n\r]")
_USER_RE = re.compile(r"[^A-Za-z0-9_.\-]+")
_MAP_PAIR_RE = re.compile(r"^\s*([^=\s][^=]*?)\s*=\s*(\S.*?)\s*$")


class LabelMapError(ValueError):
    """A ``--label-map`` that cannot be read (one-line reason)."""


def parse_label_map(spec: str | None) -> dict[str, str]:
    """Parse ``PER=PERSON,LOC=GPE`` into a mapping (empty for None or "").

    :raise LabelMapError: a piece without ``=`` or a label mapped twice.
    """
    out: dict[str, str] = {}
    if not spec:
        return out
    for piece in spec.split(","):
        if not piece.strip():
            continue
        _add_pair(out, piece, f"--label-map part {piece.strip()!r}")
    return out


def read_label_map_file(name: str, data: bytes) -> dict[str, str]:
    """Read a label-map file: a JSON object ``{"PER": "PERSON"}``, or lines ``PER=PERSON`` (``#`` comments).

    :raise LabelMapError: with the file and line.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LabelMapError(f"{name}: not UTF-8 text") from None
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LabelMapError(f"{name}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        if not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items()):
            raise LabelMapError(f"{name}: the JSON object must map label names to label names")
        return dict(value)
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            _add_pair(out, line.replace("\t", "="), f"{name}:{number}")
    return out


def _add_pair(out: dict[str, str], piece: str, where: str) -> None:
    """Add one ``FROM=TO`` pair to ``out``."""
    match = _MAP_PAIR_RE.match(piece)
    if match is None:
        raise LabelMapError(f"{where}: must look like THEIRS=OURS")
    theirs, ours = match.group(1), match.group(2)
    if theirs in out and out[theirs] != ours:
        raise LabelMapError(f"{where}: {theirs!r} is mapped twice")
    out[theirs] = ours


@dataclass
class ReadOptions:
    """What an import passes to a reader besides the file: the label map; and what the reader reports back."""

    label_map: dict[str, str] = field(default_factory=dict)
    #: Lines saying what the reader converted (offsets, ids), without repeats.
    notes: list[str] = field(default_factory=list)
    #: Labels and relation types actually mapped, so unused entries can be named.
    used: set[str] = field(default_factory=set)

    def note(self, message: str) -> None:
        """Record one thing the reader converted (once)."""
        if message not in self.notes:
            self.notes.append(message)

    def map(self, name: str) -> str:
        """Return the project's name for another tool's label or relation type."""
        if name in self.label_map:
            self.used.add(name)
            return self.label_map[name]
        return name


@dataclass
class RawSpan:
    """A span as another tool wrote it: offsets in that tool's unit, its label, the text it quotes if any."""

    id: str
    start: int
    end: int
    label: str
    quote: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    #: The quote has line breaks and tabs written as spaces (brat): compare it so.
    loose: bool = False
    #: The annotator's note on the span.
    note: str = ""


@dataclass
class RawRelation:
    """A relation as another tool wrote it; ``attribution`` and ``attrs`` group the edges of one attribution when known."""

    id: str
    type: str
    head: str
    tail: str
    attribution: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    #: The id of the attribution that relays this edge's attribution (written by the workbench).
    parent: str | None = None
    #: The note on this edge's attribution (written by the workbench).
    note: str = ""


def edge_relation(ident: str, rel_type: str, head: str, tail: str, extra: Any) -> RawRelation:
    """Return a relation read from another tool's file; ``extra`` is its ``attribution`` object, if any.

    The workbench's writers put ``{"id", "attrs", "parent", "note"}`` there (see
    :func:`attribution_edges`), so the edges of one attribution regroup and
    its chain survives the round trip; anything else there is ignored.
    """
    extra = extra if isinstance(extra, dict) else {}
    att_id, parent = extra.get("id"), extra.get("parent")
    return RawRelation(
        ident, rel_type, head, tail,
        attribution=str(att_id) if att_id is not None else None,
        attrs=extra["attrs"] if isinstance(extra.get("attrs"), dict) else {},
        parent=str(parent) if parent is not None and att_id is not None else None,
        note=extra["note"] if isinstance(extra.get("note"), str) and att_id is not None else "",
    )


@dataclass
class RawAttribution:
    """An attribution a format spells out itself (brat's events)."""

    id: str
    source: str | None
    cue: str | None
    content: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    note: str = ""


def build_record(
    schema: Schema,
    options: ReadOptions,
    *,
    filename: str,
    line: int,
    external_id: str,
    text: str,
    meta: dict[str, Any],
    title: str = "",
    layer: str | None,
    annotator: str | None,
    spans: list[RawSpan],
    relations: list[RawRelation] = (),  # type: ignore[assignment]
    attributions: list[RawAttribution] = (),  # type: ignore[assignment]
    note: str = "",
) -> DocumentRecord:
    """Check and convert one document's layer (see the module): labels mapped, offsets in code points.

    :raise FormatError: ``file:line: reason`` naming the document and the span, relation or label.
    """

    def fail(reason: str) -> FormatError:
        return FormatError(filename, line, f"document {external_id!r}: {reason}")

    def noted(what: str, value: Any) -> str:
        try:
            return check_note(value or None)
        except AnnotationError as exc:
            raise fail(f"{what}: {exc}") from None

    if not text:
        raise fail("text is empty")
    if "\x00" in text:
        raise fail("text contains a NUL character")
    seen: set[str] = set()
    for span in spans:
        if span.id in seen:
            raise fail(f"span id {span.id!r} is used twice")
        seen.add(span.id)
        if isinstance(span.start, bool) or isinstance(span.end, bool) or not isinstance(span.start, int) or not isinstance(span.end, int):
            raise fail(f"span {span.id}: offsets must be whole numbers, got {span.start!r}-{span.end!r}")
    converter, unit = choose_unit(
        text, [(s.start, s.end, None if s.loose and s.quote and any(c.isspace() for c in s.quote) else s.quote) for s in spans]
    )
    if unit != OFFSET_UNITS[0]:
        options.note(f"{PurePath(filename).name}: offsets counted in {unit} were converted to code points")
    records: list[SpanRecord] = []
    labels: dict[str, str] = {}
    for span in spans:
        label = mapped_label(schema, options, span.label, fail)
        start, end = converter.convert(unit, span.start, span.end)
        quote = span.quote
        if span.loose and quote is not None and _WHITE_RE.sub(" ", text[start:end]) == _WHITE_RE.sub(" ", quote):
            quote = text[start:end]
        try:
            check_span(schema, text, label, start, end, span.attrs, quote=quote)
        except AnnotationError as exc:
            raise fail(f"span {span.id} ({span.label} {span.start}-{span.end}): {exc}") from None
        records.append(
            SpanRecord(span.id, start, end, label, text[start:end], dict(span.attrs), note=noted(f"span {span.id}", span.note))
        )
        labels[span.id] = label
    out_relations: list[RelationRecord] = []
    edges: list[tuple[str, RawRelation]] = []  # ("source" | "cue", relation)
    for relation in relations:
        for end in (relation.head, relation.tail):
            if end not in labels:
                raise fail(f"relation {relation.id}: {end!r} is not a span of this document")
        rel_type = options.map(relation.type)
        if schema.relation_type(rel_type) is not None:
            try:
                check_relation(schema, rel_type, labels[relation.head], labels[relation.tail], relation.attrs)
            except AnnotationError as exc:
                raise fail(f"relation {relation.id}: {exc}") from None
            out_relations.append(RelationRecord(relation.id, rel_type, relation.head, relation.tail, dict(relation.attrs)))
        elif rel_type in (ATTRIBUTED_TO, INTRODUCES) and schema.attributions:
            edges.append(("source" if rel_type == ATTRIBUTED_TO else "cue", relation))
        else:
            raise fail(
                f"relation type {relation.type!r} is not in the project's schema "
                f"(map it with --label-map {relation.type}=TYPE, or to {ATTRIBUTED_TO} or {INTRODUCES} for attributions)"
            )
    out_attributions = [*attributions, *_attributions_from_edges(edges, {a.id for a in attributions})]
    checked: list[AttributionRecord] = []
    for att in out_attributions:
        for ref in [att.source, att.cue, *att.content]:
            if ref is not None and ref not in labels:
                raise fail(f"attribution {att.id}: {ref!r} is not a span of this document")
        try:
            check_attribution(schema, att.source, att.cue, att.content, att.attrs)
        except AnnotationError as exc:
            raise fail(f"attribution {att.id}: {exc}") from None
        checked.append(
            AttributionRecord(
                att.id, att.source, att.cue, list(att.content), dict(att.attrs),
                parent=att.parent, note=noted(f"attribution {att.id}", att.note),
            )
        )
    try:
        check_chains({a.id: a.parent for a in checked})
    except AnnotationError as exc:
        raise fail(str(exc)) from None
    return DocumentRecord(
        external_id=external_id,
        text=text,
        meta=meta,
        title=title,
        layer=layer,
        annotator=annotator,
        spans=records,
        relations=out_relations,
        attributions=checked,
        line=line,
        text_sha256=text_sha256(text),
        note=noted("the layer", note) if layer is not None else "",
    )


def mapped_label(schema: Schema, options: ReadOptions, name: Any, fail: Any) -> str:
    """Return the project's label for another tool's ``name``; an unknown one is an error naming it."""
    if not isinstance(name, str) or not name:
        raise fail(f"a span has no label ({name!r})")
    label = options.map(name)
    if schema.label(label) is None:
        if label != name:
            raise fail(f"label {name!r} is mapped to {label!r}, which is not in the project's schema")
        raise fail(f"label {name!r} is not in the project's schema (map it with --label-map {name}=LABEL)")
    return label


def _attributions_from_edges(edges: list[tuple[str, RawRelation]], taken: set[str]) -> list[RawAttribution]:
    """Group ``attributed_to`` / ``introduces`` edges into attributions.

    Edges that name their attribution (written by the workbench) are grouped
    by it.  Otherwise each content span gets its source and cue paired in
    order, and content spans with the same source and cue make one
    attribution with several pieces.
    """
    named: dict[str, RawAttribution] = {}
    plain: dict[str, dict[str, list[str]]] = {}
    order: list[str] = []
    for role, rel in edges:
        content = rel.head if role == "source" else rel.tail
        other = rel.tail if role == "source" else rel.head
        if rel.attribution:
            att = named.get(rel.attribution)
            if att is None:
                att = named[rel.attribution] = RawAttribution(
                    rel.attribution, None, None, [], dict(rel.attrs), rel.parent, rel.note
                )
            if content not in att.content:
                att.content.append(content)
            setattr(att, role, other)
            continue
        if content not in plain:
            plain[content] = {"source": [], "cue": []}
            order.append(content)
        plain[content][role].append(other)
    groups: dict[tuple[str | None, str | None], list[str]] = {}
    for content in order:
        sources, cues = plain[content]["source"], plain[content]["cue"]
        for i in range(max(len(sources), len(cues))):
            key = (sources[i] if i < len(sources) else None, cues[i] if i < len(cues) else None)
            pieces = groups.setdefault(key, [])
            if content not in pieces:
                pieces.append(content)
    out = list(named.values())
    number = 0
    used = taken | set(named)
    for (source, cue), content in groups.items():
        number += 1
        while f"A{number}" in used:
            number += 1
        out.append(RawAttribution(f"A{number}", source, cue, content))
    return out


def attribution_edges(record: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Return an export record's attributions as relation edges ``(type, head, tail, extra)``.

    Per content piece, in order: ``attributed_to`` from the piece to the
    source, then ``introduces`` from the cue to the piece (the inverse of
    :func:`build_record`'s grouping).  ``extra`` is what the edge carries as
    its ``attribution`` object: the attribution's id and attributes, the id of
    the attribution that relays it and its note, when there are (read back by
    :func:`edge_relation`).
    """
    out = []
    for att in record.get("attributions") or []:
        extra: dict[str, Any] = {"id": att["id"], "attrs": att.get("attrs") or {}}
        if att.get("parent") is not None:
            extra["parent"] = att["parent"]
        if att.get("note"):
            extra["note"] = att["note"]
        for piece in att["content"]:
            if att.get("source") is not None:
                out.append((ATTRIBUTED_TO, piece, att["source"], extra))
            if att.get("cue") is not None:
                out.append((INTRODUCES, att["cue"], piece, extra))
    return out


def user_name(value: str, default: str) -> str:
    """Return another tool's user (or file) name as a workbench user name (letters, digits, ``_.-``)."""
    return _USER_RE.sub("-", value).strip("-.")[:80] or default


def layer_folder(record: dict[str, Any]) -> str:
    """Return where a record's files go in an export of several layers: ``gold``, ``annotators/ana``, ``predictions/m``, ``documents``."""
    layer = record.get("layer")
    if layer is None:
        return "documents"
    if layer == "gold":
        return "gold"
    who = re.sub(r"[^\w.\-]+", "_", record.get("annotator") or "unknown").strip("._") or "unknown"
    return f"{'annotators' if layer == 'annotator' else 'predictions'}/{who}"


def file_stem(external_id: str) -> str:
    """Return a file name stem for a document id, reversibly (:func:`id_from_stem`): unsafe characters percent-encoded."""
    stem = quote(external_id, safe=" -_.,()[]+=@~'!")
    return "%2E" + stem[1:] if stem.startswith(".") else stem


def id_from_stem(stem: str) -> str:
    """Return the document id a file stem stands for (the inverse of :func:`file_stem`)."""
    return unquote(stem)


def by_document(records: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Yield the records of each document together (an export gives a document's records one after the other)."""
    batch: list[dict[str, Any]] = []
    for record in records:
        if batch and record["id"] != batch[0]["id"]:
            yield batch
            batch = []
        batch.append(record)
    if batch:
        yield batch


def plain_meta(record: dict[str, Any]) -> dict[str, Any]:
    """Return a record's meta (title included) as the other tools' writers copy it."""
    return dict(record.get("meta") or {})
