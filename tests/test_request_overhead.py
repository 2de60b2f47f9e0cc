"""Per-request overhead of a small save: the statements a one-op PATCH sends, whatever the database.

A one-span save through a token used to cost 12 statements besides
transaction control (a query for the token, another for its user, one for
the layer and one for the caller's role among them); the token now comes
with its user and the layer with the role.
"""

from __future__ import annotations

from factories import make_document
from factories import make_project
from factories import make_user
from sqlalchemy import event

from workbench.services import users as user_service

CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK")


def test_a_one_op_save_sends_ten_statements(api, db):
    ann = make_user(db, "ann")
    project = make_project(db, "news", members=[ann])
    doc = make_document(db, project, "Mona Rask said the bakery reopens on Monday.")
    token = user_service.create_token(db, ann, "t")
    db.commit()
    layer = api.get(f"/api/v1/projects/{project.id}/documents/{doc.id}/annotate", token=token).get_json()["layer"]
    sent: list[str] = []
    engine = api.app.extensions["workbench.engine"]

    def record(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        sent.append(statement.split(None, 1)[0].upper())

    version = layer["version"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        for i in range(3):
            sent.clear()
            # Spans that do not overlap: two PERSON spans never may (the news schema's overlap rules).
            op = {"op": "span.create", "id": f"s{i}", "label": "PERSON", "start": 5 * i, "end": 5 * i + 4}
            response = api.open(
                "PATCH", f"/api/v1/layers/{layer['id']}/ops", token,
                json={"base_version": version, "batch_id": f"b{i}", "ops": [op]},
            )
            assert response.status_code == 200, response.get_json()
            version = response.get_json()["version"]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    work = [s for s in sent if s not in CONTROL]
    assert len(work) <= 10, sent
