"""CoNLL-style BIO export (pure, write only).

Tokens are those of the dataset format (``\\w+|[^\\w\\s]``, see
``workbench.domain.offsets.TOKEN_RE``), one per line, tab-separated: the
token, then one BIO column per label kind of the schema (``entity``,
``claim``, ``cue``), so a place named inside a claim keeps both its tags
instead of being flattened.  Each record starts with comment lines
(``# id = ...``, ``# layer = ...``, ``# annotator = ...``) and ends with a
blank line; there is no sentence split.  A span whose edges cut a token, or
that overlaps another span of the same kind, cannot be written in BIO: it is
left out and reported (``ExportContext.problems``), never moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO
from typing import Any

from workbench.domain.offsets import TOKEN_RE
from workbench.domain.offsets import token_range
from workbench.domain.schema import KINDS
from workbench.formats.records import ExportContext


def kinds_of(context: ExportContext | None) -> tuple[list[str], dict[str, str]]:
    """Return the label kinds that get a column (in schema order) and each label's kind."""
    schema = context.schema if context is not None else None
    if schema is None:
        return ["entity"], {}
    kind_of = {label.name: label.kind for label in schema.labels}
    return [k for k in KINDS if k in kind_of.values()], kind_of


def head(context: ExportContext) -> str:
    """Return what the file starts with: the comment naming the columns."""
    kinds, _kind_of = kinds_of(context)
    return "# columns = TOKEN\t" + "\t".join(k.upper() for k in kinds) + "\n\n"


def record_text(record: dict[str, Any], context: ExportContext) -> str:
    """Return one record's block (comments, a line per token, a blank line); a span BIO cannot hold is reported to ``context``."""
    kinds, kind_of = kinds_of(context)
    text = record["text"]
    words = TOKEN_RE.findall(text)
    columns = {kind: ["O"] * len(words) for kind in kinds}
    who = f"{record['id']} ({record.get('layer') or 'document'}{', ' + record['annotator'] if record.get('annotator') else ''})"
    for span in record.get("spans") or []:
        kind = kind_of.get(span["label"], kinds[0])
        covered = token_range(text, span["start"], span["end"])
        if covered is None:
            context.problem(f"{who}: span {span['id']} {span['label']} {span['start']}-{span['end']} cuts a token; left out of the CoNLL file")
            continue
        first, last = covered
        column = columns[kind]
        if column[first : last + 1].count("O") != last + 1 - first:  # a tag there already
            context.problem(
                f"{who}: span {span['id']} {span['label']} {span['start']}-{span['end']} overlaps another {kind} span; left out of the CoNLL file"
            )
            continue
        column[first] = f"B-{span['label']}"
        for i in range(first + 1, last + 1):
            column[i] = f"I-{span['label']}"
    out = [f"# id = {record['id']}\n"]
    if record.get("layer"):
        out.append(f"# layer = {record['layer']}\n")
    if record.get("annotator"):
        out.append(f"# annotator = {record['annotator']}\n")
    if words:
        # a token's line: the token and its tags, tab-separated (joined in C, a tuple per token)
        out.append("\n".join(map("\t".join, zip(words, *(columns[kind] for kind in kinds)))))
        out.append("\n")
    out.append("\n")
    return "".join(out)


def write(records: Iterable[dict[str, Any]], fh: IO[str], context: ExportContext | None = None) -> int:
    """Write each record as a block of BIO lines (see the module); return how many records."""
    context = context or ExportContext()
    fh.write(head(context))
    count = 0
    for record in records:
        fh.write(record_text(record, context))
        count += 1
    return count
