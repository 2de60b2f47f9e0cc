"""A project's label schema: span labels, relation types, attributions.

A schema is plain JSON (stored on the project) parsed into frozen
dataclasses here.  Every label has a *kind*: ``entity``, ``claim``, ``cue``
or ``source`` (who spoke, where that is not one named entity: a source span
may contain entities); agreement is computed per kind, and the annotate page stacks the
kinds in separate lanes.

Each label also says how its spans may meet other spans (checked by
:func:`workbench.domain.annotations.check_overlaps`, and in the page by
``static/js/overlap.js``):

- ``overlap``: how two spans of this same label may meet: ``"any"`` (the
  default: freely), ``"nest"`` (one inside the other, never crossing) or
  ``"none"`` (never sharing a character);
- ``contains``: which other labels (by name, or by kind) a span of this label
  may contain or partly overlap. Absent (the default): any. ``[]``: none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

KINDS = ("entity", "claim", "cue", "source")
#: How spans of one label may meet each other (see the module's docstring).
OVERLAPS = ("any", "nest", "none")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,39}$")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class SchemaError(ValueError):
    """A label schema is malformed; the message is one line."""


@dataclass(frozen=True)
class Attribute:
    """An attribute a span (or attribution) may carry, with its allowed values."""

    name: str
    values: tuple[str, ...]
    default: str | None = None


@dataclass(frozen=True)
class Label:
    """A span label."""

    name: str
    kind: str
    color: str
    hotkey: str | None = None
    description: str = ""
    attributes: tuple[Attribute, ...] = ()
    #: How two spans of this label may meet: any, nest or none.
    overlap: str = "any"
    #: Labels or kinds a span of this label may contain or partly overlap; None: any.
    contains: tuple[str, ...] | None = None

    def admits(self, other: Label) -> bool:
        """Tell whether a span of this label may contain or partly overlap a span of ``other`` (another label)."""
        return self.contains is None or other.name in self.contains or other.kind in self.contains

    def rule_text(self) -> str:
        """Say in words how spans of this label may meet others (for the guidelines)."""
        same = {
            "none": f"Two {self.name} spans never overlap.",
            "nest": f"{self.name} spans may nest (one inside another) but not cross.",
        }.get(self.overlap, f"{self.name} spans may overlap each other.")
        if self.contains is None:
            other = "It may contain or overlap spans of any other label."
        elif self.contains:
            other = f"It may contain or overlap only {', '.join(self.contains)} spans."
        else:
            other = "It may contain or overlap no span of another label."
        return f"{same} {other}"

    def attribute(self, name: str) -> Attribute | None:
        """Return the attribute called ``name``, or None."""
        return next((a for a in self.attributes if a.name == name), None)


@dataclass(frozen=True)
class RelationType:
    """A binary, directed, typed link between two spans."""

    name: str
    head: tuple[str, ...] = ()
    tail: tuple[str, ...] = ()
    description: str = ""

    def allows(self, head_label: str, tail_label: str) -> bool:
        """Tell whether a relation of this type may join these labels."""
        return (not self.head or head_label in self.head) and (not self.tail or tail_label in self.tail)


@dataclass(frozen=True)
class Schema:
    """A parsed, validated label schema."""

    name: str
    version: int
    labels: tuple[Label, ...]
    relation_types: tuple[RelationType, ...] = ()
    attributions: bool = True
    attribution_attributes: tuple[Attribute, ...] = ()
    _by_name: dict[str, Label] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({label.name: label for label in self.labels})

    def label(self, name: str) -> Label | None:
        """Return the label called ``name``, or None."""
        return self._by_name.get(name)

    def relation_type(self, name: str) -> RelationType | None:
        """Return the relation type called ``name``, or None."""
        return next((r for r in self.relation_types if r.name == name), None)

    def check_attrs(self, owner: str, attributes: tuple[Attribute, ...], attrs: dict[str, Any]) -> None:
        """Check attribute values against their allowed values.

        :raise SchemaError: naming the attribute and the value.
        """
        if not isinstance(attrs, dict):
            raise SchemaError(f"attrs of {owner} must be an object")
        known = {a.name: a for a in attributes}
        for key, value in attrs.items():
            attribute = known.get(key)
            if attribute is None:
                # Unknown attributes are kept (imports bring their own); only
                # declared ones are checked against their values.
                continue
            if attribute.values and value not in attribute.values:
                allowed = ", ".join(attribute.values)
                raise SchemaError(f"{owner} attribute {key!r} has value {value!r}; allowed: {allowed}")

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form that :func:`parse_schema` reads."""

        def attr(a: Attribute) -> dict[str, Any]:
            out: dict[str, Any] = {"name": a.name, "values": list(a.values)}
            if a.default is not None:
                out["default"] = a.default
            return out

        return {
            "name": self.name,
            "version": self.version,
            "labels": [
                {
                    "name": lb.name,
                    "kind": lb.kind,
                    "color": lb.color,
                    "hotkey": lb.hotkey,
                    "description": lb.description,
                    "attributes": [attr(a) for a in lb.attributes],
                    "overlap": lb.overlap,
                    **({"contains": list(lb.contains)} if lb.contains is not None else {}),
                }
                for lb in self.labels
            ],
            "relation_types": [
                {"name": r.name, "head": list(r.head), "tail": list(r.tail), "description": r.description}
                for r in self.relation_types
            ],
            "attributions": self.attributions,
            "attribution_attributes": [attr(a) for a in self.attribution_attributes],
        }


