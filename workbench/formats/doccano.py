"""doccano's JSONL, read and written (pure).

One JSON object per line: ``text``; spans as ``entities`` (``{id, label,
start_offset, end_offset}``) with ``relations`` (``{id, from_id, to_id,
type}``), or as ``label`` (``[[start, end, "LABEL"], ...]``, sequence
labelling projects).  doccano writes one file per user (``admin.jsonl``), so
a line with annotations is an annotator layer named after the file's stem,
unless the line says its ``layer`` and ``annotator`` (as the writer here
does).  A line without annotations is a plain document.  ``id`` is the
document's id (else ``<stem>-<line>``); the other fields are its meta.
doccano's offsets carry no quote: the unit (code points, UTF-16 units, CRLF
read as LF) that puts the span edges on word boundaries is chosen per
document and noted (see ``workbench.formats._foreign``).

The writer writes one line per document and layer, in code points,
attributions as ``attributed_to`` / ``introduces`` relations carrying their
attribution's id, span attributes as ``attrs``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import PurePath
from typing import IO
from typing import Any

from workbench.domain.schema import Schema
from workbench.formats._common import Undecodable
from workbench.formats._common import decode_utf8
from workbench.formats._common import record_lines
from workbench.formats._common import stem_id
from workbench.formats._foreign import RawRelation
from workbench.formats._foreign import RawSpan
from workbench.formats._foreign import ReadOptions
from workbench.formats._foreign import attribution_edges
from workbench.formats._foreign import edge_relation
from workbench.formats._foreign import build_record
from workbench.formats._foreign import user_name
from workbench.formats.records import LAYERS
from workbench.formats.records import DocumentRecord
from workbench.formats.records import ExportContext
from workbench.formats.records import FormatError

#: Fields of a line that are not meta.
KNOWN = {"id", "text", "entities", "relations", "label", "Comments", "layer", "annotator", "meta"}


def read(filename: str, stream: IO[bytes], schema: Schema, options: ReadOptions | None = None) -> Iterator[DocumentRecord]:
    """Yield the records of a doccano JSONL file (see the module).

    :raise FormatError: ``file:line: reason``.
    """
    options = options or ReadOptions()
    stem = stem_id(filename)
    user = user_name(PurePath(filename).stem, "doccano")
    count = 0
    for number, raw in record_lines(stream):

        def fail(reason: str) -> FormatError:
            return FormatError(filename, number, reason)

        try:
            obj = json.loads(decode_utf8(raw))
        except Undecodable as exc:
            raise fail(exc.reason) from None
        except json.JSONDecodeError as exc:
            raise fail(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise fail("a line must be a JSON object")
        text = obj.get("text")
        if not isinstance(text, str):
            raise fail(f"text must be a string, got {type(text).__name__}")
        raw_id = obj.get("id")
        external_id = f"{stem}-{number}" if raw_id is None or isinstance(raw_id, (bool, dict, list)) else str(raw_id)
        meta = dict(obj["meta"]) if isinstance(obj.get("meta"), dict) else {}
        meta.update({k: v for k, v in obj.items() if k not in KNOWN})
        title = meta.get("title") if isinstance(meta.get("title"), str) else ""
        spans, relations = _annotations(obj, fail)
        layer = obj.get("layer") if "layer" in obj else ("annotator" if spans or relations else None)
        if layer is not None and layer not in LAYERS:
            raise fail(f"unknown layer {layer!r}")
        annotator = obj.get("annotator") if "layer" in obj else (user if layer else None)
        if layer in ("annotator", "prediction") and (not isinstance(annotator, str) or not annotator.strip()):
            raise fail(f"a {layer} line needs the name in 'annotator'")
        count += 1
        yield build_record(
            schema, options, filename=filename, line=number, external_id=external_id, text=text, meta=meta,
            title=title, layer=layer, annotator=annotator if layer in ("annotator", "prediction") else None,
            spans=spans, relations=relations, note=_comments(obj) if layer is not None else "",
        )
    if count == 0:
        raise FormatError(filename, None, "empty file (no records)")


def _comments(obj: dict[str, Any]) -> str:
    """Return a line's ``Comments`` as one note (doccano writes them as strings or as objects with ``text``)."""
    comments = obj.get("Comments")
    if not isinstance(comments, list):
        return ""
    texts = [c if isinstance(c, str) else c.get("text") if isinstance(c, dict) else None for c in comments]
    return "\n".join(t for t in texts if isinstance(t, str) and t.strip())


