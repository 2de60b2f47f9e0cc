"""spaCy's ``.spacy`` DocBin export (needs spaCy: ``pip install 'workbench[spacy]'``).

Outside ``workbench.formats`` because spaCy is not the standard library; it
is imported only when this format is written.  Each record becomes a ``Doc``
whose tokens are the dataset format's (``\\w+|[^\\w\\s]``), with white space
kept so that ``doc.text`` is the record's text exactly.  Every span goes into
``doc.spans["sc"]`` and into ``doc.spans[<kind>]`` (``entity``, ``claim``,
``cue``); entity spans also become ``doc.ents`` when none of them overlap.
``doc.user_data`` keeps the record's id, layer, annotator, meta, span ids,
relations and attributions.  A span that cuts a token is left out and
reported.
"""

from __future__ import annotations

import importlib.util
import tempfile
import zlib
from collections.abc import Iterable
from typing import IO
from typing import Any

from workbench.domain.offsets import TOKEN_RE
from workbench.errors import InvalidInput
from workbench.formats.records import ExportContext

#: What to run to get this format.
INSTALL_HINT = "pip install 'workbench[spacy]'"


def available() -> bool:
    """Tell whether spaCy is installed (without importing it)."""
    return importlib.util.find_spec("spacy") is not None


def words_and_spaces(text: str) -> tuple[list[str], list[bool]]:
    """Return spaCy ``Doc`` words and trailing-space flags whose text is ``text`` exactly.

    Tokens are the dataset format's; white space other than one space after a
    token becomes a token of its own, as spaCy does.
    """
    words: list[str] = []
    spaces: list[bool] = []

    def white(gap: str) -> None:
        """Add the white space between two tokens: one space as the flag, the rest as a token."""
        if words and gap.startswith(" ") and not spaces[-1]:
            spaces[-1] = True
            gap = gap[1:]
        if gap:
            words.append(gap)
            spaces.append(False)

    position = 0
    for match in TOKEN_RE.finditer(text):
        white(text[position : match.start()])
        words.append(match.group())
        spaces.append(False)
        position = match.end()
    white(text[position:])
    return words, spaces


def write(records: Iterable[dict[str, Any]], fh: IO[bytes], context: ExportContext | None = None) -> int:
    """Write the records as one DocBin (see the module); return how many.

    The records go into spaCy's ``DocBin`` :data:`CHUNK` documents at a
    time, and each chunk's arrays and messages are spooled (:class:`_Spool`),
    so memory holds one chunk, however many records there are; the file is
    what ``DocBin.to_bytes`` makes of them all, byte for byte.
    """
    import spacy  # noqa: PLC0415 (optional dependency, imported when used)
    from spacy.tokens import Doc
    from spacy.tokens import DocBin

    _cache_msgpack_encoders()
    context = context or ExportContext()
    kind_of = {label.name: label.kind for label in context.schema.labels} if context.schema is not None else {}
    vocab = spacy.blank("xx").vocab
    count = 0
    with _Spool() as spool:
        docbin = DocBin(store_user_data=True)
        for record in records:
            docbin.add(_doc(Doc, vocab, record, kind_of, context))
            count += 1
            if len(docbin) >= CHUNK:
                spool.take(docbin)
                docbin = DocBin(store_user_data=True)
        spool.take(docbin)
        spool.write(fh, docbin)
    return count


#: Documents in memory at a time while a DocBin is written.
CHUNK = 1000

#: Bytes read from, and inflated out of, a spooled part at a time.
BLOCK = 1 << 20

#: The most bytes a msgpack binary holds: the token arrays of a DocBin must fit (about 480,000 articles of 600 characters).
MOST_BYTES = (1 << 32) - 1


def _doc(doc_type: Any, vocab: Any, record: dict[str, Any], kind_of: dict[str, str], context: ExportContext) -> Any:
    """Return the spaCy ``Doc`` of a record (see the module), reporting a span that cuts a token."""
    words, spaces = words_and_spaces(record["text"])
    doc = doc_type(vocab, words=words, spaces=spaces)
    who = f"{record['id']} ({record.get('layer') or 'document'}{', ' + record['annotator'] if record.get('annotator') else ''})"
    kept = []
    span_ids = []
    for span in record.get("spans") or []:
        piece = doc.char_span(span["start"], span["end"], label=span["label"], alignment_mode="strict")
        if piece is None:
            context.problem(f"{who}: span {span['id']} {span['label']} {span['start']}-{span['end']} cuts a token; left out of the .spacy file")
            continue
        kept.append((kind_of.get(span["label"], "entity"), piece))
        span_ids.append(span["id"])
    doc.spans["sc"] = [piece for _kind, piece in kept]
    for kind in sorted({kind for kind, _piece in kept}):
        doc.spans[kind] = [piece for k, piece in kept if k == kind]
    entities = sorted((piece for kind, piece in kept if kind == "entity"), key=lambda p: (p.start, p.end))
    if all(a.end <= b.start for a, b in zip(entities, entities[1:])):
        doc.ents = entities
    doc.user_data.update(
        {
            "id": record["id"],
            "layer": record.get("layer"),
            "annotator": record.get("annotator"),
            "meta": record.get("meta") or {},
            "span_ids": span_ids,
            "relations": record.get("relations") or [],
            "attributions": record.get("attributions") or [],
        }
    )
    return doc


