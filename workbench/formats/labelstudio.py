"""Label Studio's JSON export, read and written (pure).

A file is a JSON array of tasks.  A task's ``data.text`` is the document
(``data.id``, else the task's ``id``, its id; the other data fields its
meta); each annotation in ``annotations[]`` that was not cancelled is one
layer: the gold layer when it is marked ``ground_truth``, else an annotator
layer per ``completed_by`` (named after ``created_username`` when the export
has it, else ``labelstudio-<id>``); each entry of ``predictions[]`` is a
prediction layer named after its ``model_version``.  A result of type
``labels`` is a span (one per label), a ``relation`` a relation (``left``
turned round), a ``choices`` result on a region the span's attribute
``from_name``.  Offsets are read as Label Studio counts them (UTF-16 units in
the browser) and converted (see ``workbench.formats._foreign``).

The writer writes what Label Studio imports: one task per document with its
layers as annotations (gold marked ``ground_truth``) and predictions;
attributions as ``attributed_to`` / ``introduces`` relations carrying their
attribution's id, offsets in UTF-16 units.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Iterator
from typing import IO
from typing import Any

from workbench.domain.offsets import OFFSET_UNITS
from workbench.domain.offsets import ForeignOffsets
from workbench.domain.schema import Schema
from workbench.formats._common import Undecodable
from workbench.formats._common import decode_utf8
from workbench.formats._foreign import RawRelation
from workbench.formats._foreign import RawSpan
from workbench.formats._foreign import ReadOptions
from workbench.formats._foreign import attribution_edges
from workbench.formats._foreign import edge_relation
from workbench.formats._foreign import build_record
from workbench.formats._foreign import user_name
from workbench.formats._foreign import by_document
from workbench.formats.records import DocumentRecord
from workbench.formats.records import ExportContext
from workbench.formats.records import FormatError

UTF16 = OFFSET_UNITS[1]


def read(filename: str, stream: IO[bytes], schema: Schema, options: ReadOptions | None = None) -> Iterator[DocumentRecord]:
    """Yield the records of a Label Studio JSON export (see the module).

    :raise FormatError: ``file: task N (id X): reason``.
    """
    options = options or ReadOptions()
    data = stream.read()
    try:
        tasks = json.loads(decode_utf8(data[3:] if data.startswith(b"\xef\xbb\xbf") else data))
    except Undecodable as exc:
        raise FormatError(filename, data.count(b"\n", 0, exc.position) + 1, exc.reason) from None
    except json.JSONDecodeError as exc:
        raise FormatError(filename, exc.lineno, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list) or not tasks:
        raise FormatError(filename, None, "a Label Studio export is a non-empty JSON array of tasks")
    seen: set[str] = set()
    for number, task in enumerate(tasks, 1):
        yield from _task(filename, number, task, schema, options, seen)


def _task(
    filename: str, number: int, task: Any, schema: Schema, options: ReadOptions, seen: set[str]
) -> Iterator[DocumentRecord]:
    """Yield the records of one task."""
    where = f"task {number}"

    def fail(reason: str) -> FormatError:
        return FormatError(filename, None, f"{where}: {reason}")

    if isinstance(task, dict) and "data" not in task and "annotator" in task and "text" in task:
        raise fail("this is Label Studio's JSON_MIN export, which drops relations: export the project as JSON")
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise fail("a task must be an object with 'data'")
    data = task["data"]
    text = data.get("text")
    if not isinstance(text, str):
        raise fail("data.text must be a string (the document)")
    raw_id = data.get("id", task.get("id"))
    if raw_id is None or isinstance(raw_id, (bool, dict, list)) or str(raw_id).strip() == "":
        raw_id = f"task-{number}"
    external_id = str(raw_id)
    where = f"task {number} (id {external_id})"
    if external_id in seen:
        raise fail(f"id {external_id!r} comes twice")
    seen.add(external_id)
    meta = {k: v for k, v in data.items() if k not in ("text", "id")}
    title = meta.get("title") if isinstance(meta.get("title"), str) else ""
    layers: list[tuple[str, str | None, Any]] = []
    annotations = task.get("annotations") or []
    predictions = task.get("predictions") or []
    if not isinstance(annotations, list) or not isinstance(predictions, list):
        raise fail("annotations and predictions must be lists")
    for ann in annotations:
        if not isinstance(ann, dict):
            raise fail("an annotation must be an object")
        if ann.get("was_cancelled"):
            continue
        if ann.get("ground_truth"):
            layers.append(("gold", None, ann))
        else:
            layers.append(("annotator", _annotator_name(ann), ann))
    for pred in predictions:
        if not isinstance(pred, dict):
            raise fail("a prediction must be an object")
        model = str(pred.get("model_version") or "").strip() or "labelstudio"
        layers.append(("prediction", model, pred))
    if not layers:
        yield build_record(
            schema, options, filename=filename, line=1, external_id=external_id, text=text, meta=meta, title=title,
            layer=None, annotator=None, spans=[],
        )
        return
    if sum(layer == "gold" for layer, _who, _item in layers) > 1:
        raise fail("two annotations are marked ground_truth")
    for layer, who, item in layers:
        spans, relations = _results(item.get("result") or [], fail)
        try:
            yield build_record(
                schema, options, filename=filename, line=1, external_id=external_id, text=text, meta=meta,
                title=title, layer=layer, annotator=who, spans=spans, relations=relations, note=meta_text(item),
            )
        except FormatError as exc:
            raise fail(exc.reason) from None


def meta_text(item: dict[str, Any]) -> str:
    """Return the note Label Studio keeps in an item's ``meta.text`` (a region's, or here an annotation's), "" when none."""
    meta = item.get("meta")
    lines = meta.get("text") if isinstance(meta, dict) else None
    if isinstance(lines, str):
        return lines
    if isinstance(lines, list):
        return "\n".join(line for line in lines if isinstance(line, str))
    return ""