def _annotations(obj: dict[str, Any], fail: Any) -> tuple[list[RawSpan], list[RawRelation]]:
    """Return the spans and relations of one line."""
    spans: list[RawSpan] = []
    relations: list[RawRelation] = []
    entities = obj.get("entities")
    labels = obj.get("label")
    if entities is not None:
        if not isinstance(entities, list):
            raise fail("entities must be a list")
        for i, ent in enumerate(entities, 1):
            if not isinstance(ent, dict):
                raise fail(f"entity {i} must be an object")
            attrs = ent.get("attrs") if isinstance(ent.get("attrs"), dict) else {}
            ent_id = ent.get("id", f"T{i}")
            note = ent.get("note") if isinstance(ent.get("note"), str) else ""
            spans.append(
                RawSpan(str(ent_id), ent.get("start_offset"), ent.get("end_offset"), ent.get("label"), None, dict(attrs), note=note)
            )
    elif labels is not None:
        if not isinstance(labels, list):
            raise fail("label must be a list")
        for i, item in enumerate(labels, 1):
            if isinstance(item, str):
                raise fail(f"document label {item!r}: this project's schema has no document labels")
            if not isinstance(item, list) or len(item) != 3:
                raise fail(f"label {i} must be [start, end, label]")
            spans.append(RawSpan(f"T{i}", item[0], item[1], item[2]))
    rels = obj.get("relations") or []
    if not isinstance(rels, list):
        raise fail("relations must be a list")
    for i, rel in enumerate(rels, 1):
        if not isinstance(rel, dict):
            raise fail(f"relation {i} must be an object")
        relations.append(
            edge_relation(
                str(rel.get("id", f"R{i}")), str(rel.get("type")), str(rel.get("from_id")), str(rel.get("to_id")),
                rel.get("attribution"),
            )
        )
    return spans, relations


def write(records: Iterable[dict[str, Any]], fh: IO[str], context: ExportContext | None = None) -> int:
    """Write one doccano line per record (see the module); return how many."""
    count = 0
    for record in records:
        fh.write(record_text(record, context))
        count += 1
    return count


def record_text(record: dict[str, Any], context: ExportContext | None = None) -> str:
    """Return one record's doccano line, newline included."""
    meta = {k: v for k, v in (record.get("meta") or {}).items() if k not in KNOWN}
    numbers = {span["id"]: i for i, span in enumerate(record["spans"], 1)}
    entities = []
    for span in record["spans"]:
        entity: dict[str, Any] = {
            "id": numbers[span["id"]],
            "label": span["label"],
            "start_offset": span["start"],
            "end_offset": span["end"],
        }
        if span.get("attrs"):
            entity["attrs"] = span["attrs"]
        if span.get("note"):
            entity["note"] = span["note"]
        entities.append(entity)
    relations: list[dict[str, Any]] = [
        {"id": i, "from_id": numbers[r["head"]], "to_id": numbers[r["tail"]], "type": r["type"]}
        for i, r in enumerate(record["relations"], 1)
    ]
    for rel_type, head, tail, extra in attribution_edges(record):
        relations.append(
            {
                "id": len(relations) + 1,
                "from_id": numbers[head],
                "to_id": numbers[tail],
                "type": rel_type,
                "attribution": extra,
            }
        )
    line: dict[str, Any] = {"id": record["id"], "text": record["text"], **meta, "entities": entities, "relations": relations}
    line["layer"] = record.get("layer")
    line["annotator"] = record.get("annotator")
    if record.get("note"):
        line["Comments"] = [record["note"]]  # the layer's note on the document
    return json.dumps(line, ensure_ascii=False) + "\n"
