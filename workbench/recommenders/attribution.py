"""Attribution rules: quotation marks, cue words and speaker patterns as source / cue / content triples (pure).

No model: a sentence with a cue ("said", "told", "according to", "warned",
"заявил", "по словам", ...) gives one suggested attribution.  The source is
the short phrase just before the cue ("The mayor said", "Officials in
Lisbon warned", "Brown's spokesman told"), or just after it when nothing
stands before ("..., said Ivanov"; "according to the ministry, ...", "по
словам Иванова"); the content is the quotation nearest the cue, else the
rest of the sentence on the cue's other side ("said that X", "X, the bank
warned").  The annotator corrects what the rules get wrong; accepting
creates the spans and the attribution in one step.

Labels come from the schema: the first label of kind ``cue`` for the cue,
of kind ``claim`` for the content, and for the source the first ``entity``
label when the source is a name (capitalised words) and the first
``source`` label otherwise (falling back to the other where one is missing).
"""

from __future__ import annotations

import re

from workbench.domain.offsets import tokens as tokenize
from workbench.domain.schema import Schema
from workbench.formats.html_article import QUOTES_RE
from workbench.recommenders import AttributionSuggestion
from workbench.recommenders import Context
from workbench.recommenders import SpanSuggestion

#: Cues after which the source follows ("according to the ministry", "по словам Иванова").
CUES_BEFORE_SOURCE = (
    "according to", "citing", "quoting", "quoted by",
    "по словам", "по данным", "по информации", "по мнению", "по сведениям", "со ссылкой на", "ссылаясь на",
)
_BEFORE_SOURCE_FIRST = {c.split()[0] for c in CUES_BEFORE_SOURCE}
#: Verbs of saying and reporting, English and Russian (longest first when matched).
CUE_VERBS = (
    "said", "says", "say", "told", "tells", "tell", "reported", "reports", "warned", "warns", "added", "adds",
    "stated", "states", "announced", "announces", "claimed", "claims", "explained", "noted", "insisted",
    "argued", "confirmed", "confirms", "denied", "denies", "wrote", "writes", "acknowledged", "admitted",
    "suggested", "urged", "predicted", "estimated", "believes", "believe", "asserted", "alleged", "stressed",
    "сказал", "сказала", "сказали", "говорит", "говорят", "заявил", "заявила", "заявили", "заявляет",
    "сообщил", "сообщила", "сообщили", "сообщает", "сообщают", "сообщается", "отметил", "отметила", "отметили",
    "подчеркнул", "подчеркнула", "подчеркнули", "добавил", "добавила", "добавили", "пояснил", "пояснила",
    "рассказал", "рассказала", "рассказали", "предупредил", "предупредила", "предупредили", "признал", "признала",
    "утверждает", "утверждают", "считает", "считают", "написал", "написала", "уточнил", "уточнила",
)
_CUE_RE = re.compile(
    r"(?<!\w)(" + "|".join(re.escape(c).replace(r"\ ", r"\s+") for c in sorted(CUES_BEFORE_SOURCE + CUE_VERBS, key=len, reverse=True)) + r")(?!\w)",
    re.IGNORECASE,
)
#: Speaker phrases that name no one entity: "Brown's spokesman", "officials in Lisbon",
#: "a spokesperson for the ministry", "представитель МИД".
_CAP = r"[A-ZА-ЯЁ][\w\-.]*"
SPEAKER_PATTERNS = (
    re.compile(rf"(?:{_CAP}\s+)*{_CAP}(?:'s|’s)\s+(?:spokes(?:man|woman|person)|press\s+secretary|office|lawyers?)"),
    re.compile(rf"(?:[Aa]|[Tt]he)\s+spokes(?:man|woman|person)\s+for\s+(?:the\s+)?(?:{_CAP}\s+)*{_CAP}"),
    re.compile(rf"(?:[\w\-.]+\s+)?(?:[Oo]fficials|[Aa]uthorities|[Ss]ources|[Dd]iplomats|[Ww]itnesses|[Rr]esidents)\s+(?:in|from|at|with|close\s+to)\s+(?:the\s+)?(?:{_CAP}\s+)*{_CAP}"),
    re.compile(rf"(?:[Оо]фициальный\s+)?(?:[Пп]редставител\w*|[Пп]ресс-секретар\w*|[Ии]сточник\w*|[Чч]иновник\w*)\s+(?:в\s+)?(?:{_CAP}\s*)+"),
)
#: Where a source phrase before a cue begins: a clause edge.
_EDGE = set(",;:—–(\"“”«»„")
#: Words an after-cue source phrase stops before ("said Ivanov on Tuesday").
_STOP_AFTER = re.compile(r"\s+(?:on|at|during|in\s+a|in\s+an|yesterday|today|last|this|в|во|на|накануне|вчера|сегодня)\b", re.IGNORECASE)
#: Where a content clause after a cue starts: after "that" / "что" near the cue.
_THAT = re.compile(r"(?<!\w)(?:that|что|чтобы)(?!\w)", re.IGNORECASE)
_ABBREV = re.compile(r"(?:\b[A-ZА-ЯЁ]|Mr|Mrs|Ms|Dr|Gen|Col|Sgt|Lt|St|Prof|Sen|Rep|Gov|Jr|Sr|U\.S|т\.е|т\.д|г)$")
#: What stands before a cue when no source is named: "It was reported", "It is said".
_IMPERSONAL = re.compile(r"(?:it\s+)?(?:was|were|is|are|has\s+been|have\s+been|had\s+been)", re.IGNORECASE)
#: Cues followed by whom they were said to, and that addressee.
_TELL = {"told", "tells", "tell", "сказал", "сказала", "сказали", "рассказал", "рассказала", "рассказали"}
_TOLD_WHOM = re.compile(
    r"\s+(?:reporters|journalists|the\s+press|him|her|them|us|me|журналистам|репортёрам|репортерам|нам|ему|ей|им"
    r"|[A-ZА-ЯЁ][\w\-]*(?:\s+[A-ZА-ЯЁ][\w\-]*)*)(?=[\s,.:])"
)
#: The most tokens a source phrase may have.
MAX_SOURCE_TOKENS = 7
_SENTENCE_END = re.compile(r"[.!?…]+[\"”»]?(?=\s+[\"“«„]?[A-ZА-ЯЁ0-9])")


