"""The workbench's own dataset format: one JSON object per line (see docs/format.md).

The reader streams: it parses and checks one line at a time against the
project's schema, with the rules of ``workbench.domain.annotations``, and
raises ``FormatError("file", line, reason)`` on the first problem.  The text
of a record is kept verbatim (its offsets refer to it).
"""

from __future__ import annotations

import json
import json.encoder
import re
from collections.abc import Iterable
from collections.abc import Iterator
from typing import IO
from typing import Any

from workbench.domain.annotations import AnnotationError
from workbench.domain.annotations import check_attribution
from workbench.domain.annotations import check_chains
from workbench.domain.annotations import check_note
from workbench.domain.annotations import check_relation
from workbench.domain.annotations import check_span
from workbench.domain.offsets import text_sha256
from workbench.domain.schema import Schema
from workbench.formats._common import Undecodable
from workbench.formats._common import decode_utf8
from workbench.formats._common import record_lines
from workbench.formats._common import stem_id
from workbench.formats.records import LAYERS
from workbench.formats.records import AttributionRecord
from workbench.formats.records import DocumentRecord
from workbench.formats.records import ExportDocument
from workbench.formats.records import ExportLayer
from workbench.formats.records import FormatError
from workbench.formats.records import PlainDocument
from workbench.formats.records import RelationRecord
from workbench.formats.records import SpanRecord

FORMAT_VERSION = 1


class _Bad(Exception):
    """A problem with the current line; the reader adds file and line."""


def read(filename: str, stream: IO[bytes], schema: Schema) -> Iterator[DocumentRecord]:
    """Yield the records of a JSONL file, one line at a time, checked against ``schema``.

    Several records may share an id (one per layer) when their texts are
    equal; a record without an id gets ``<file stem>-<line>``.

    :raise FormatError: ``file:line: reason`` for the first bad line.
    """
    for item in read_items(filename, stream, schema):
        if type(item) is tuple:
            external_id, text, meta, title, line, digest = item
            item = DocumentRecord(external_id=external_id, text=text, meta=meta, title=title, line=line, text_sha256=digest)
        yield item


def read_items(filename: str, stream: IO[bytes], schema: Schema) -> Iterator[DocumentRecord | PlainDocument]:
    """Yield what :func:`read` yields, with the same checks, but plain documents as bare tuples.

    A record without a layer comes as a :data:`PlainDocument` tuple instead of
    a :class:`DocumentRecord` (the importer's fast road: no object and no
    empty annotation lists per document); any other record as :func:`read`
    yields it.

    :raise FormatError: ``file:line: reason`` for the first bad line.
    """
    stem = stem_id(filename)
    # id -> SHA-256 of its text, and the line that first gave it (kept flat:
    # no object per record); (id, layer, annotator) -> line, a plain record's key being its id.
    texts: dict[str, str] = {}
    first_lines: dict[str, int] = {}
    layers: dict[str | tuple[str, str | None, str | None], int] = {}
    count = 0
    for number, raw in record_lines(stream):
        try:
            record = _parse(raw, schema, f"{stem}-{number}", number)
            if type(record) is tuple:
                external_id, digest = record[0], record[5]
                layer = annotator = None
            else:
                external_id, digest = record.external_id, record.text_sha256
                layer, annotator = record.layer, record.annotator
            previous = texts.get(external_id)
            if previous is None:
                texts[external_id] = digest
                first_lines[external_id] = number
            elif previous != digest:
                raise _Bad(f"id {external_id!r} already has a different text (line {first_lines[external_id]})")
            key = external_id if layer is None else (external_id, layer, annotator)
            if key in layers:
                what = f"a {layer} layer" if layer else "a plain record"
                if annotator:
                    what += f" by {annotator!r}"
                raise _Bad(f"id {external_id!r} already has {what} (line {layers[key]})")
            layers[key] = number
        except _Bad as exc:
            raise FormatError(filename, number, str(exc)) from None
        count += 1
        yield record
    if count == 0:
        raise FormatError(filename, None, "empty file (no records)")


