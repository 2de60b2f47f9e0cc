"""brat standoff, read and written (pure).

A document is a ``NAME.txt`` (the text, kept exactly) with a ``NAME.ann``
beside it, in a folder or a zip.  ``.ann`` lines:

- ``T1<TAB>LABEL START END<TAB>text``: a span; ``START END;START END`` is a
  discontinuous one, whose pieces become spans ``T1``, ``T1-2`` ... and, when
  an event names it as its content, the pieces of that attribution's content;
- ``R1<TAB>TYPE Arg1:T1 Arg2:T2``: a relation (``attributed_to`` and
  ``introduces`` make attributions, as in the other tools' formats);
- ``E1<TAB>LABEL:T2 Source:T1 Content:T3 Content2:T4 Parent:E2``: an
  attribution whose cue is the trigger ``T2``, relayed by the attribution
  ``E2`` (an event may name the event that relays it, as brat's nested events
  do); an attribution without a cue has no trigger, so the writer spells it
  as ``attributed_to`` relations, which can neither relay nor be relayed
  (the export reports such a link as left out);
- ``A1<TAB>NAME T3 VALUE``: an attribute value of a span or of an event;
- ``#1<TAB>AnnotatorNotes T3<TAB>text``: the annotator's note on a span or an
  attribution (line breaks, tabs and backslashes in it written ``\\n``,
  ``\\t``, ``\\r`` and ``\\\\``, as a brat note is one line).

Notes on relations, normalisations (``N``) and equivalences (``*``) are
skipped and noted.  A layer's note on the document has no place in brat: the
export reports it as left out.  Where the files sit says the layer: under ``gold/``,
``annotators/NAME/``, ``predictions/MODEL/`` or ``documents/`` (as the writer
here lays them out); anywhere else a ``.ann`` with annotations is the gold
layer (a brat corpus is the team's reference) and one without is a plain
document.  The file name (percent-decoded) is the document's id.

The writer writes a zip: ``annotation.conf`` from the schema and the files
of each record in its layer's folder; ids are renumbered ``T1``, ``R1``,
``E1``, ``A1`` as brat requires.
"""

from __future__ import annotations

import base64
import io
import re
import struct
import zipfile
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path
from pathlib import PurePosixPath
from typing import IO
from typing import Any

from workbench.domain.schema import Schema
from workbench.formats._common import Undecodable
from workbench.formats._common import decode_utf8
from workbench.formats._foreign import ATTRIBUTED_TO
from workbench.formats._foreign import RawAttribution
from workbench.formats._foreign import RawRelation
from workbench.formats._foreign import RawSpan
from workbench.formats._foreign import ReadOptions
from workbench.formats._foreign import build_record
from workbench.formats._foreign import file_stem
from workbench.formats._foreign import id_from_stem
from workbench.formats._foreign import layer_folder
from workbench.formats._zipwriter import CompactZipWriter
from workbench.formats._zipwriter import compress
from workbench.formats.records import DocumentRecord
from workbench.formats.records import ExportContext
from workbench.formats.records import FormatError

_RANGES_RE = re.compile(r"^\d+ \d+(?:;\d+ \d+)*$")
#: What a brat attribute's name and value may be: one word.
_WORD_RE = re.compile(r"^\S+$")
#: The most bytes of files a zip may unpack to (a zip bomb stops here).
MAX_UNPACKED = 2 * 1024**3


def read(filename: str, stream: IO[bytes], schema: Schema, options: ReadOptions | None = None) -> Iterator[DocumentRecord]:
    """Yield the records of a zip of brat files (see the module).

    :raise FormatError: ``zip/NAME.ann:line: reason``.
    """
    options = options or ReadOptions()
    if not stream.seekable():
        stream = io.BytesIO(stream.read())
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile:
        raise FormatError(filename, None, "not a zip file (brat standoff comes as a folder or a zip of .txt and .ann files)") from None
    with archive:
        infos = {info.filename: info for info in archive.infolist() if not info.is_dir()}
        if sum(info.file_size for info in infos.values()) > MAX_UNPACKED:
            raise FormatError(filename, None, "the zip unpacks to more than 2 GB")

        def load(name: str) -> bytes | None:
            return archive.read(infos[name]) if name in infos else None

        yield from _read_pairs(filename, sorted(infos), load, schema, options)