def sentences(text: str) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` of each sentence: lines split after ``. ! ? …`` before a capital.

    Not after an initial or a common abbreviation ("U.S.", "Mr.", "т.е.").
    """
    out: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n\r]+", text):
        start = line.start()
        for stop in _SENTENCE_END.finditer(text, line.start(), line.end()):
            if _ABBREV.search(text, start, stop.start()) and stop.group().startswith("."):
                continue
            out.append((start, stop.end()))
            start = stop.end()
        out.append((start, line.end()))
    return [(s, e) for s, e in (_trim(text, s, e) for s, e in out) if s < e]


def _trim(text: str, start: int, end: int, chars: str = "") -> tuple[int, int]:
    """Return ``[start, end)`` without white space (and ``chars``) at either end."""
    while start < end and (text[start].isspace() or text[start] in chars):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in chars):
        end -= 1
    return start, end


def _token_count(text: str, start: int, end: int) -> int:
    return len(tokenize(text[start:end]))


def _labels(schema: Schema) -> dict[str, str | None]:
    """Return the labels the rules use: cue, claim, name (an entity label) and phrase (a source label)."""
    first = {kind: next((lb.name for lb in schema.labels if lb.kind == kind), None) for kind in ("cue", "claim", "entity", "source")}
    return {
        "cue": first["cue"],
        "claim": first["claim"],
        "name": first["entity"] or first["source"],
        "phrase": first["source"] or first["entity"],
    }


class AttributionRules:
    """The rules above as a recommender (source name ``attribution``)."""

    name = "attribution"

    def suggest(self, context: Context) -> list[AttributionSuggestion]:
        """Return one suggested attribution per cue found (at most one per sentence and cue)."""
        return suggest_attributions(context.text, context.schema)


def suggest_attributions(text: str, schema: Schema) -> list[AttributionSuggestion]:
    """Return the suggested source / cue / content triples of ``text`` under ``schema``."""
    labels = _labels(schema)
    if not schema.attributions or labels["cue"] is None or labels["claim"] is None:
        return []
    quotes = []
    for match in QUOTES_RE.finditer(text):
        group = next(i for i in range(1, 5) if match.group(i) is not None)
        start, end = _trim(text, match.start(group), match.end(group), ",;:")
        if start < end:
            quotes.append((match.start(), match.end(), start, end))
    out: list[AttributionSuggestion] = []
    seen: set[tuple[int, int]] = set()
    for s_start, s_end in sentences(text):
        for cue in _CUE_RE.finditer(text, s_start, s_end):
            if any(q0 < cue.start() and cue.end() < q1 for q0, q1, _a, _b in quotes):
                continue  # a word of the quotation itself
            found = _one(text, labels, quotes, s_start, s_end, cue)
            if found is not None and (found.cue.start, found.cue.end) not in seen:  # type: ignore[union-attr]
                seen.add((found.cue.start, found.cue.end))  # type: ignore[union-attr]
                out.append(found)
    return out


def _one(
    text: str, labels: dict[str, str | None], quotes: list[tuple[int, int, int, int]], s_start: int, s_end: int, cue: re.Match[str]
) -> AttributionSuggestion | None:
    """Return the triple around one cue, or None when no content can be found."""
    c_start, c_end = cue.span()
    before_source = cue.group(1).lower().split()[0] in _BEFORE_SOURCE_FIRST
    # The clause edge before the cue: the phrase between it and the cue is the source ("the mayor said").
    edge = c_start
    while edge > s_start and text[edge - 1] not in _EDGE:
        edge -= 1
    source: tuple[int, int] | None = None
    after_source = False
    impersonal = False
    if not before_source:
        b0, b1 = _words(text, edge, c_start)
        if b0 < b1 and _IMPERSONAL.fullmatch(text[b0:b1]):
            impersonal = True  # "It was reported that ...": no source named
        elif b0 < b1 and _token_count(text, b0, b1) <= MAX_SOURCE_TOKENS:
            source = (b0, b1)
        elif b0 == b1 and edge > s_start and text[edge - 1] == ",":
            found = _before_appositive(text, s_start, edge - 1)
            if found is not None:
                source, edge = found
        else:
            # Too long for a plain phrase: a speaker pattern right before the cue still is one.
            for pattern in SPEAKER_PATTERNS:
                for match in pattern.finditer(text, edge, c_start):
                    m0, m1 = _trim(text, *match.span())
                    if m0 < m1 and not text[m1:c_start].strip():
                        source = (m0, m1)
    if source is None and before_source:
        # "по данным „Росстата“": a quoted name right after the cue is the source.
        for _q0, _q1, inner0, inner1 in quotes:
            if c_end <= _q0 and not text[c_end:_q0].strip():
                source, after_source = (inner0, inner1), True
                break
    if source is None and not impersonal:
        a0, a1 = _phrase_after(text, c_end, s_end)
        if a0 < a1 and _token_count(text, a0, a1) <= MAX_SOURCE_TOKENS + (2 if before_source else 0):
            source, after_source = (a0, a1), True
    content = _quote_near(text, quotes, c_start, c_end, source)
    quoted = content is not None
    if content is None:
        tail_from = c_end
        if cue.group(1).lower() in _TELL and not after_source:
            # "told Reuters the ...", "сказал журналистам": the person told is not the content.
            told = _TOLD_WHOM.match(text, c_end)
            if told is not None:
                tail_from = told.end()
        content = _clause(text, s_start, s_end, c_start, tail_from, edge, source, after_source)
    if content is None:
        return None
    score = 0.7 if quoted else 0.5
    cue_span = SpanSuggestion(labels["cue"], c_start, c_end, score)  # type: ignore[arg-type]
    content_span = SpanSuggestion(labels["claim"], content[0], content[1], score)  # type: ignore[arg-type]
    source_span = None
    if source is not None and not (source[0] < content[1] and content[0] < source[1]):
        label = labels["name"] if _is_name(text[source[0] : source[1]]) else labels["phrase"]
        if label is not None:
            source_span = SpanSuggestion(label, source[0], source[1], score)
    return AttributionSuggestion(source_span, cue_span, (content_span,), score)


def _before_appositive(text: str, s_start: int, comma: int) -> tuple[tuple[int, int], int] | None:
    """Return (source, its clause edge) for "Ivanov, the port's director, said": the phrase before an appositive.

    ``comma`` is the comma right before the cue; the appositive runs back to the
    comma before it and starts with a lower-case word ("the port's director",
    "директор порта").
    """
    start = comma
    while start > s_start and text[start - 1] not in _EDGE:
        start -= 1
    a0, a1 = _words(text, start, comma)
    if not (a0 < a1 and start > s_start and text[start - 1] == "," and text[a0].islower()):
        return None
    if _token_count(text, a0, a1) > MAX_SOURCE_TOKENS:
        return None
    edge = start - 1
    while edge > s_start and text[edge - 1] not in _EDGE:
        edge -= 1
    n0, n1 = _words(text, edge, start - 1)
    if n0 < n1 and _token_count(text, n0, n1) <= MAX_SOURCE_TOKENS:
        return (n0, n1), edge
    return None


def _phrase_after(text: str, start: int, s_end: int) -> tuple[int, int]:
    """Return the phrase after a cue up to the next clause edge (and before "on Tuesday", "в среду")."""
    end = start
    while end < s_end and text[end] not in _EDGE and text[end] not in ".!?…":
        end += 1
    stop = _STOP_AFTER.search(text, start, end)
    if stop is not None and stop.start() > start:
        end = stop.start()
    return _words(text, start, end)


def _words(text: str, start: int, end: int) -> tuple[int, int]:
    """Return ``[start, end)`` from its first to its last word character (a phrase without symbols around it)."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


_PRONOUNS = {"he", "she", "they", "we", "it", "он", "она", "они", "мы"}


def _is_name(phrase: str) -> bool:
    """Tell whether a phrase is a name: up to four words, each capitalised, no possessive, no pronoun."""
    words = phrase.split()
    if not words or len(words) > 4 or "'s" in phrase or "’s" in phrase or phrase.lower() in _PRONOUNS:
        return False
    return all(w[0].isupper() for w in words)


def _quote_near(
    text: str, quotes: list[tuple[int, int, int, int]], c_start: int, c_end: int, source: tuple[int, int] | None
) -> tuple[int, int] | None:
    """Return the quotation (inner offsets) next to the cue and its source: just before them, or just after."""
    lo = min(c_start, source[0]) if source else c_start
    hi = max(c_end, source[1]) if source else c_end
    best: tuple[int, tuple[int, int]] | None = None
    for q0, q1, inner0, inner1 in quotes:
        if q1 <= lo:
            gap = text[q1:lo]
        elif q0 >= hi:
            gap = text[hi:q0]
        else:
            continue
        if len(gap) > 12 or gap.strip(" ,:—–-\u00a0") != "":
            continue
        if best is None or len(gap) < best[0]:
            best = (len(gap), (inner0, inner1))
    return best[1] if best else None


_CLAUSE_EDGES = ",.;:!?…—–\"“”«»„"


def _clause(
    text: str, s_start: int, s_end: int, c_start: int, c_end: int, edge: int, source: tuple[int, int] | None,
    after_source: bool,
) -> tuple[int, int] | None:
    """Return the content clause of a cue without a quotation: the other side of the sentence.

    "X said (that) Y." gives Y; "Y, X said." and "Y, according to X." give Y;
    "According to X, Y." gives Y.
    """
    lead = _trim(text, s_start, edge, _CLAUSE_EDGES) if edge > s_start else (s_start, s_start)
    if after_source:
        if edge == s_start:
            lead = _trim(text, s_start, c_start, _CLAUSE_EDGES)
        if lead[0] < lead[1] and _token_count(text, *lead) >= 2:
            return lead
        rest = _trim(text, source[1], s_end, _CLAUSE_EDGES)  # type: ignore[index]
        return rest if rest[0] < rest[1] and _token_count(text, *rest) >= 2 else None
    tail_from = c_end
    that = _THAT.search(text, tail_from, min(s_end, tail_from + 60))
    if that is not None:
        tail_from = that.end()
    tail = _trim(text, tail_from, s_end, _CLAUSE_EDGES)
    if tail[0] < tail[1] and _token_count(text, *tail) >= (2 if that is not None else 3):
        return tail
    if lead[0] < lead[1] and _token_count(text, *lead) >= 2:
        return lead
    return None
