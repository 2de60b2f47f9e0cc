"""rebaseOps (static/js/model.js) in Chromium: how unsaved ops land on a layer another tab changed."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

SCHEMA = {
    "labels": [{"name": "PERSON", "kind": "entity"}, {"name": "ORG", "kind": "entity"}, {"name": "CLAIM", "kind": "claim"}, {"name": "CUE", "kind": "cue"}],
    "relation_types": [{"name": "member_of", "head": ["PERSON"], "tail": ["ORG"]}],
}


def span(uid: str, label: str, start: int, end: int, **attrs: Any) -> dict[str, Any]:
    """A span as the API returns it."""
    return {"id": uid, "label": label, "start": start, "end": end, "attrs": attrs}


def layer(spans: list[dict[str, Any]], relations: list[dict[str, Any]] | None = None, attributions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A layer as the API returns it."""
    return {"id": 1, "version": 1, "status": "in_progress", "spans": spans, "relations": relations or [], "attributions": attributions or []}


@pytest.fixture
def rebase(page: Any, live: Any) -> Any:
    """Run rebaseOps(current, ops, base) in the page; returns {ops, dropped, message, layer}."""
    page.goto(f"{live.url}/login")
    page.evaluate("async () => { window.M = await import('/static/js/model.js'); }")

    def run(base: dict[str, Any] | None, current: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
        """Rebase ``ops`` (made on ``base``) onto ``current``."""
        return page.evaluate(
            """([schema, base, current, ops]) => {
                const model = new M.Model(current, schema);
                const r = M.rebaseOps(model, ops, base ? new M.Model(base, schema) : null);
                return {ops: r.ops, dropped: r.dropped.map(d => d.reason), message: M.describeDropped(r.dropped), layer: model.snapshot()};
            }""",
            [SCHEMA, base, current, ops],
        )

    return run


def test_creates_reapply_and_existing_ids_are_no_ops(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5)])
    current = layer([span("x", "PERSON", 0, 5), span("y", "ORG", 6, 9), span("mine-landed", "CLAIM", 20, 30)])
    ops = [
        {"op": "span.create", "id": "z", "label": "CLAIM", "start": 10, "end": 15, "attrs": {}},
        {"op": "span.create", "id": "mine-landed", "label": "CLAIM", "start": 20, "end": 30, "attrs": {}},
    ]
    r = rebase(base, current, ops)
    assert r["ops"] == [ops[0]] and r["dropped"] == [] and r["message"] == ""
    assert sorted(s["id"] for s in r["layer"]["spans"]) == ["mine-landed", "x", "y", "z"]


def test_deletes_of_ids_already_gone_are_no_ops(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9)], [{"id": "r", "type": "member_of", "head": "x", "tail": "o", "attrs": {}}])
    current = layer([span("o", "ORG", 6, 9)])
    ops = [{"op": "relation.delete", "id": "r"}, {"op": "span.delete", "id": "x"}]
    r = rebase(base, current, ops)
    assert r["ops"] == [] and r["dropped"] == []


def test_updates_to_deleted_items_and_links_to_deleted_spans_are_dropped(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9), span("c", "CLAIM", 10, 20)])
    current = layer([span("o", "ORG", 6, 9), span("c", "CLAIM", 10, 20)])
    ops = [
        {"op": "span.update", "id": "x", "label": "ORG"},
        {"op": "relation.create", "id": "r", "type": "member_of", "head": "x", "tail": "o", "attrs": {}},
        {"op": "attribution.create", "id": "a", "source": "x", "cue": None, "content": ["c"], "attrs": {}},
        {"op": "span.update", "id": "o", "attrs": {"note": "kept"}},
    ]
    r = rebase(base, current, ops)
    assert r["ops"] == [{"op": "span.update", "id": "o", "attrs": {"note": "kept"}}]
    assert r["dropped"] == ["span-deleted", "relation-span-deleted", "attribution-span-deleted"]
    assert r["message"] == (
        "1 change to a span deleted elsewhere was dropped; 1 relation to a span deleted elsewhere was dropped; "
        "1 attribution with a span deleted elsewhere was dropped"
    )


def test_a_span_delete_takes_links_made_elsewhere_with_it(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9)])
    current = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9)], [{"id": "r", "type": "member_of", "head": "x", "tail": "o", "attrs": {}}])
    r = rebase(base, current, [{"op": "span.delete", "id": "x"}])
    assert r["ops"] == [{"op": "relation.delete", "id": "r"}, {"op": "span.delete", "id": "x"}]
    assert r["layer"]["relations"] == [] and [s["id"] for s in r["layer"]["spans"]] == ["o"]


def test_updates_merge_field_by_field_and_clashes_are_dropped(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5, factuality="asserted"), span("y", "CLAIM", 10, 20)])
    # Elsewhere: x moved its end and got another attr; y was relabelled.
    current = layer([span("x", "PERSON", 0, 6, factuality="asserted", polarity="neg"), span("y", "CUE", 10, 20)])
    ops = [
        {"op": "span.update", "id": "x", "label": "ORG"},  # a field nobody else changed
        {"op": "span.update", "id": "x", "attrs": {"factuality": "denied"}},  # another key of attrs than elsewhere
        {"op": "span.update", "id": "y", "label": "ORG"},  # the same field, changed elsewhere too
    ]
    r = rebase(base, current, ops)
    assert r["ops"] == [
        {"op": "span.update", "id": "x", "label": "ORG"},
        {"op": "span.update", "id": "x", "attrs": {"factuality": "denied", "polarity": "neg"}},
    ]
    assert r["dropped"] == ["span-changed"]
    assert r["message"] == "1 change to a span also changed elsewhere was dropped"
    x = next(s for s in r["layer"]["spans"] if s["id"] == "x")
    assert (x["label"], x["end"], x["attrs"]) == ("ORG", 6, {"factuality": "denied", "polarity": "neg"})


def test_a_relabel_that_breaks_a_relation_made_elsewhere_is_dropped(rebase: Any) -> None:
    base = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9)])
    current = layer([span("x", "PERSON", 0, 5), span("o", "ORG", 6, 9)], [{"id": "r", "type": "member_of", "head": "x", "tail": "o", "attrs": {}}])
    r = rebase(base, current, [{"op": "span.update", "id": "x", "label": "CLAIM"}])
    assert r["ops"] == [] and r["dropped"] == ["no-fit"]
    assert next(s for s in r["layer"]["spans"] if s["id"] == "x")["label"] == "PERSON"
