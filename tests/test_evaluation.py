"""Evaluating an extractor: the CLI on two JSONL files, the API and the Evaluate tab against a project's gold."""

from __future__ import annotations

import io
import json

import pytest
from factories import make_document
from factories import make_project
from factories import make_user

from workbench.models import AnnotationSet
from workbench.models import Span

TEXT = "Ana Lima met Rui Costa in Porto.\r\nThey said 🚢 ships leave Braga."


def _find(needle: str) -> tuple[int, int]:
    start = TEXT.index(needle)
    return start, start + len(needle)


def record(doc_id: str, spans: list[tuple[str, str]], text: str = TEXT) -> dict:
    out = []
    for i, (label, needle) in enumerate(spans):
        s, e = _find(needle)
        out.append({"id": f"T{i}", "label": label, "start": s, "end": e, "text": needle, "attrs": {}})
    return {"id": doc_id, "text": text, "spans": out, "relations": [], "attributions": []}


GOLD = [record("d1", [("PERSON", "Ana Lima"), ("PERSON", "Rui Costa"), ("GPE", "Porto"), ("GPE", "Braga")])]
PRED = [record("d1", [("PERSON", "Ana Lima"), ("PERSON", "Rui"), ("ORG", "Porto"), ("GPE", "Braga"), ("GPE", "ships")]),
        record("zz", [("PERSON", "Ana Lima")])]


