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
from collections.abc import Iterable
from typing import IO
from typing import Any

from workbench.domain.offsets import TOKEN_RE
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
    """Write the records as one DocBin (see the module); return how many."""
    import spacy  # noqa: PLC0415 (optional dependency, imported when used)
    from spacy.tokens import Doc
    from spacy.tokens import DocBin

    context = context or ExportContext()
    kind_of = {label.name: label.kind for label in context.schema.labels} if context.schema is not None else {}
    vocab = spacy.blank("xx").vocab
    docbin = DocBin(store_user_data=True)
    count = 0
    for record in records:
        words, spaces = words_and_spaces(record["text"])
        doc = Doc(vocab, words=words, spaces=spaces)
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
        docbin.add(doc)
        count += 1
    fh.write(docbin.to_bytes())
    return count