def _attributes(raw: Any, where: str) -> tuple[Attribute, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SchemaError(f"{where}: attributes must be a list")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise SchemaError(f"{where}: each attribute needs a name")
        values = item.get("values", [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise SchemaError(f"{where}: attribute {item['name']!r} values must be a list of strings")
        default = item.get("default")
        if default is not None and default not in values:
            raise SchemaError(f"{where}: default {default!r} of {item['name']!r} is not among its values")
        out.append(Attribute(item["name"], tuple(values), default))
    return tuple(out)


def parse_schema(raw: Any) -> Schema:
    """Parse and validate a schema from its JSON form.

    :raise SchemaError: with a one-line reason.
    """
    if not isinstance(raw, dict):
        raise SchemaError("a schema must be a JSON object")
    labels_raw = raw.get("labels")
    if not isinstance(labels_raw, list) or not labels_raw:
        raise SchemaError("a schema needs a non-empty list of labels")
    labels: list[Label] = []
    hotkeys: dict[str, str] = {}
    for i, item in enumerate(labels_raw, 1):
        if not isinstance(item, dict):
            raise SchemaError(f"label {i} must be an object")
        name = item.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise SchemaError(f"label {i}: name {name!r} must be letters, digits, _ or -, starting with a letter")
        if any(lb.name == name for lb in labels):
            raise SchemaError(f"label {name!r} is defined twice")
        kind = item.get("kind", "entity")
        if kind not in KINDS:
            raise SchemaError(f"label {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
        color = item.get("color") or _PALETTE[(i - 1) % len(_PALETTE)]
        if not isinstance(color, str) or not _COLOR_RE.match(color):
            raise SchemaError(f"label {name!r}: colour {color!r} must look like #1f77b4")
        hotkey = item.get("hotkey")
        if hotkey is not None:
            if not isinstance(hotkey, str) or len(hotkey) != 1 or not hotkey.isalnum():
                raise SchemaError(f"label {name!r}: hotkey {hotkey!r} must be one letter or digit")
            hotkey = hotkey.lower()
            if hotkey in hotkeys:
                raise SchemaError(f"labels {hotkeys[hotkey]!r} and {name!r} share the hotkey {hotkey!r}")
            hotkeys[hotkey] = name
        overlap = item.get("overlap", "any")
        if overlap not in OVERLAPS:
            raise SchemaError(f"label {name!r}: overlap {overlap!r} is not one of {', '.join(OVERLAPS)}")
        contains = item.get("contains")
        if contains is not None:
            if not isinstance(contains, list) or not all(isinstance(c, str) for c in contains):
                raise SchemaError(f"label {name!r}: contains must be a list of label names or kinds")
            contains = tuple(contains)
        labels.append(
            Label(
                name=name,
                kind=kind,
                color=color.lower(),
                hotkey=hotkey,
                description=str(item.get("description", "")),
                attributes=_attributes(item.get("attributes"), f"label {name!r}"),
                overlap=overlap,
                contains=contains,
            )
        )
    names = {lb.name for lb in labels}
    for lb in labels:
        for other in lb.contains or ():
            if other not in names and other not in KINDS:
                raise SchemaError(f"label {lb.name!r}: contains {other!r}, which is neither a label of the schema nor a kind")
    relation_types: list[RelationType] = []
    for item in raw.get("relation_types", []) or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not _NAME_RE.match(item["name"]):
            raise SchemaError("each relation type needs a name of letters, digits, _ or -")
        for end in ("head", "tail"):
            for label_name in item.get(end, []) or []:
                if label_name not in names:
                    raise SchemaError(f"relation type {item['name']!r}: {end} label {label_name!r} is not in the schema")
        relation_types.append(
            RelationType(
                item["name"],
                tuple(item.get("head", []) or []),
                tuple(item.get("tail", []) or []),
                str(item.get("description", "")),
            )
        )
    version = raw.get("version", 1)
    if not isinstance(version, int):
        raise SchemaError("schema version must be a whole number")
    return Schema(
        name=str(raw.get("name", "custom")),
        version=version,
        labels=tuple(labels),
        relation_types=tuple(relation_types),
        attributions=bool(raw.get("attributions", True)),
        attribution_attributes=_attributes(raw.get("attribution_attributes"), "attributions"),
    )


# Colour-blind-safe palette (Okabe-Ito and Tol's bright), used when a label names no colour.
_PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999")

NEWS_SCHEMA: dict[str, Any] = {
    "name": "news",
    "version": 1,
    "labels": [
        {"name": "PERSON", "kind": "entity", "overlap": "none", "color": "#0072b2", "hotkey": "p", "description": "A named person."},
        {"name": "ORG", "kind": "entity", "overlap": "none", "color": "#e69f00", "hotkey": "o", "description": "An organisation, company, agency, army or party."},
        {"name": "GPE", "kind": "entity", "overlap": "none", "color": "#009e73", "hotkey": "g", "description": "A country, city or state."},
        {"name": "LOC", "kind": "entity", "overlap": "none", "color": "#56b4e9", "hotkey": "l", "description": "A place that is not a GPE: a sea, region, border area."},
        {"name": "NORP", "kind": "entity", "overlap": "none", "color": "#cc79a7", "hotkey": "n", "description": "A nationality, religious or political group."},
        {"name": "DATE", "kind": "entity", "overlap": "none", "color": "#999999", "hotkey": "d", "description": "A date or period."},
        {"name": "WEAPON", "kind": "entity", "overlap": "none", "color": "#d55e00", "hotkey": "w", "description": "A weapon or weapon system."},
        {"name": "EVENT", "kind": "entity", "overlap": "none", "color": "#b8a000", "hotkey": "e", "description": "A named event."},
        {
            "name": "CLAIM",
            "kind": "claim",
            "overlap": "nest",
            "color": "#7b3294",
            "hotkey": "c",
            "description": "A statement that can be checked.",
            "attributes": [
                {"name": "factuality", "values": ["asserted", "hedged", "denied", "speculative"], "default": "asserted"}
            ],
        },
        {"name": "CUE", "kind": "cue", "overlap": "none", "color": "#222222", "hotkey": "u", "description": "Words that introduce a report: said, told AFP, according to."},
        {
            "name": "SOURCE",
            "kind": "source",
            "overlap": "none",
            "contains": ["entity"],
            "color": "#4b6a2e",
            "hotkey": "s",
            "description": "Who spoke, where that is not one named entity: Brown's spokesman, officials from both sides. May contain entities.",
        },
    ],
    "relation_types": [
        {"name": "member_of", "head": ["PERSON"], "tail": ["ORG", "GPE", "NORP"], "description": "A person belongs to or works for."},
        {"name": "located_in", "head": ["ORG", "GPE", "LOC", "EVENT"], "tail": ["GPE", "LOC"], "description": "Where something is."},
        {"name": "about", "head": ["CLAIM"], "tail": [], "description": "What a claim is about."},
    ],
    "attributions": True,
    "attribution_attributes": [{"name": "quote", "values": ["direct", "indirect", "mixed"]}],
}


def news_schema() -> Schema:
    """Return the built-in news schema, parsed."""
    return parse_schema(NEWS_SCHEMA)