#: A JSON escape of a surrogate code point; only a line holding one needs the full check.
_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _holds_surrogate(value: Any) -> bool:
    """Tell whether any string (or key) in a parsed JSON value holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _parse(raw: bytes, schema: Schema, default_id: str, number: int) -> DocumentRecord | PlainDocument:
    """Decode, parse and check one line (a record without a layer comes as a :data:`PlainDocument`).

    :raise _Bad: with the reason.
    """
    try:
        line = decode_utf8(raw)
    except Undecodable as exc:
        raise _Bad(exc.reason) from None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _Bad(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise _Bad("the JSON nests too deep") from None
    if not isinstance(obj, dict):
        raise _Bad("a record must be a JSON object")
    if _SURROGATE_ESCAPE.search(raw) and _holds_surrogate(obj):
        raise _Bad("a lone surrogate (\\ud800-\\udfff) is not text")
    external_id = obj.get("id")
    if external_id is None:
        external_id = default_id
    elif isinstance(external_id, bool) or not isinstance(external_id, (str, int)) or str(external_id).strip() == "":
        raise _Bad(f"id must be a non-empty string, got {external_id!r}")
    external_id = str(external_id)
    if len(external_id) > 300:
        raise _Bad("id is longer than 300 characters")
    text = obj.get("text")
    if not isinstance(text, str):
        raise _Bad(f"text must be a string, got {type(text).__name__}")
    if not text:
        raise _Bad("text is empty")
    if "\x00" in text:
        raise _Bad("text contains a NUL character (\\u0000)")
    meta = obj.get("meta") or {}
    if not isinstance(meta, dict):
        raise _Bad("meta must be an object")
    title = obj.get("title", meta.get("title")) or ""
    if not isinstance(title, str):
        raise _Bad("title must be a string")
    layer = obj.get("layer")
    if layer is not None and layer not in LAYERS:
        raise _Bad(f"unknown layer {layer!r} (use gold, annotator, prediction or none)")
    annotator = obj.get("annotator")
    if annotator is not None and (not isinstance(annotator, str) or not annotator.strip()):
        raise _Bad("annotator must be a name")
    if layer == "annotator" and not annotator:
        raise _Bad("an annotator record needs the annotator's name")
    if layer == "prediction" and not annotator:
        raise _Bad("a prediction record needs the model's name in 'annotator'")
    if layer is None and not ("spans" in obj or "relations" in obj or "attributions" in obj or "doc_labels" in obj):
        # A plain document (the common case): none of the checks below applies.
        return (external_id, text, meta, title, number, text_sha256(text))
    if layer in (None, "gold"):
        annotator = None
    spans_raw = _list(obj, "spans")
    relations_raw = _list(obj, "relations")
    attributions_raw = _list(obj, "attributions")
    doc_labels = _list(obj, "doc_labels")
    if layer is None and (spans_raw or relations_raw or attributions_raw):
        raise _Bad("a record with spans, relations or attributions needs a layer (gold, annotator or prediction)")
    if doc_labels:
        raise _Bad(f"doc_labels {doc_labels[:3]!r}: this project's schema has no document labels")
    if layer is None:
        return (external_id, text, meta, title, number, text_sha256(text))
    # On a layer record, meta.note is that layer's note on the document, not the document's metadata.
    note = ""
    if "note" in meta:
        meta = {key: value for key, value in meta.items() if key != "note"}
        try:
            note = check_note(obj["meta"]["note"])
        except AnnotationError as exc:
            raise _Bad(f"meta.note: {exc}") from None
    spans = [_span(schema, text, item, i) for i, item in enumerate(spans_raw, 1)]
    labels = _unique_ids("span", [s.id for s in spans], {s.id: s.label for s in spans})
    relations = [_relation(schema, item, i, labels) for i, item in enumerate(relations_raw, 1)]
    _unique_ids("relation", [r.id for r in relations], {})
    attributions = [_attribution(schema, item, i, labels) for i, item in enumerate(attributions_raw, 1)]
    _unique_ids("attribution", [a.id for a in attributions], {})
    _check_chains(attributions)
    return DocumentRecord(
        external_id=external_id,
        text=text,
        meta=meta,
        title=title,
        layer=layer,
        annotator=annotator.strip() if annotator else None,
        spans=spans,
        relations=relations,
        attributions=attributions,
        doc_labels=[],
        line=number,
        text_sha256=text_sha256(text),
        note=note,
    )


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    """Return ``obj[key]`` when it is a list (missing or null: empty)."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(f"{key} must be a list")
    return value