def _annotator_name(ann: dict[str, Any]) -> str:
    """Return the user name of an annotation's author."""
    name = ann.get("created_username")
    if isinstance(name, str) and name.strip():
        name = name.split(",")[0].strip()
    else:
        who = ann.get("completed_by")
        if isinstance(who, dict):
            name = str(who.get("username") or who.get("email") or who.get("id") or "")
        else:
            name = f"labelstudio-{who}" if who is not None else "labelstudio"
    return user_name(name.split("@")[0], "labelstudio")


def _results(results: Any, fail: Any) -> tuple[list[RawSpan], list[RawRelation]]:
    """Return the spans and relations of one annotation's ``result`` list."""
    if not isinstance(results, list):
        raise fail("result must be a list")
    spans: list[RawSpan] = []
    relations: list[RawRelation] = []
    choices: list[dict[str, Any]] = []
    for item in results:
        if not isinstance(item, dict):
            raise fail("a result must be an object")
        kind = item.get("type")
        if kind == "relation":
            head, tail = str(item.get("from_id")), str(item.get("to_id"))
            if item.get("direction") == "left":
                head, tail = tail, head
            labels = item.get("labels") or []
            if not labels:
                raise fail(f"the relation {head} → {tail} has no label")
            for label in labels:
                relations.append(edge_relation(f"R{len(relations) + 1}", str(label), head, tail, item.get("attribution")))
        elif kind in ("labels", "hypertextlabels"):
            value = item.get("value")
            if not isinstance(value, dict):
                raise fail(f"region {item.get('id')!r} has no value")
            labels = value.get(kind) or value.get("labels") or []
            if not labels:
                raise fail(f"region {item.get('id')!r} has no label")
            region = str(item.get("id") or f"T{len(spans) + 1}")
            for i, label in enumerate(labels):
                quote = value.get("text")
                spans.append(
                    RawSpan(
                        region if i == 0 else f"{region}-{i + 1}",
                        value.get("start"), value.get("end"), label,
                        quote if isinstance(quote, str) else None,
                        note=meta_text(item),
                    )
                )
        elif kind == "choices":
            choices.append(item)
        else:
            raise fail(f"results of type {kind!r} cannot be imported (labels, relation and choices can)")
    by_id = {s.id: s for s in spans}
    for item in choices:
        span = by_id.get(str(item.get("id")))
        picked = (item.get("value") or {}).get("choices") or []
        if span is None:
            raise fail(f"document-level choices ({item.get('from_name')!r}) cannot be imported: the schema has no document labels")
        if picked:
            span.attrs[str(item.get("from_name"))] = picked[0]
    return spans, relations


def write(records: Iterable[dict[str, Any]], fh: IO[str], context: ExportContext | None = None) -> int:
    """Write one Label Studio task per document (see the module); return how many records went in."""
    count = 0
    fh.write(HEAD)
    users: dict[str, int] = {}
    for number, group in enumerate(by_document(records), 1):
        count += len(group)
        layers = [(r["layer"], r["annotator"], layer_text(r, context)) for r in group if r.get("layer") is not None]
        if number > 1:
            fh.write(SEPARATOR)
        fh.write(task_text(number, data_text(group[0]), layers, users))
    fh.write(TAIL)
    return count


