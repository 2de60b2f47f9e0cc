"""String recommenders: what was labelled before (gold, the viewer's own layers), and a curator's gazetteer (pure).

Both find known strings in a document at token boundaries (the tokens of
:func:`workbench.domain.offsets.tokens`, so "Lind" is never found inside
"Lindqvist") and match case-sensitively, as the string was written.
"""

from __future__ import annotations

from collections.abc import Iterator

from workbench.domain.offsets import tokens as tokenize
from workbench.recommenders import Context
from workbench.recommenders import SpanSuggestion

#: Strings longer than this many tokens are not looked for (claims are sentences, not names).
MAX_TOKENS = 8
#: The most characters a gazetteer line's text may have.
MAX_ENTRY = 200


class GazetteerError(ValueError):
    """A gazetteer file does not parse; the message names the line."""


class StringIndex:
    """Known strings by their first token, so a document is read once whatever their number.

    :param strings: surface string -> [(label, score)].
    """

    def __init__(self, strings: dict[str, list[tuple[str, float]]]) -> None:
        self.strings = strings
        self.by_first: dict[str, list[tuple[int, str]]] = {}
        for string in strings:
            toks = tokenize(string)
            if not toks or len(toks) > MAX_TOKENS:
                continue
            first = string[toks[0][0] : toks[0][1]]
            self.by_first.setdefault(first, []).append((len(toks), string))

    def find(self, text: str, doc_tokens: list[tuple[int, int]]) -> Iterator[SpanSuggestion]:
        """Yield a suggestion for every occurrence of a known string that starts and ends on token edges."""
        if not self.by_first:
            return
        for i, (start, end) in enumerate(doc_tokens):
            candidates = self.by_first.get(text[start:end])
            if not candidates:
                continue
            for count, string in candidates:
                last = i + count - 1
                if last >= len(doc_tokens):
                    continue
                stop = doc_tokens[last][1]
                if text[start:stop] != string:
                    continue
                for label, score in self.strings[string]:
                    yield SpanSuggestion(label, start, stop, score)


class LearnedStrings:
    """Suggests a string wherever it occurs again once annotators have labelled it.

    The score of (string, label) is the share of the string's labelled
    occurrences that had that label: a string labelled PERSON 3 times and
    ORG once is suggested as PERSON with 0.75 and ORG with 0.25.
    """

    name = "recommender"

    def suggest(self, context: Context) -> list[SpanSuggestion]:
        """Return the known strings found in ``context.text``, scored as the class says."""
        index = context.memo.get(self.name)
        if not isinstance(index, StringIndex):
            strings: dict[str, list[tuple[str, float]]] = {}
            for string, counts in context.examples.items():
                total = sum(counts.values())
                labels = [(label, n / total) for label, n in counts.items() if n > 0 and context.schema.label(label) is not None]
                if total and labels and string.strip() == string:
                    strings[string] = labels
            index = context.memo[self.name] = StringIndex(strings)
        return list(index.find(context.text, context.tokens))


class Gazetteer:
    """Suggests the strings of the project's gazetteer (score 1)."""

    name = "gazetteer"

    def suggest(self, context: Context) -> list[SpanSuggestion]:
        """Return the gazetteer's strings found in ``context.text``."""
        index = context.memo.get(self.name)
        if not isinstance(index, StringIndex):
            strings = {
                text: [(label, 1.0) for label in labels if context.schema.label(label) is not None]
                for text, labels in context.gazetteer.items()
            }
            index = context.memo[self.name] = StringIndex({k: v for k, v in strings.items() if v})
        return list(index.find(context.text, context.tokens))


def parse_gazetteer(name: str, data: str, known_labels: set[str]) -> list[tuple[str, str]]:
    """Return the ``(text, label)`` entries of a gazetteer file, all or nothing.

    One entry per line: the text, a tab, the label.  Blank lines and lines
    starting with ``#`` are skipped; duplicates count once.

    :raise GazetteerError: ``name:line: reason`` for the first bad line.
    """
    out: dict[tuple[str, str], None] = {}
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise GazetteerError(f"{name}:{number}: expected 'text<TAB>LABEL', got {len(parts)} tab-separated field(s)")
        text, label = parts[0].strip(), parts[1].strip()
        if not text:
            raise GazetteerError(f"{name}:{number}: the text is empty")
        if len(text) > MAX_ENTRY:
            raise GazetteerError(f"{name}:{number}: the text is longer than {MAX_ENTRY} characters")
        if len(tokenize(text)) > MAX_TOKENS:
            raise GazetteerError(f"{name}:{number}: the text has more than {MAX_TOKENS} tokens")
        if label not in known_labels:
            raise GazetteerError(f"{name}:{number}: label {label!r} is not in the project's schema")
        out[(text, label)] = None
    return list(out)