def _ref_id(kind: str, item: dict[str, Any], position: int, prefix: str) -> str:
    """Return an item's id as a string (``T1``, ``R2`` ... when it has none)."""
    value = item.get("id")
    if value is None:
        return f"{prefix}{position}"
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise _Bad(f"{kind} {position}: id must be a string, got {value!r}")
    if len(str(value)) > 64:
        raise _Bad(f"{kind} {position}: id is longer than 64 characters")
    return str(value)


def _attrs(kind: str, name: str, item: dict[str, Any]) -> dict[str, Any]:
    """Return an item's attrs (an object; missing or null: empty)."""
    attrs = item.get("attrs")
    if attrs is None:
        return {}
    if not isinstance(attrs, dict):
        raise _Bad(f"{kind} {name}: attrs must be an object")
    return attrs


def _split_note(kind: str, name: str, attrs: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Return ``attrs`` without ``note``, and the note (``attrs.note`` carries an item's note)."""
    if "note" not in attrs:
        return attrs, ""
    rest = dict(attrs)
    try:
        return rest, check_note(rest.pop("note"))
    except AnnotationError as exc:
        raise _Bad(f"{kind} {name}: {exc}") from None


def _provenance(kind: str, name: str, item: dict[str, Any]) -> dict[str, Any] | None:
    """Return an item's provenance (an object or None)."""
    value = item.get("provenance")
    if value is not None and not isinstance(value, dict):
        raise _Bad(f"{kind} {name}: provenance must be an object")
    return value


def _span(schema: Schema, text: str, item: Any, position: int) -> SpanRecord:
    """Check and convert one span."""
    if not isinstance(item, dict):
        raise _Bad(f"span {position} must be an object")
    span_id = _ref_id("span", item, position, "T")
    quote = item.get("text")
    if quote is not None and not isinstance(quote, str):
        raise _Bad(f"span {span_id}: text must be a string")
    attrs, note = _split_note("span", span_id, _attrs("span", span_id, item))
    try:
        check_span(schema, text, item.get("label"), item.get("start"), item.get("end"), attrs, quote=quote)
    except AnnotationError as exc:
        raise _Bad(f"span {span_id}: {exc}") from None
    start, end = item["start"], item["end"]
    return SpanRecord(span_id, start, end, item["label"], text[start:end], attrs, _provenance("span", span_id, item), note)


def _relation(schema: Schema, item: Any, position: int, labels: dict[str, str]) -> RelationRecord:
    """Check and convert one relation; ``labels`` maps the record's span ids to labels."""
    if not isinstance(item, dict):
        raise _Bad(f"relation {position} must be an object")
    rel_id = _ref_id("relation", item, position, "R")
    ends = []
    for end in ("head", "tail"):
        ref = item.get(end)
        if ref is None or str(ref) not in labels:
            raise _Bad(f"relation {rel_id}: {end} {ref!r} is not a span of this record")
        ends.append(str(ref))
    attrs = _attrs("relation", rel_id, item)
    try:
        check_relation(schema, item.get("type"), labels[ends[0]], labels[ends[1]], attrs)
    except AnnotationError as exc:
        raise _Bad(f"relation {rel_id}: {exc}") from None
    return RelationRecord(rel_id, item["type"], ends[0], ends[1], attrs, _provenance("relation", rel_id, item))


def _attribution(schema: Schema, item: Any, position: int, labels: dict[str, str]) -> AttributionRecord:
    """Check and convert one attribution; ``labels`` maps the record's span ids to labels."""
    if not isinstance(item, dict):
        raise _Bad(f"attribution {position} must be an object")
    att_id = _ref_id("attribution", item, position, "A")
    source, cue, content = item.get("source"), item.get("cue"), item.get("content")
    attrs, note = _split_note("attribution", att_id, _attrs("attribution", att_id, item))
    if isinstance(content, list):
        content = [str(c) if isinstance(c, (str, int)) and not isinstance(c, bool) else c for c in content]
    source = str(source) if isinstance(source, int) and not isinstance(source, bool) else source
    cue = str(cue) if isinstance(cue, int) and not isinstance(cue, bool) else cue
    try:
        check_attribution(schema, source, cue, content, attrs)
    except AnnotationError as exc:
        raise _Bad(f"attribution {att_id}: {exc}") from None
    for role, ref in [("source", source), ("cue", cue)] + [("content", c) for c in content]:
        if ref is not None and (not isinstance(ref, str) or ref not in labels):
            raise _Bad(f"attribution {att_id}: {role} {ref!r} is not a span of this record")
    parent = item.get("parent")
    parent = str(parent) if isinstance(parent, int) and not isinstance(parent, bool) else parent
    if parent is not None and not isinstance(parent, str):
        raise _Bad(f"attribution {att_id}: parent must be an attribution id or null")
    return AttributionRecord(
        att_id, source, cue, list(content), attrs, _provenance("attribution", att_id, item), parent, note
    )


def _check_chains(attributions: list[AttributionRecord]) -> None:
    """Check that every ``parent`` names an attribution of the record and that no chain loops."""
    try:
        check_chains({a.id: a.parent for a in attributions})
    except AnnotationError as exc:
        raise _Bad(str(exc)) from None


def _unique_ids(kind: str, ids: list[str], labels: dict[str, str]) -> dict[str, str]:
    """Check that ``ids`` has no repeats; return ``labels``."""
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        for value in ids:
            if value in seen:
                raise _Bad(f"{kind} id {value!r} is used twice in this record")
            seen.add(value)
    return labels


def record_to_dict(record: DocumentRecord, schema: Schema | None = None) -> dict[str, Any]:
    """Return the JSONL form of a record (the shape :func:`read` takes back)."""

    def extra(out: dict[str, Any], provenance: dict[str, Any] | None) -> dict[str, Any]:
        """Add ``provenance`` to ``out`` when there is one."""
        if provenance is not None:
            out["provenance"] = provenance
        return out

    def noted(item: dict[str, Any], note: str) -> dict[str, Any]:
        """Carry ``note`` as the export records do (folded into attrs by :func:`with_notes`)."""
        if note:
            item["note"] = note
        return item

    out: dict[str, Any] = {
        "id": record.external_id,
        "text": record.text,
        "meta": dict(record.meta, title=record.title) if record.title else dict(record.meta),
        "layer": record.layer,
        "annotator": record.annotator,
        "spans": [
            noted(extra({"id": s.id, "start": s.start, "end": s.end, "label": s.label, "text": s.text, "attrs": s.attrs},
                        s.provenance), s.note)
            for s in record.spans
        ],
        "relations": [
            extra({"id": r.id, "type": r.type, "head": r.head, "tail": r.tail, "attrs": r.attrs}, r.provenance)
            for r in record.relations
        ],
        "attributions": [
            noted(extra(
                {"id": a.id, "source": a.source, "cue": a.cue, "content": list(a.content), "attrs": a.attrs,
                 **({"parent": a.parent} if a.parent is not None else {})},
                a.provenance,
            ), a.note)
            for a in record.attributions
        ],
        "doc_labels": list(record.doc_labels),
        "text_sha256": text_sha256(record.text),
        "format_version": FORMAT_VERSION,
    }
    if schema is not None:
        out["schema"] = {"name": schema.name, "version": schema.version}
    if record.layer is not None:
        out["note"] = record.note
    return with_notes(out)


def dumps(record: dict[str, Any]) -> str:
    """Return one record as one line of JSON (UTF-8 characters kept, no trailing newline)."""
    return _encode(record)


#: ``json.dumps(value, ensure_ascii=False)`` without making an encoder per call.
_encode = json.JSONEncoder(ensure_ascii=False).encode


def with_notes(record: dict[str, Any]) -> dict[str, Any]:
    """Return an export record with its notes where this format keeps them.

    Export records carry notes as ``note`` keys (on a layer record for the
    layer's note on the document, even when empty; on spans and attributions
    where there is one); JSONL keeps them in ``attrs.note`` and, for a layer
    record, ``meta.note`` (where a document's own ``note`` metadata gives
    way: it stays in the plain record). Applying it twice changes nothing.
    """
    if record.get("layer") is None:
        return record
    out = dict(record)
    if "note" in out:
        note = out.pop("note")
        meta = {key: value for key, value in (out.get("meta") or {}).items() if key != "note"}
        if note:
            meta["note"] = note
        out["meta"] = meta

    def fold(item: dict[str, Any]) -> dict[str, Any]:
        if not item.get("note"):
            return item
        folded = {key: value for key, value in item.items() if key != "note"}
        folded["attrs"] = {**(item.get("attrs") or {}), "note": item["note"]}
        return folded

    out["spans"] = [fold(s) for s in out.get("spans", [])]
    out["attributions"] = [fold(a) for a in out.get("attributions", [])]
    return out


def write(records: Iterable[dict[str, Any]], fh: IO[str], context: Any = None) -> int:
    """Write export records to ``fh``, one per line with a trailing newline; return how many."""
    count = 0
    lines: list[str] = []
    for record in records:
        lines.append(dumps(with_notes(record)))
        count += 1
        if len(lines) == 256:
            lines.append("")
            fh.write("\n".join(lines))
            lines = []
    if lines:
        lines.append("")
        fh.write("\n".join(lines))
    return count


def write_documents(batches: Iterable[list[ExportDocument]], fh: IO[str], context: Any) -> int:
    """Write the records of export documents (batches of them) to ``fh`` as :func:`write` would; return how many.

    The export's road for JSONL: lines built by :class:`Encoder` straight from
    the documents, one write per batch.
    """
    schema = context.schema
    encoder = Encoder({"name": schema.name, "version": schema.version})
    count = 0
    for batch in batches:
        lines: list[str] = []
        for document in batch:
            lines.extend(encoder.lines(document))
        if lines:
            count += len(lines)
            lines.append("")
            fh.write("\n".join(lines))
    return count


class Encoder:
    """The JSONL lines of export documents, built from their parts without building the records.

    ``Encoder(schema_ref).lines(document)`` gives, byte for byte, what
    :func:`write` writes for the records ``records.export_dicts(document, ...)``
    yields (``dumps(with_notes(record))`` each), but concatenates pieces
    encoded once (the schema, the text, the metadata) instead of building a
    dict per record, span and attribution and walking them with ``json``:
    the export's common case, several times faster. Anything unusual in
    ``attrs``, ``meta`` or ``provenance`` goes through :func:`dumps` itself.
    """

    def __init__(self, schema_ref: dict[str, Any]) -> None:
        self._tail = f', "doc_labels": [], "schema": {dumps(schema_ref)}, "text_sha256": "'
        self._end = f'", "format_version": {FORMAT_VERSION}}}'

    def lines(self, document: ExportDocument) -> list[str]:
        """Return the lines (without newlines) of ``document``'s records, in order.

        A layer that carries its line already (``ExportLayer.line``, stored by
        an earlier export) gives that line as it is.
        """
        out: list[str] = []
        ends = None
        if document.plain_line is not None:
            out.append(document.plain_line)
        elif document.plain:
            ends = self._ends(document)
            out.append(self._plain_line(document, *ends))
        for layer in document.layers:
            if layer.line is not None:
                out.append(layer.line)
                continue
            if ends is None:
                ends = self._ends(document)
            out.append(self._layer_line(document, layer, *ends))
        return out

    def plain_line(self, document: ExportDocument) -> str:
        """Return the line (without newline) of ``document``'s plain record (text and meta, no layer)."""
        return self._plain_line(document, *self._ends(document))

    def _plain_line(self, document: ExportDocument, head: str, tail: str, _plain_text: bool) -> str:
        """Return the plain record's line from the parts :meth:`_ends` gives."""
        return head + _object(document.meta) + ', "layer": null, "annotator": null, "spans": [], "relations": [], "attributions": []' + tail

    def layer_line(self, document: ExportDocument, layer: ExportLayer) -> str:
        """Return the line (without newline) of ``layer``, one of ``document``'s layers."""
        return self._layer_line(document, layer, *self._ends(document))

    def _ends(self, document: ExportDocument) -> tuple[str, str, bool]:
        """Return what every line of ``document`` starts with (up to its meta), what it ends with, and whether its text needs no escapes."""
        quoted_text = _string(document.text)
        head = '{"id": ' + _string(document.external_id) + ', "text": ' + quoted_text + ', "meta": '
        # A text with nothing to escape has nothing to escape in any slice either.
        return head, self._tail + document.text_sha256 + self._end, len(quoted_text) == len(document.text) + 2

    def _layer_line(self, document: ExportDocument, layer: ExportLayer, head: str, tail: str, plain_text: bool) -> str:
        """Return the line of ``layer`` from the parts :meth:`_ends` gives."""
        text = document.text
        meta = document.meta
        if layer.note or "note" in meta:
            layer_meta = {key: value for key, value in meta.items() if key != "note"}
            if layer.note:
                layer_meta["note"] = layer.note
            encoded_meta = _object(layer_meta)
        else:
            encoded_meta = _object(meta)
        spans = [
            f'{{"id": {_string(uid)}, "start": {s}, "end": {e}, "label": {_string(label)}, "text": '
            f'{_QUOTE + text[s:e] + _QUOTE if plain_text else _string(text[s:e])}, "attrs": {_noted(attrs, note)}'
            f'{"" if prov is None else _provenance_key(prov)}}}'
            for uid, s, e, label, attrs, prov, note in layer.spans
        ]
        relations = [
            f'{{"id": {_string(uid)}, "type": {_string(rtype)}, "head": {_string(head_id)}, "tail": {_string(tail_id)}, '
            f'"attrs": {_object(attrs)}{"" if prov is None else _provenance_key(prov)}}}'
            for uid, rtype, head_id, tail_id, attrs, prov in layer.relations
        ]
        attributions = [
            f'{{"id": {_string(uid)}, "source": {_nullable(source)}, "cue": {_nullable(cue)}, '
            f'"content": [{", ".join(map(_string, content))}], "attrs": {_noted(attrs, note)}'
            f'{"" if parent is None else _PARENT + _string(parent)}{"" if prov is None else _provenance_key(prov)}}}'
            for uid, source, cue, content, attrs, prov, parent, note in layer.attributions
        ]
        return (
            f'{head}{encoded_meta}, "layer": {_string(layer.kind)}, "annotator": {_nullable(layer.annotator)}, '
            f'"status": {_string(layer.status)}, "spans": [{", ".join(spans)}], "relations": [{", ".join(relations)}], '
            f'"attributions": [{", ".join(attributions)}]{tail}'
        )


_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes for a str
_QUOTE = '"'
_PARENT = ', "parent": '


def _provenance_key(provenance: dict[str, Any]) -> str:
    """Encode an item's ``provenance`` key."""
    return ', "provenance": ' + _object(provenance)


def _nullable(value: str | None) -> str:
    """Encode a string or None."""
    return "null" if value is None else _string(value)


def _object(value: Any) -> str:
    """Encode a JSON object (``{}`` without asking ``json``)."""
    return "{}" if value == {} else dumps(value)


def _noted(attrs: dict[str, Any], note: str | None) -> str:
    """Encode ``attrs`` with the annotator's note folded in as :func:`with_notes` does."""
    if note:
        return dumps({**attrs, "note": note})
    return "{}" if attrs == {} else dumps(attrs)