def _cache_msgpack_encoders() -> None:
    """Make srsly look its msgpack encoders up once per process, not on every message.

    Every ``srsly.msgpack_dumps`` (``DocBin.add`` makes six a document: its
    user data, its span groups and each group) asks catalogue for the
    encoders, which reads every installed package's entry points: 120-270 µs
    a call here, three quarters of a spaCy export (100,000 documents took
    210 s). Entry points do not change while a process runs; the encoders
    are the same ones, looked up once.
    """
    from srsly import msgpack  # noqa: PLC0415 (comes with spaCy)

    registry = msgpack.msgpack_encoders
    if "get_all" not in vars(registry):
        encoders = registry.get_all()
        registry.get_all = lambda: dict(encoders)  # type: ignore[method-assign]


class _Spool:
    """The parts of one DocBin message gathered a chunk at a time in temporary files (deflated), then written as one.

    ``DocBin.to_bytes`` packs a msgpack map of whole-collection fields:
    token and space arrays and lengths as binaries, and per-document lists
    (cats, flags, span groups, user data). Each part is spooled as the
    bytes msgpack would put there; :meth:`write` frames them with the
    headers msgpack writes and deflates the whole as ``zlib.compress``
    does, so the file is the same bytes ``to_bytes`` would give.
    """

    #: The binary parts (arrays), then the parts that are lists of one msgpack message per document, in DocBin's order
    #: (version, attrs, the binaries, strings, the lists).
    BINARIES = ("tokens", "spaces", "lengths")
    LISTS = ("cats", "flags", "span_groups", "user_data")

    def __enter__(self) -> _Spool:
        from srsly import msgpack  # noqa: PLC0415 (comes with spaCy)

        self.packer = msgpack.Packer(use_bin_type=True)
        self.files = {name: tempfile.TemporaryFile() for name in self.BINARIES + self.LISTS}
        self.deflaters = {name: zlib.compressobj(1) for name in self.files}
        self.sizes = dict.fromkeys(self.files, 0)
        self.documents = 0
        self.strings: set[str] = set()
        return self

    def __exit__(self, *exc: object) -> None:
        for spooled in self.files.values():
            spooled.close()

    def _put(self, name: str, data: bytes) -> None:
        self.files[name].write(self.deflaters[name].compress(data))
        self.sizes[name] += len(data)

    def take(self, docbin: Any) -> None:
        """Spool a DocBin's documents after those taken before."""
        import numpy  # noqa: PLC0415 (comes with spaCy)

        pack = self.packer.pack
        if self.sizes["tokens"] + sum(tokens.nbytes for tokens in docbin.tokens) > MOST_BYTES:
            raise InvalidInput(
                f"a .spacy file holds at most {MOST_BYTES + 1:,} bytes of token arrays, which this export passes after "
                f"{self.documents:,} documents: export it in parts (--split) or in another format"
            )
        for tokens in docbin.tokens:
            self._put("tokens", tokens.tobytes("C"))
        for spaces in docbin.spaces:
            self._put("spaces", spaces.tobytes("C"))
        self._put("lengths", numpy.asarray([len(tokens) for tokens in docbin.tokens], dtype="int32").tobytes("C"))
        for name in self.LISTS:
            self._put(name, b"".join(pack(item) for item in getattr(docbin, name)))
        self.documents += len(docbin)
        self.strings.update(docbin.strings)

    def write(self, fh: IO[bytes], docbin: Any) -> None:
        """Write the whole DocBin (``docbin`` gives its version and attributes) to ``fh``."""
        deflate = zlib.compressobj()
        pack = self.packer.pack

        def put(data: bytes) -> None:
            fh.write(deflate.compress(data))

        put(self.packer.pack_map_header(len(self.BINARIES) + len(self.LISTS) + 3))
        put(pack("version") + pack(docbin.version) + pack("attrs") + pack(docbin.attrs))
        for name in self.BINARIES:
            put(pack(name) + _bin_header(self.sizes[name]))
            self._copy(name, put)
        put(pack("strings") + pack(sorted(self.strings)))
        for name in self.LISTS:
            put(pack(name) + self.packer.pack_array_header(self.documents))
            self._copy(name, put)
        fh.write(deflate.flush())

    def _copy(self, name: str, put: Any) -> None:
        """Put a part's spooled bytes, inflated a block at a time (token arrays deflate fifty to one: each block is bounded)."""
        spooled = self.files[name]
        spooled.write(self.deflaters[name].flush())
        spooled.seek(0)
        inflate = zlib.decompressobj()
        while block := spooled.read(BLOCK):
            while block:
                put(inflate.decompress(block, BLOCK))
                block = inflate.unconsumed_tail
        put(inflate.flush())


def _bin_header(size: int) -> bytes:
    """Return msgpack's header of a binary of ``size`` bytes, in the smallest form, as msgpack writes it."""
    if size < 1 << 8:
        return b"\xc4" + size.to_bytes(1, "big")
    if size < 1 << 16:
        return b"\xc5" + size.to_bytes(2, "big")
    return b"\xc6" + size.to_bytes(4, "big")