#: What the file starts with, puts between two tasks, and ends with.
HEAD, SEPARATOR, TAIL = "[", ",\n", "]\n"
#: In an annotator's :func:`layer_text`, where the task's number for the annotator goes: a control character, which JSON text
#: never holds raw (and PostgreSQL's text can hold, unlike NUL).
GAP = "\x1f"


def data_text(record: dict[str, Any], context: ExportContext | None = None) -> str:
    """Return a task's ``data`` (the text, the id and the meta) as JSON, from any record of its document."""
    meta = {k: v for k, v in (record.get("meta") or {}).items() if k not in ("text", "id")}
    return json.dumps({"text": record["text"], "id": record["id"], **meta}, ensure_ascii=False)


def layer_text(record: dict[str, Any], context: ExportContext | None = None) -> str:
    """Return one layer of a document as a task's annotation or prediction, less the numbers the task gives it.

    A prediction is its JSON whole. An annotation is the inside of its JSON
    object after ``"id"`` (gold), or that cut where ``"completed_by"`` goes
    (:data:`GAP`, an annotator): numbers that count across the file, which
    :func:`task_text` puts in. So a layer's text depends on the layer alone,
    and an export can store it and copy it next time.
    """
    result = _result(record, ForeignOffsets(record["text"]))
    layer = record["layer"]
    if layer == "prediction":
        prediction: dict[str, Any] = {"model_version": record["annotator"], "result": result}
        if record.get("note"):
            prediction["meta"] = {"text": [record["note"]]}
        return json.dumps(prediction, ensure_ascii=False)
    annotation: dict[str, Any] = {"result": result}
    if record.get("note"):
        annotation["meta"] = {"text": [record["note"]]}  # the layer's note on the document
    if layer == "gold":
        annotation["ground_truth"] = True
        return _inside(annotation)
    who = {"created_username": record["annotator"], "ground_truth": False}
    return _inside(annotation) + GAP + _inside(who)


def _inside(fields: dict[str, Any]) -> str:
    """Return the JSON of ``fields`` without its braces (what joins with others by ``, `` into one object)."""
    return json.dumps(fields, ensure_ascii=False)[1:-1]


def task_text(number: int, data: str, layers: list[tuple[str, str | None, str]], users: dict[str, int]) -> str:
    """Return task ``number`` as JSON: its ``data`` (:func:`data_text`) and its layers ``(kind, annotator, layer_text)`` in order.

    An annotation's ``id`` is its place in the task; ``completed_by`` numbers
    the annotators in the order the file first meets them (``users``, kept
    across the file). The text is what ``json.dumps`` writes for the task.
    """
    annotations: list[str] = []
    predictions: list[str] = []
    for kind, who, text in layers:
        if kind == "prediction":
            predictions.append(text)
        elif kind == "gold":
            annotations.append(f'{{"id": {len(annotations) + 1}, {text}}}')
        else:
            before, after = text.split(GAP)
            number_of = users.setdefault(who or "", len(users) + 1)
            annotations.append(f'{{"id": {len(annotations) + 1}, {before}, "completed_by": {number_of}, {after}}}')
    return f'{{"id": {number}, "data": {data}, "annotations": [{", ".join(annotations)}], "predictions": [{", ".join(predictions)}]}}'


def _result(record: dict[str, Any], offsets: ForeignOffsets) -> list[dict[str, Any]]:
    """Return one layer's spans, attributes and relations as Label Studio results."""
    out: list[dict[str, Any]] = []
    for span in record["spans"]:
        start, end = offsets.to_unit(UTF16, span["start"], span["end"])
        value = {"start": start, "end": end, "text": span["text"]}
        item = {"id": span["id"], "from_name": "label", "to_name": "text", "type": "labels", "value": {**value, "labels": [span["label"]]}}
        if span.get("note"):
            item["meta"] = {"text": [span["note"]]}  # Label Studio's own place for a region's note
        out.append(item)
        for name, choice in sorted((span.get("attrs") or {}).items()):
            out.append(
                {"id": span["id"], "from_name": name, "to_name": "text", "type": "choices", "value": {**value, "choices": [choice]}}
            )
    for rel in record["relations"]:
        out.append({"from_id": rel["head"], "to_id": rel["tail"], "type": "relation", "direction": "right", "labels": [rel["type"]]})
    for rel_type, head, tail, extra in attribution_edges(record):
        out.append(
            {
                "from_id": head,
                "to_id": tail,
                "type": "relation",
                "direction": "right",
                "labels": [rel_type],
                "attribution": extra,
            }
        )
    return out
