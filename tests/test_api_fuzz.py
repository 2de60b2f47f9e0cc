"""Property-based: whatever JSON, ids, page numbers or search words the API gets, it answers
below 500, and every error has the one error shape (Hypothesis drives the inputs)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from apiclient import ERROR_KEYS
from apiclient import Api
from factories import make_document
from factories import make_project
from factories import make_user
from hypothesis import HealthCheck
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from workbench.services import users as user_service

#: Text with the awkward cases: lone surrogates, NUL, emoji, combining marks, CRLF.
TEXT = st.lists(
    st.one_of(
        st.characters(codec=None),
        st.sampled_from(["\ud800", "\udfff", "\x00", "👩‍👧", "e\u0301", "\r\n", "%", "_", "\\"]),
    ),
    max_size=20,
).map("".join)
NUMBER = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**31, 2**63 - 1, 2**63, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALAR = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
JSON_VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
def _encodable(text: str) -> bool:
    """Tell whether ``text`` can travel in a URL (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


URL_TEXT = TEXT.filter(_encodable)
ID = st.one_of(st.integers(min_value=0, max_value=2**70), st.sampled_from([1, 2, 2**63 - 1, 2**63, 2**64]))

SPAN = st.fixed_dictionaries(
    {"op": st.sampled_from(["span.create", "span.update", "span.delete", "relation.create", "attribution.create"])},
    optional={
        "id": st.one_of(TEXT, NUMBER),
        "label": st.one_of(st.sampled_from(["PERSON", "ORG", "CLAIM"]), TEXT),
        "start": NUMBER,
        "end": NUMBER,
        "attrs": JSON_VALUE,
        "head": TEXT,
        "tail": TEXT,
        "content": JSON_VALUE,
        "text": TEXT,
    },
)
BODY = st.one_of(
    JSON_VALUE,
    st.fixed_dictionaries({}, optional={"name": TEXT, "description": JSON_VALUE, "schema": JSON_VALUE, "username": TEXT, "role": TEXT}),
    st.fixed_dictionaries(
        {"base_version": st.one_of(NUMBER, st.just(0))}, optional={"batch_id": st.one_of(TEXT, JSON_VALUE), "ops": st.lists(SPAN, max_size=4)}
    ),
    st.fixed_dictionaries({}, optional={"base_version": NUMBER, "spans": st.lists(SPAN, max_size=3), "relations": JSON_VALUE}),
    st.fixed_dictionaries({}, optional={"status": st.sampled_from(["submitted", "skipped", "in_progress", "x"]), "note": JSON_VALUE}),
    st.fixed_dictionaries(
        {"format": st.sampled_from(["jsonl", "text", "x"])},
        optional={"records": st.lists(st.dictionaries(st.sampled_from(["id", "text", "title", "meta", "spans"]), JSON_VALUE), max_size=3)},
    ),
    st.fixed_dictionaries({}, optional={"current_password": TEXT, "new_password": TEXT, "password": TEXT}),
)
ENDPOINTS = [
    ("POST", "/api/v1/projects"),
    ("GET", "/api/v1/projects/{pid}"),
    ("POST", "/api/v1/projects/{pid}/members"),
    ("DELETE", "/api/v1/projects/{pid}/members/{name}"),
    ("GET", "/api/v1/projects/{pid}/documents"),
    ("GET", "/api/v1/projects/{pid}/documents/{did}"),
    ("GET", "/api/v1/projects/{pid}/documents/{did}/annotate"),
    ("POST", "/api/v1/projects/{pid}/import"),
    ("GET", "/api/v1/projects/{pid}/next"),
    ("GET", "/api/v1/layers/{lid}"),
    ("PATCH", "/api/v1/layers/{lid}/ops"),
    ("PUT", "/api/v1/layers/{lid}"),
    ("POST", "/api/v1/layers/{lid}/status"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{tid}"),
    ("POST", "/api/v1/users/{name}/password"),
    ("POST", "/api/v1/users/{name}/deactivate"),
    ("POST", "/api/v1/me/password"),
]


@pytest.fixture
def world(api, db) -> dict[str, Any]:
    """An admin, a curator and an annotator in one project with one document and an open layer."""
    admin = make_user(db, "root", "admin")
    cur = make_user(db, "cur", "curator")
    ann = make_user(db, "ann")
    project = make_project(db, "news", members=[cur, ann])
    doc = make_document(db, project, "Nils Ek of Brine Port said the quay will close.", external_id="d1")
    tokens = {u.username: user_service.create_token(db, u, "fuzz") for u in (admin, cur, ann)}
    db.commit()
    opened = api.get(f"/api/v1/projects/{project.id}/documents/{doc.id}/annotate", token=tokens["ann"])
    return {"pid": project.id, "did": doc.id, "lid": opened.get_json()["layer"]["id"], "tokens": tokens}


def _check(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert response.mimetype == "application/json"
        body = response.get_json()
        # The one error shape (a 409 adds ``current_version``).
        assert ERROR_KEYS <= set(body) and body["ok"] is False and body["status"] == response.status_code


def _dumps(value: Any) -> bytes:
    """Encode ``value`` as a client would: lone surrogates as \\u escapes, NaN as NaN."""
    return json.dumps(value).encode("ascii")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=BODY,
    ids=st.fixed_dictionaries({"pid": ID, "did": ID, "lid": ID, "tid": ID}),
    real_ids=st.booleans(),
    who=st.sampled_from(["root", "cur", "ann"]),
    name=st.one_of(st.sampled_from(["ann", "cur", "nobody"]), st.text(alphabet="abc.-_%", min_size=1, max_size=10)),
)
def test_no_json_body_makes_a_500(api, world, endpoint, body, ids, real_ids, who, name):
    method, template = endpoint
    values = {**ids, **({k: world[k] for k in ("pid", "did", "lid")} if real_ids else {}), "name": name}
    url = template.format(**values)
    data = None if method == "GET" else _dumps(body)
    _check(api.open(method, url, world["tokens"][who], data=data, content_type="application/json"))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    # A URL carries bytes: a lone surrogate cannot be sent (the server decodes with replacement).
    q=st.one_of(URL_TEXT, st.lists(st.text(min_size=1, max_size=8), max_size=60).map(" ".join).filter(_encodable)),
    page=st.one_of(st.integers(min_value=-5, max_value=2**70).map(str), URL_TEXT),
    per_page=st.one_of(st.integers(min_value=-5, max_value=2**70).map(str), st.just("")),
)
# Digits that str.isdigit() accepts and int() refuses (Hypothesis found "²"), and more digits than int() reads.
@example(q="", page="²", per_page="")
@example(q="", page="1", per_page="٣")
@example(q="", page="9" * 5000, per_page="")
def test_no_search_or_page_makes_a_500(api, world, q, page, per_page):
    response = api.get(
        f"/api/v1/projects/{world['pid']}/documents",
        query_string={"q": q, "page": page, "per_page": per_page},
        token=world["tokens"]["cur"],
    )
    _check(response)