def read_folder(folder: Path, schema: Schema, options: ReadOptions | None = None) -> Iterator[DocumentRecord]:
    """Yield the records of a folder of brat files (searched recursively).

    :raise FormatError: ``folder/NAME.ann:line: reason``.
    """
    options = options or ReadOptions()
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    def load(name: str) -> bytes | None:
        path = folder / name
        return path.read_bytes() if path.is_file() else None

    yield from _read_pairs(str(folder), names, load, schema, options)


def _read_pairs(
    where: str, names: list[str], load: Any, schema: Schema, options: ReadOptions
) -> Iterator[DocumentRecord]:
    """Yield a record per ``.txt`` file among ``names`` (with its ``.ann``)."""
    count = 0
    for name in names:
        path = PurePosixPath(name)
        if path.suffix.lower() != ".txt" or path.name.startswith("."):
            continue
        ann_name = str(path.with_suffix(".ann"))
        data = load(name)
        display = f"{where}/{name}"
        try:
            text = decode_utf8(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
        except Undecodable as exc:
            raise FormatError(display, data.count(b"\n", 0, exc.position) + 1, exc.reason) from None
        layer, annotator = _layer_of(path)
        ann = load(ann_name)
        spans: list[RawSpan] = []
        relations: list[RawRelation] = []
        attributions: list[RawAttribution] = []
        if ann is not None:
            spans, relations, attributions = _parse_ann(f"{where}/{ann_name}", ann, options)
        if layer == "":
            layer = "gold" if spans else None
        if layer is None and (spans or relations or attributions):
            raise FormatError(f"{where}/{ann_name}", None, "a document under documents/ cannot carry annotations")
        count += 1
        yield build_record(
            schema, options, filename=f"{where}/{ann_name if ann is not None else name}", line=1,
            external_id=id_from_stem(path.stem), text=text, meta={"filename": path.name}, layer=layer,
            annotator=annotator, spans=spans, relations=relations, attributions=attributions,
        )
    if count == 0:
        raise FormatError(where, None, "no brat documents (.txt files with their .ann) found")


def _layer_of(path: PurePosixPath) -> tuple[str | None, str | None]:
    """Return the layer and annotator a file's folder says (``""``: not said)."""
    parts = path.parts[:-1]
    if len(parts) >= 1 and parts[-1] == "gold":
        return "gold", None
    if len(parts) >= 1 and parts[-1] == "documents":
        return None, None
    if len(parts) >= 2 and parts[-2] in ("annotators", "predictions"):
        return ("annotator" if parts[-2] == "annotators" else "prediction"), parts[-1]
    return "", None


def _parse_ann(
    name: str, data: bytes, options: ReadOptions
) -> tuple[list[RawSpan], list[RawRelation], list[RawAttribution]]:
    """Parse one ``.ann`` file."""
    try:
        content = decode_utf8(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
    except Undecodable as exc:
        raise FormatError(name, data.count(b"\n", 0, exc.position) + 1, exc.reason) from None
    spans: list[RawSpan] = []
    pieces: dict[str, list[str]] = {}
    relations: list[RawRelation] = []
    events: list[tuple[int, str, list[str]]] = []
    attributes: list[tuple[int, str, str, str, Any]] = []
    notes: list[tuple[int, str, str, str]] = []
    for number, line in enumerate(content.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        ident = fields[0]
        kind = ident[:1]
        if kind == "T":
            if len(fields) < 2 or " " not in fields[1]:
                raise FormatError(name, number, f"{ident}: a T line is ID<TAB>LABEL START END<TAB>text")
            label, ranges = fields[1].split(" ", 1)
            if not _RANGES_RE.match(ranges):
                raise FormatError(name, number, f"{ident}: offsets {ranges!r} must be START END (;START END ...)")
            quote = fields[2] if len(fields) > 2 else None
            pairs = [tuple(int(v) for v in piece.split(" ")) for piece in ranges.split(";")]
            ids = [ident] + [f"{ident}-{i}" for i in range(2, len(pairs) + 1)]
            pieces[ident] = ids
            for piece_id, (start, end) in zip(ids, pairs):
                spans.append(RawSpan(piece_id, start, end, label, quote if len(pairs) == 1 else None, loose=True))
        elif kind == "R":
            args = fields[1].split() if len(fields) > 1 else []
            if len(args) != 3 or not all(":" in a for a in args[1:]):
                raise FormatError(name, number, f"{ident}: an R line is ID<TAB>TYPE Arg1:T1 Arg2:T2")
            head, tail = (a.split(":", 1)[1] for a in args[1:])
            relations.append(RawRelation(ident, args[0], head, tail))
        elif kind == "E":
            args = fields[1].split() if len(fields) > 1 else []
            if not args or not all(":" in a for a in args):
                raise FormatError(name, number, f"{ident}: an E line is ID<TAB>TYPE:TRIGGER ROLE:ID ...")
            events.append((number, ident, args))
        elif kind in ("A", "M"):
            args = fields[1].split() if len(fields) > 1 else []
            if len(args) not in (2, 3):
                raise FormatError(name, number, f"{ident}: an A line is ID<TAB>NAME TARGET [VALUE]")
            attributes.append((number, ident, args[0], args[1], args[2] if len(args) == 3 else True))
        elif kind == "#" and len(fields) >= 2 and fields[1].split(" ")[0] == "AnnotatorNotes":
            target = fields[1].split(" ", 1)[1].strip() if " " in fields[1] else ""
            notes.append((number, ident, target, _unescape("\t".join(fields[2:]))))
        elif kind in ("#", "N", "*"):
            options.note(f"{PurePosixPath(name).name}: brat normalisations, equivalences and notes other than AnnotatorNotes were skipped")
        else:
            raise FormatError(name, number, f"unknown annotation line {ident!r} (T, R, E, A, N, # and * lines are read)")
    known = {s.id for s in spans}
    attributions: list[RawAttribution] = []
    event_ids = {ident for _number, ident, _args in events}
    parents: dict[str, str] = {}
    for number, ident, args in events:
        _type, trigger = args[0].split(":", 1)
        source: str | None = None
        content: list[str] = []
        for arg in args[1:]:
            role, ref = arg.split(":", 1)
            role = role.rstrip("0123456789").lower()
            if role == "parent":
                if ref not in event_ids:
                    raise FormatError(name, number, f"{ident}: parent {ref!r} is not an E line of this file")
                parents[ident] = ref
                continue
            if ref not in known:
                raise FormatError(name, number, f"{ident}: {ref!r} is not a T line of this file")
            if role == "source":
                source = ref
            elif role == "content":
                content.extend(pieces[ref])
            else:
                raise FormatError(name, number, f"{ident}: role {role!r} (use Source, Content and Parent)")
        if trigger not in known:
            raise FormatError(name, number, f"{ident}: trigger {trigger!r} is not a T line of this file")
        attributions.append(RawAttribution(ident, source, trigger, content, parent=parents.get(ident)))
    by_event = {a.id: a for a in attributions}
    by_span = {s.id: s for s in spans}
    for number, ident, attr, target, value in attributes:
        if target in by_event:
            by_event[target].attrs[attr] = value
        elif target in by_span:
            for piece in pieces[target]:
                by_span[piece].attrs[attr] = value
        else:
            raise FormatError(name, number, f"{ident}: {target!r} is not a T or E line of this file")
    for number, ident, target, text in notes:
        if target in by_event:
            by_event[target].note = text
        elif target in pieces:
            by_span[pieces[target][0]].note = text
        elif target.startswith("R"):
            options.note(f"{PurePosixPath(name).name}: notes on relations were skipped")
        else:
            raise FormatError(name, number, f"{ident}: the note's target {target!r} is not a T or E line of this file")
    return spans, relations, attributions


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPE_RE = re.compile(r"\\([\\nrt])")


def _escape(note: str) -> str:
    """Return a note as one line of a brat file (see the module)."""
    return "".join(_ESCAPES.get(c, c) for c in note)


def _unescape(note: str) -> str:
    """Return a note read from a brat file (the inverse of :func:`_escape`)."""
    return _UNESCAPE_RE.sub(lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)), note)


def write(records: Iterable[dict[str, Any]], fh: IO[bytes], context: ExportContext | None = None) -> int:
    """Write a zip of brat files (see the module); return how many records went in."""
    count = 0
    with _archive(fh, context) as archive:
        for record in records:
            for name, data in record_files(record, context):
                crc, size, body = compress(data)
                archive.add_compressed(_info(name), crc, size, body)
            count += 1
    return count


def record_files(record: dict[str, Any], context: ExportContext | None = None) -> list[tuple[str, bytes]]:
    """Return one record's files in the zip: its text, and its annotations when it is a layer."""
    folder = layer_folder(record)
    stem = file_stem(record["id"])
    files = [(f"{folder}/{stem}.txt", record["text"].encode("utf-8"))]
    if record.get("layer") is not None:
        files.append((f"{folder}/{stem}.ann", ann_text(record, context).encode("utf-8")))
    return files


def record_part(record: dict[str, Any], context: ExportContext | None = None) -> str:
    """Return one record's files compressed as the zip holds them, packed into a string an export can store.

    Base64 of, per file: its name's length, CRC-32, size and compressed
    length (``<HIQQ``), then the name (UTF-8) and the compressed bytes. An
    export that copies the part (:func:`write_parts`) neither builds nor
    compresses the files again.
    """
    out = bytearray()
    for name, data in record_files(record, context):
        crc, size, body = compress(data)
        encoded = name.encode("utf-8")
        out += struct.pack(_PART, len(encoded), crc, size, len(body)) + encoded + body
    return base64.b64encode(out).decode("ascii")


def write_parts(parts: Iterable[str], fh: IO[bytes], context: ExportContext | None = None) -> None:
    """Write the zip of the records whose parts (:func:`record_part`) are ``parts``: the bytes :func:`write` writes."""
    with _archive(fh, context) as archive:
        for part in parts:
            data = base64.b64decode(part)
            at = 0
            while at < len(data):
                length, crc, size, compressed = struct.unpack_from(_PART, data, at)
                at += _PART_SIZE
                name = data[at : at + length].decode("utf-8")
                at += length
                archive.add_compressed(_info(name), crc, size, data[at : at + compressed])
                at += compressed


_PART = "<HIQQ"
_PART_SIZE = struct.calcsize(_PART)


def _archive(fh: IO[bytes], context: ExportContext | None) -> CompactZipWriter:
    """Open the zip on ``fh`` and add ``annotation.conf`` (from the schema).

    A zipfile.ZipFile that keeps its central directory as packed bytes:
    memory stays flat with the records.
    """
    archive = CompactZipWriter(fh, compression=zipfile.ZIP_DEFLATED)
    if context is not None and context.schema is not None:
        archive.add(_info("annotation.conf"), annotation_conf(context.schema).encode("utf-8"))
    return archive


#: The time stamped on every file of the zip: a fixed one, so the same data gives the same bytes (and SHA-256).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _info(name: str) -> zipfile.ZipInfo:
    """Return the entry of one file of the zip: deflated, with the fixed time (``writestr`` with a name would stamp the clock's)."""
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def ann_text(record: dict[str, Any], context: ExportContext | None = None) -> str:
    """Return the ``.ann`` file of one record; a chain link brat cannot hold is reported to ``context``."""
    lines: list[str] = []
    tid = {span["id"]: f"T{i}" for i, span in enumerate(record["spans"], 1)}
    number = 0
    for span in record["spans"]:
        quote = span["text"].replace("\n", " ").replace("\r", " ").replace("\t", " ")
        lines.append(f"{tid[span['id']]}\t{span['label']} {span['start']} {span['end']}\t{quote}")
    attrs: list[tuple[str, str, Any]] = []
    notes: list[tuple[str, str]] = []
    for span in record["spans"]:
        attrs.extend((tid[span["id"]], k, v) for k, v in sorted((span.get("attrs") or {}).items()))
        if span.get("note"):
            notes.append((tid[span["id"]], span["note"]))
    if record.get("note") and context is not None:
        context.problem(f"document {record['id']!r}: the {record.get('layer')} layer's note on the document was left out: brat has no place for it")
    for i, rel in enumerate(record["relations"], 1):
        lines.append(f"R{i}\t{rel['type']} Arg1:{tid[rel['head']]} Arg2:{tid[rel['tail']]}")
    labels = {span["id"]: span["label"] for span in record["spans"]}
    number = len(record["relations"])
    atts = record.get("attributions") or []
    eid = {att["id"]: f"E{i}" for i, att in enumerate((a for a in atts if a.get("cue") is not None), 1)}
    for att in atts:
        parent = att.get("parent")
        if parent is not None and (att["id"] not in eid or parent not in eid) and context is not None:
            context.problem(
                f"document {record['id']!r}: the link from attribution {att['id']} to the attribution that relays it "
                f"({parent}) was left out: brat spells an attribution without a cue as relations, which cannot be linked"
            )
        if att.get("cue") is None:
            if (att.get("attrs") or att.get("note")) and context is not None:
                context.problem(
                    f"document {record['id']!r}: the attributes and note of attribution {att['id']} were left out: "
                    "it has no cue, and brat holds them for spans and events only"
                )
            for piece in att["content"]:
                number += 1
                lines.append(f"R{number}\t{ATTRIBUTED_TO} Arg1:{tid[piece]} Arg2:{tid[att['source']]}")
            continue
        args = [f"{labels[att['cue']]}:{tid[att['cue']]}"]
        if att.get("source") is not None:
            args.append(f"Source:{tid[att['source']]}")
        args.extend(f"Content{'' if i == 1 else i}:{tid[piece]}" for i, piece in enumerate(att["content"], 1))
        if parent is not None and parent in eid:
            args.append(f"Parent:{eid[parent]}")
        lines.append(f"{eid[att['id']]}\t{' '.join(args)}")
        attrs.extend((eid[att["id"]], k, v) for k, v in sorted((att.get("attrs") or {}).items()))
        if att.get("note"):
            notes.append((eid[att["id"]], att["note"]))
    number = 0
    for target, name, value in attrs:
        if value is not True and not (isinstance(value, str) and _WORD_RE.match(value) and _WORD_RE.match(name)):
            if context is not None:
                context.problem(
                    f"document {record['id']!r}: attribute {name} = {value!r} of {target} was left out: "
                    "a brat attribute is a name and one word, or a flag"
                )
            continue
        number += 1
        lines.append(f"A{number}\t{name} {target}" + ("" if value is True else f" {value}"))
    for i, (target, note) in enumerate(notes, 1):
        lines.append(f"#{i}\tAnnotatorNotes {target}\t{_escape(note)}")
    return "".join(line + "\n" for line in lines)


def annotation_conf(schema: Any) -> str:
    """Return brat's ``annotation.conf`` for a schema."""
    cues = [label.name for label in schema.labels if label.kind == "cue"]
    lines = ["[entities]"]
    lines.extend(label.name for label in schema.labels if label.name not in cues)
    lines.append("")
    lines.append("[relations]")
    for rel in schema.relation_types:
        head = "|".join(rel.head) or "<ANY>"
        tail = "|".join(rel.tail) or "<ANY>"
        lines.append(f"{rel.name}\tArg1:{head}, Arg2:{tail}")
    if schema.attributions:
        lines.append(f"{ATTRIBUTED_TO}\tArg1:<ANY>, Arg2:<ANY>")
    lines.append("<OVERLAP>\tArg1:<ANY>, Arg2:<ANY>, <OVL-TYPE>:<ANY>")
    lines.append("")
    lines.append("[events]")
    if schema.attributions:
        lines.extend(f"{cue}\tSource?:<ANY>, Content+:<ANY>, Parent?:{'|'.join(cues)}" for cue in cues)
    lines.append("")
    lines.append("[attributes]")
    for label in schema.labels:
        for attr in label.attributes:
            lines.append(f"{attr.name}\tArg:{label.name}, Value:{'|'.join(attr.values)}")
    for attr in schema.attribution_attributes:
        lines.append(f"{attr.name}\tArg:<EVENT>, Value:{'|'.join(attr.values)}")
    return "\n".join(lines) + "\n"
