"""Recommenders: what suggests spans and attributions to annotators (pure: standard library and domain only).

A recommender is any object with a ``name`` and a ``suggest(context)``
method that returns :class:`SpanSuggestion` and
:class:`AttributionSuggestion` items for one document (see
:class:`Recommender`).  The built-in ones need no model:

- ``recommender``: strings labelled before (for an annotator: in gold and their own layers only),
  found again wherever they occur (``dictionary.py``);
- ``gazetteer``: the same matcher over a curator's list of ``text<TAB>LABEL``
  lines (``dictionary.py``);
- ``attribution``: quotation marks, cue verbs and speaker patterns, in English
  and Russian, as source / cue / content triples (``attribution.py``).

Another recommender (a spaCy pipeline, a model behind HTTP) plugs in with
:func:`register`, or from an installed package through the entry point group
``workbench.recommenders`` (a zero-argument callable returning the
recommender); see docs/suggestions.md.  Offsets are code points of the
document's text; word boundaries are the tokens of
:func:`workbench.domain.offsets.tokens`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Protocol
from typing import runtime_checkable

from workbench.domain.schema import Schema

#: The entry point group a package registers its recommenders under.
ENTRY_POINT_GROUP = "workbench.recommenders"


@dataclass(frozen=True)
class SpanSuggestion:
    """A span a recommender proposes: label, code-point offsets, a score in [0, 1]."""

    label: str
    start: int
    end: int
    score: float = 1.0


@dataclass(frozen=True)
class AttributionSuggestion:
    """A source / cue / content triple a recommender proposes (source or cue may be None)."""

    source: SpanSuggestion | None
    cue: SpanSuggestion | None
    content: tuple[SpanSuggestion, ...]
    score: float = 0.5


Suggestion = SpanSuggestion | AttributionSuggestion


@dataclass
class Context:
    """What a recommender gets for one document.

    :param examples: surface string -> {label: times it got that label}, counted over the layers the
        viewer may learn from: gold and their own layers for an annotator (never another
        annotator's, as annotation is blind), every layer for a curator or admin.
    :param gazetteer: surface string -> labels a curator listed for it.
    :param memo: kept by the caller for as long as ``examples``, ``gazetteer`` and the
        schema stay the same (across documents and requests): a recommender may keep
        there what it derives from them (an index, a loaded model), under its own name.
    """

    text: str
    schema: Schema
    tokens: list[tuple[int, int]]
    examples: dict[str, dict[str, int]] = field(default_factory=dict)
    gazetteer: dict[str, list[str]] = field(default_factory=dict)
    memo: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Recommender(Protocol):
    """The interface: a name (the suggestion source shown to annotators and curators) and ``suggest``."""

    name: str

    def suggest(self, context: Context) -> Iterable[Suggestion]:
        """Return suggestions for ``context.text`` (offsets in code points)."""
        ...


_REGISTRY: dict[str, Callable[[], Recommender]] = {}


def register(name: str, factory: Callable[[], Recommender]) -> None:
    """Add (or replace) a recommender under ``name``; ``factory`` builds it on first use."""
    _REGISTRY[name] = factory


def names() -> list[str]:
    """Return the registered recommenders' names, built-ins first."""
    _ensure_builtins()
    return list(_REGISTRY)


_loaded: dict[str, Recommender] = {}
_plugins_read = False


def _ensure_builtins() -> None:
    """Register the built-ins, then any recommenders installed packages declare (once)."""
    global _plugins_read
    if "recommender" not in _REGISTRY:
        from workbench.recommenders.attribution import AttributionRules
        from workbench.recommenders.dictionary import Gazetteer
        from workbench.recommenders.dictionary import LearnedStrings

        _REGISTRY.setdefault("recommender", LearnedStrings)
        _REGISTRY.setdefault("gazetteer", Gazetteer)
        _REGISTRY.setdefault("attribution", AttributionRules)
    if not _plugins_read:
        _plugins_read = True
        from importlib.metadata import entry_points

        for entry in entry_points(group=ENTRY_POINT_GROUP):
            _REGISTRY.setdefault(entry.name, entry.load())


def get(name: str) -> Recommender | None:
    """Return the recommender registered as ``name`` (built once), or None."""
    _ensure_builtins()
    if name not in _loaded:
        factory = _REGISTRY.get(name)
        if factory is None:
            return None
        _loaded[name] = factory()
    return _loaded[name]


def run_all(context: Context, only: Iterable[str] | None = None) -> list[tuple[str, Suggestion]]:
    """Return ``(source name, suggestion)`` from every registered recommender (or those in ``only``).

    Suggestions whose offsets do not fit the text are dropped here, whoever made them.
    """
    out: list[tuple[str, Suggestion]] = []
    length = len(context.text)
    fits = lambda s: s is None or (isinstance(s.start, int) and isinstance(s.end, int) and 0 <= s.start < s.end <= length)  # noqa: E731
    for name in names() if only is None else list(only):
        recommender = get(name)
        if recommender is None:
            continue
        for item in recommender.suggest(context):
            if isinstance(item, SpanSuggestion) and fits(item):
                out.append((name, item))
            elif isinstance(item, AttributionSuggestion) and item.content and all(map(fits, (item.source, item.cue, *item.content))):
                out.append((name, item))
    return out