def _write(tmp_path, name, records):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_cli_scores_exact_and_overlap(runner, tmp_path):
    gold, pred = _write(tmp_path, "gold.jsonl", GOLD), _write(tmp_path, "pred.jsonl", PRED)
    result = runner.invoke(args=["evaluate", str(gold), str(pred), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    exact = data["spans"]["exact"]["micro"]
    assert (exact["tp"], exact["fp"], exact["fn"]) == (2, 3, 2)
    assert exact["precision"] == pytest.approx(2 / 5) and exact["recall"] == pytest.approx(2 / 4)
    overlap = data["spans"]["overlap"]["micro"]
    assert (overlap["tp"], overlap["fp"], overlap["fn"]) == (3, 2, 1)  # "Rui" overlaps "Rui Costa"; ORG Porto is the wrong label
    assert data["spans"]["exact"]["per_label"]["GPE"]["tp"] == 1
    assert data["documents"] == {"scored": 1, "missing_predictions": 0, "unknown_in_predictions": 1, "unknown_ids": ["zz"]}
    table = runner.invoke(args=["evaluate", str(gold), str(pred)])
    assert table.exit_code == 0 and "Spans, exact match" in table.output and "1 predicted document(s) not in gold" in table.output


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "pred.jsonl:2: not a JSON object"),
        (json.dumps({"text": "x"}), "pred.jsonl:2: a record needs an 'id'"),
        (json.dumps({"id": "d1", "text": TEXT, "spans": [{"id": "T0", "label": "PERSON", "start": 0, "end": 3, "text": "Rui"}]}),
         "pred.jsonl:2: span 'T0': span 0-3 covers 'Ana', not 'Rui'"),
        (json.dumps({"id": "d2", "text": "abc", "spans": [{"id": "T0", "label": "PERSON", "start": 0, "end": 9}]}),
         "pred.jsonl:2: span 'T0': span 0-9 lies outside the text"),
    ],
)
def test_cli_bad_predictions_get_one_line_with_file_and_line(runner, tmp_path, line, reason):
    gold = _write(tmp_path, "gold.jsonl", GOLD)
    pred = tmp_path / "pred.jsonl"
    pred.write_text(json.dumps({"id": "d9", "text": "ok"}) + "\n" + line + "\n", encoding="utf-8")
    result = runner.invoke(args=["evaluate", str(gold), str(pred)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {tmp_path}/{reason}") or reason in result.output
    assert "Traceback" not in result.output


def test_predictions_on_another_text_are_refused(runner, tmp_path):
    gold = _write(tmp_path, "gold.jsonl", GOLD)
    pred = _write(tmp_path, "pred.jsonl", [record("d1", [("PERSON", "Ana Lima")], text=TEXT.replace("\r\n", "\n"))])
    result = runner.invoke(args=["evaluate", str(gold), str(pred)])
    assert result.exit_code == 1 and "the predictions' text differs from gold's" in result.output


def test_scores_equal_seqeval_on_token_aligned_spans(tmp_path):
    seqeval = pytest.importorskip("seqeval.metrics")
    from workbench.services import evaluation

    gold_side = evaluation.read_jsonl(io.BytesIO("".join(json.dumps(r) + "\n" for r in GOLD).encode()), "gold")
    pred_side = evaluation.read_jsonl(io.BytesIO(json.dumps(PRED[0]).encode() + b"\n"), "pred")
    ours = evaluation.score(gold_side, pred_side)["spans"]["exact"]["micro"]
    from workbench.domain.offsets import tokens

    toks = tokens(TEXT)

    def bio(rec):
        tags = ["O"] * len(toks)
        for s in rec["spans"]:
            inside = [i for i, (a, b) in enumerate(toks) if a >= s["start"] and b <= s["end"]]
            for n, i in enumerate(inside):
                tags[i] = ("B-" if n == 0 else "I-") + s["label"]
        return tags

    truth, guess = [bio(GOLD[0])], [bio(PRED[0])]
    assert ours["precision"] == pytest.approx(seqeval.precision_score(truth, guess))
    assert ours["recall"] == pytest.approx(seqeval.recall_score(truth, guess))
    assert ours["f1"] == pytest.approx(seqeval.f1_score(truth, guess))


def _gold_project(db):
    cur = make_user(db, "cur", role="curator")
    ann = make_user(db, "ann")
    project = make_project(db, "news", members=[cur, ann])
    document = make_document(db, project, TEXT, external_id="d1")
    gold = AnnotationSet(document_id=document.id, kind="gold", owner_key="gold", status="adjudicated", version=1)
    db.add(gold)
    db.flush()
    for i, (label, needle) in enumerate([("PERSON", "Ana Lima"), ("PERSON", "Rui Costa"), ("GPE", "Porto"), ("GPE", "Braga")]):
        s, e = _find(needle)
        db.add(Span(set_id=gold.id, uid=f"G{i}", label=label, start=s, end=e, attrs={}))
    db.commit()
    return project


def test_api_and_page_score_predictions_against_project_gold(app, api, db):
    project = _gold_project(db)
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in PRED).encode("utf-8")
    api.login("ann")
    assert api.post(f"/api/v1/projects/{project.id}/evaluate", data=body, content_type="application/x-ndjson").status_code == 403
    curator = type(api)(app)
    curator.login("cur")
    response = curator.post(f"/api/v1/projects/{project.id}/evaluate", data=body, content_type="application/x-ndjson")
    assert response.status_code == 200, response.get_json()
    exact = response.get_json()["evaluation"]["spans"]["exact"]["micro"]
    assert (exact["tp"], exact["fp"], exact["fn"]) == (2, 3, 2)
    bad = curator.post(f"/api/v1/projects/{project.id}/evaluate", data=b"{nope\n", content_type="application/x-ndjson")
    assert bad.status_code == 400 and bad.get_json()["error"].startswith("request body:1: not a JSON object")
    page = curator.post(
        f"/projects/{project.id}/evaluate",
        data={"file": (io.BytesIO(body), "pred.jsonl"), "mode": "exact"},
        content_type="multipart/form-data",
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Where it went wrong" in html
    assert '<span class="ev ev-fn ev-fp" title="PERSON (missed); PERSON (predicted, not in gold)">Rui</span>' in html
    assert '<span class="ev ev-fn" title="PERSON (missed)"> Costa</span>' in html
    assert 'class="ev ev-fp" title="GPE (predicted, not in gold)">ships</span>' in html
    assert "🚢" in html and "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]


def test_evaluate_without_gold_says_why(app, api, db):
    make_user(db, "cur", role="curator")
    project = make_project(db, "empty", members=[])
    from workbench.services import projects as project_service
    from workbench.models import User
    from sqlalchemy import select

    project_service.add_member(db, project, db.scalar(select(User).where(User.username == "cur")))
    db.commit()
    api.login("cur")
    response = api.post(f"/api/v1/projects/{project.id}/evaluate", data=json.dumps(PRED[0]).encode(), content_type="application/x-ndjson")
    assert response.status_code == 400 and "no adjudicated document yet" in response.get_json()["error"]
