"""Who annotates which document: the project's settings, the queue, assignments and progress.

A document needs ``k`` annotators (``Project.annotators_per_document``; None:
every annotator annotates every document).  An annotator *holds* a place on
a document while their annotator layer on it is submitted, or unfinished
(``new``/``in_progress``) and not abandoned.  A queue layer is abandoned when
nobody saved it for ``Project.abandon_after`` seconds; the next annotator the
queue gives that document to takes the place, and the abandoned layer becomes
``released`` (its work is kept; its owner may take the document back while a
place is free).  Skipped and released layers hold no place.  Layers a curator
assigned are never abandoned.

Places are taken under a lock, so that annotators asking at the same moment
never put more than ``k`` on one document: on PostgreSQL the document's row
(``SELECT ... FOR NO KEY UPDATE SKIP LOCKED`` in the queue, ``FOR NO KEY
UPDATE`` for a chosen document: the weaker lock lets others insert rows that
refer to the document meanwhile), on SQLite the database's write lock (``BEGIN IMMEDIATE``).
The places are then counted again under the lock before a layer is made.
The caller commits at once, which releases the lock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.domain.numbers import whole_number
from workbench.errors import Conflict
from workbench.errors import Forbidden
from workbench.errors import InvalidInput
from workbench.errors import NotFound
from workbench.models import ASSIGNMENT_MODES
from workbench.models import QUEUE_ORDERS
from workbench.models import AnnotationSet
from workbench.models import Change
from workbench.models import Document
from workbench.models import Membership
from workbench.models import Project
from workbench.models import Span
from workbench.models import User
from workbench.models import utcnow
from workbench.transactions import begin_write

#: Statuses of a layer whose annotator has not finished it.
OPEN_STATUSES = ("new", "in_progress")
#: The largest k a project may ask for.
MAX_K = 50
#: The longest abandon-after a project may set: 30 days.
MAX_ABANDON = 30 * 24 * 3600
#: The most documents or annotators one assignment may name.
MAX_ASSIGN_DOCUMENTS = 10_000
MAX_ASSIGN_USERS = 100
#: Gaps between two saves longer than this count as a pause, not as work (time spent).
IDLE_GAP = timedelta(minutes=5)

_DURATION_RE = re.compile(r"^\s*(\d{1,7})\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def annotator_key(user_id: int) -> str:
    """Return the ``owner_key`` of ``user_id``'s annotator layer."""
    return f"annotator:{user_id}"


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class QueueSettings:
    """How a project hands out documents."""

    annotators_per_document: int | None
    assignment: str
    queue_order: str
    abandon_after: int

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as the API shows them (``abandon_after`` in seconds, 0: never)."""
        return {
            "annotators_per_document": self.annotators_per_document,
            "assignment": self.assignment,
            "queue_order": self.queue_order,
            "abandon_after": self.abandon_after,
        }


def settings_of(project: Project) -> QueueSettings:
    """Return ``project``'s queue settings."""
    return QueueSettings(project.annotators_per_document, project.assignment, project.queue_order, project.abandon_after)


def parse_duration(value: Any) -> int:
    """Return a duration in seconds from ``7200``, ``"90m"``, ``"2h"``, ``"1d"``, ``"0"`` or ``"never"``.

    :raise InvalidInput: anything else, or more than 30 days.
    """
    if isinstance(value, bool):
        raise InvalidInput(f"abandon_after must be a duration such as 2h, 90m or 0, got {value!r}")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and value.strip().lower() in ("never", "off"):
        seconds = 0
    elif isinstance(value, str) and (match := _DURATION_RE.match(value)):
        seconds = int(match.group(1)) * _UNIT[match.group(2).lower()]
    else:
        raise InvalidInput(f"abandon_after must be a duration such as 2h, 90m or 0 (never), got {value!r}")
    if not 0 <= seconds <= MAX_ABANDON:
        raise InvalidInput("abandon_after must be between 0 (never) and 30 days")
    return seconds


def format_duration(seconds: int) -> str:
    """Return ``seconds`` as people write it: ``2h``, ``90m``, ``45s``; ``never`` for 0."""
    if seconds <= 0:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def update_settings(session: Session, project: Project, changes: dict[str, Any]) -> QueueSettings:
    """Change some of ``project``'s queue settings; keys not in ``changes`` stay as they are.

    :param changes: ``annotators_per_document`` (a whole number from 1, or None
        for every annotator), ``assignment`` (queue|manual), ``queue_order``
        (oldest|random), ``abandon_after`` (seconds or a duration string).
    :raise InvalidInput: an unknown key or a bad value (nothing changed).
    """
    unknown = sorted(set(changes) - {"annotators_per_document", "assignment", "queue_order", "abandon_after"})
    if unknown:
        raise InvalidInput(f"unknown setting {unknown[0]!r}")
    values: dict[str, Any] = {}
    if "annotators_per_document" in changes:
        k = changes["annotators_per_document"]
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K):
            raise InvalidInput(f"annotators_per_document must be a whole number from 1 to {MAX_K}, or null for everyone")
        values["annotators_per_document"] = k
    if "assignment" in changes:
        if changes["assignment"] not in ASSIGNMENT_MODES:
            raise InvalidInput(f"assignment must be one of {', '.join(ASSIGNMENT_MODES)}")
        values["assignment"] = changes["assignment"]
    if "queue_order" in changes:
        if changes["queue_order"] not in QUEUE_ORDERS:
            raise InvalidInput(f"queue_order must be one of {', '.join(QUEUE_ORDERS)}")
        values["queue_order"] = changes["queue_order"]
    if "abandon_after" in changes:
        values["abandon_after"] = parse_duration(changes["abandon_after"])
    for name, value in values.items():
        setattr(project, name, value)
    session.flush()
    return settings_of(project)


# --------------------------------------------------------------------------- places


def _cutoff(project: Project, now: datetime) -> datetime | None:
    """Return the time before which an unfinished queue layer counts as abandoned (None: never)."""
    return now - timedelta(seconds=project.abandon_after) if project.abandon_after > 0 else None


def _holds_place(project: Project, now: datetime) -> ColumnElement[bool]:
    """Return the condition under which an annotator layer holds a place on its document."""
    cutoff = _cutoff(project, now)
    unfinished = AnnotationSet.status.in_(OPEN_STATUSES)
    if cutoff is not None:
        unfinished = and_(unfinished, or_(AnnotationSet.assigned_by_id.is_not(None), AnnotationSet.updated_at >= cutoff))
    return and_(AnnotationSet.kind == "annotator", or_(AnnotationSet.status == "submitted", unfinished))


def _places_taken(session: Session, project: Project, document_id: int, now: datetime, *, other_than: int) -> int:
    """Count the places held on a document by annotators other than ``other_than``."""
    return session.scalar(
        select(func.count(AnnotationSet.id)).where(
            AnnotationSet.document_id == document_id,
            AnnotationSet.user_id != other_than,
            _holds_place(project, now),
        )
    ) or 0


def _lock_document(session: Session, document_id: int) -> None:
    """Lock one document's row until the transaction ends (PostgreSQL; SQLite holds the database lock)."""
    begin_write(session)
    if session.get_bind().dialect.name != "sqlite":
        session.execute(select(Document.id).where(Document.id == document_id).with_for_update(key_share=True))


def change_status(session: Session, layer: AnnotationSet, user: User, status: str, note: str = "") -> None:
    """Set ``layer``'s status and record the change (who, from what, to what, why) in its history."""
    session.add(
        Change(
            set_id=layer.id,
            user_id=user.id,
            action="status",
            version=layer.version,
            payload={"from": layer.status, "to": status, "note": note},
        )
    )
    layer.status = status
    layer.status_note = note
    layer.updated_at = utcnow()


def _release_abandoned(session: Session, project: Project, document_id: int, now: datetime, user: User) -> None:
    """Mark the document's abandoned queue layers ``released``: their places go to someone else."""
    cutoff = _cutoff(project, now)
    if cutoff is None:
        return
    abandoned = session.scalars(
        select(AnnotationSet).where(
            AnnotationSet.document_id == document_id,
            AnnotationSet.kind == "annotator",
            AnnotationSet.user_id != user.id,
            AnnotationSet.status.in_(OPEN_STATUSES),
            AnnotationSet.assigned_by_id.is_(None),
            AnnotationSet.updated_at < cutoff,
        )
    ).all()
    for layer in abandoned:
        updated = layer.updated_at
        change_status(session, layer, user, "released", "abandoned; returned to the queue")
        layer.updated_at = updated


def _own_layer(session: Session, user: User, document_id: int) -> AnnotationSet | None:
    return session.scalar(
        select(AnnotationSet).where(
            AnnotationSet.document_id == document_id, AnnotationSet.owner_key == annotator_key(user.id)
        )
    )


def _take_place(session: Session, project: Project, user: User, document_id: int, now: datetime) -> AnnotationSet | None:
    """With the document locked: give ``user`` a place on it; None when it is full.

    Makes the user's layer (status ``new``), or takes a released one back.
    """
    k = project.annotators_per_document
    if k is not None and _places_taken(session, project, document_id, now, other_than=user.id) >= k:
        return None
    _release_abandoned(session, project, document_id, now, user)
    layer = _give_layer(session, user, document_id, _own_layer(session, user, document_id), now)
    session.flush()
    return layer


def _give_layer(session: Session, user: User, document_id: int, layer: AnnotationSet | None, now: datetime) -> AnnotationSet:
    """Return ``user``'s layer on the document: a new one (status ``new``), or their released one taken back."""
    if layer is None:
        layer = AnnotationSet(
            document_id=document_id,
            kind="annotator",
            owner_key=annotator_key(user.id),
            user_id=user.id,
            status="new",
            version=0,
            updated_at=now,
        )
        session.add(layer)
    elif layer.status == "released":
        change_status(session, layer, user, "in_progress" if layer.version else "new", "taken back")
    return layer


def claim_document(session: Session, user: User, document: Document) -> AnnotationSet:
    """Return ``user``'s layer on ``document``, taking a place on it if they have none.

    The annotate page opens documents through this, whichever way the person
    came (the queue, the document list, a link).

    :raise Forbidden: the project assigns by hand and this document is not assigned to the user.
    :raise Conflict: the document has all the annotators it needs.
    """
    layer = _own_layer(session, user, document.id)
    if layer is not None and layer.status != "released":
        return layer
    project = session.get(Project, document.project_id)
    assert project is not None
    if project.assignment == "manual" and layer is None:
        raise Forbidden("this document is not assigned to you: in this project a curator assigns the documents")
    now = utcnow()
    _lock_document(session, document.id)
    # Someone (this user, in another tab) may have taken it while we waited for the lock.
    layer = _own_layer(session, user, document.id)
    if layer is not None and layer.status != "released":
        return layer
    taken = _take_place(session, project, user, document.id, now)
    if taken is None:
        k = project.annotators_per_document
        raise Conflict(
            f"this document already has the {k} annotator{'s' if k != 1 else ''} it needs; "
            "use Annotate to get the next one"
        )
    return taken


def _order(project: Project, user: User) -> Any:
    """Return the queue's ORDER BY: import order, or a stable shuffle of its own for each annotator."""
    if project.queue_order == "random":
        # A multiplicative hash, the same on SQLite and PostgreSQL (stays within 64 bits).
        shuffled = cast(Document.id, BigInteger) * literal(2654435761, BigInteger) + literal(user.id * 40503, BigInteger)
        return (shuffled % literal(4294967291, BigInteger), Document.id)
    return (Document.id,)


def next_document_id(session: Session, user: User, project: Project) -> int | None:
    """Return the document ``user`` should annotate next in ``project``, or None when none is left.

    First the user's own unfinished layers (by document), so that work in
    hand is finished first; then, in a queue project, a document the user has
    never had that still needs annotators, in the project's order.  Taking a
    new document takes a place on it (a layer with status ``new``): the
    caller commits at once.
    """
    mine = session.scalar(
        select(AnnotationSet.document_id)
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(
            Document.project_id == project.id,
            AnnotationSet.user_id == user.id,  # indexed; with kind, the same layers as owner_key
            AnnotationSet.kind == "annotator",
            AnnotationSet.status.in_(OPEN_STATUSES),
        )
        .order_by(AnnotationSet.document_id)
        .limit(1)
    )
    if mine is not None or project.assignment == "manual":
        return mine
    now = utcnow()
    # By user id (indexed), so the planner reads the user's few layers instead of scanning them all.
    never_had = ~select(AnnotationSet.id).where(
        AnnotationSet.document_id == Document.id, AnnotationSet.user_id == user.id, AnnotationSet.kind == "annotator"
    ).exists()
    where: list[Any] = [Document.project_id == project.id, never_had]
    k = project.annotators_per_document
    if k is None:
        # Everyone annotates everything: nothing to hold, the page makes the layer.
        return session.scalar(select(Document.id).where(*where).order_by(*_order(project, user)).limit(1))
    held = (
        select(func.count(AnnotationSet.id))
        .where(AnnotationSet.document_id == Document.id, _holds_place(project, now))
        .scalar_subquery()
    )
    where.append(held < k)
    begin_write(session)
    postgres = session.get_bind().dialect.name != "sqlite"
    passed: list[int] = []
    while True:
        query = select(Document.id).where(*where)
        if passed:
            query = query.where(Document.id.not_in(passed))
        query = query.order_by(*_order(project, user)).limit(1)
        if postgres:
            # Another annotator taking a place on a document holds its row: pass it by.
            query = query.with_for_update(skip_locked=True, key_share=True, of=Document)
        document_id = session.scalar(query)
        if document_id is None:
            return None
        # Count again under the lock: the query's count may predate a commit.
        if _take_place(session, project, user, document_id, now) is not None:
            return document_id
        passed.append(document_id)


# --------------------------------------------------------------------------- assignment by curators


@dataclass
class AssignmentReport:
    """What an assignment did."""

    assigned: int = 0
    already: int = 0
    documents: int = 0
    users: list[str] = field(default_factory=list)


def documents_needing_annotators(session: Session, project: Project, count: int, users: list[User]) -> list[Document]:
    """Return up to ``count`` documents, in import order, that none of ``users`` has and that still need annotators."""
    now = utcnow()
    where: list[Any] = [Document.project_id == project.id]
    for user in users:
        where.append(
            ~select(AnnotationSet.id)
            .where(AnnotationSet.document_id == Document.id, AnnotationSet.owner_key == annotator_key(user.id))
            .exists()
        )
    k = project.annotators_per_document
    if k is not None:
        held = (
            select(func.count(AnnotationSet.id))
            .where(AnnotationSet.document_id == Document.id, _holds_place(project, now))
            .scalar_subquery()
        )
        where.append(held + len(users) <= k)
    return list(session.scalars(select(Document).where(*where).order_by(Document.id).limit(count)))


def assign(session: Session, curator: User, project: Project, documents: list[Document], users: list[User]) -> AssignmentReport:
    """Assign every document of ``documents`` to every user of ``users``: all of it, or nothing.

    A user who already has the document (any status but released) is left as
    they are.  Assigned layers are never abandoned.

    :raise InvalidInput: no documents or users, too many, a user who is not an
        annotating member, or a document that would get more than k annotators.
    """
    if not documents:
        raise InvalidInput("name at least one document to assign")
    if not users:
        raise InvalidInput("name at least one annotator to assign the documents to")
    if len(documents) > MAX_ASSIGN_DOCUMENTS or len(users) > MAX_ASSIGN_USERS:
        raise InvalidInput(f"one assignment takes at most {MAX_ASSIGN_DOCUMENTS:,} documents and {MAX_ASSIGN_USERS} annotators")
    member_ids = set(session.scalars(select(Membership.user_id).where(Membership.project_id == project.id)))
    for user in users:
        if user.id not in member_ids:
            raise InvalidInput(f"{user.username!r} is not a member of {project.name!r}")
        if not user.active:
            raise InvalidInput(f"{user.username!r} is deactivated")
    begin_write(session)
    now = utcnow()
    report = AssignmentReport(documents=len(documents), users=[u.username for u in users])
    k = project.annotators_per_document
    ids = sorted({d.id for d in documents})
    if session.get_bind().dialect.name != "sqlite":
        session.execute(
            select(Document.id).where(Document.id.in_(ids)).order_by(Document.id).with_for_update(key_share=True)
        )
    existing = {
        (layer.document_id, layer.user_id): layer
        for layer in session.scalars(
            select(AnnotationSet).where(
                AnnotationSet.document_id.in_(ids),
                AnnotationSet.kind == "annotator",
                AnnotationSet.user_id.in_([u.id for u in users]),
            )
        )
    }
    titles = {d.id: d.external_id for d in documents}
    for document_id in ids:
        wanted = [u for u in users if (document_id, u.id) not in existing or existing[(document_id, u.id)].status == "released"]
        report.already += len(users) - len(wanted)
        if not wanted:
            continue
        if k is not None:
            held = session.scalar(
                select(func.count(AnnotationSet.id)).where(
                    AnnotationSet.document_id == document_id, _holds_place(project, now)
                )
            ) or 0
            if held + len(wanted) > k:
                raise InvalidInput(
                    f"document {titles[document_id]!r} would get {held + len(wanted)} annotators; "
                    f"the project wants {k} (change the setting or assign fewer)"
                )
        for user in wanted:
            layer = _give_layer(session, user, document_id, existing.get((document_id, user.id)), now)
            layer.assigned_by_id = curator.id
            report.assigned += 1
    session.flush()
    return report


def default_assigner(session: Session) -> User:
    """Return the user recorded as assigner when the command line names none: the first admin.

    :raise NotFound: there is no admin yet.
    """
    admin = session.scalar(select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id).limit(1))
    if admin is None:
        raise NotFound("no admin user exists to record as the assigner; name one with --by")
    return admin


def unassign(session: Session, project: Project, document: Document, user: User) -> None:
    """Take back a document from an annotator who has not started it.

    :raise NotFound: the user does not have the document.
    :raise Conflict: they have started (or finished) it: their work is not thrown away.
    """
    begin_write(session)
    layer = _own_layer(session, user, document.id)
    if layer is None or layer.status == "released":
        raise NotFound(f"{user.username!r} does not have document {document.external_id!r}")
    if layer.version > 0 or layer.status not in OPEN_STATUSES:
        raise Conflict(f"{user.username!r} has started document {document.external_id!r}; their work is kept")
    session.delete(layer)
    session.flush()


# --------------------------------------------------------------------------- progress


@dataclass
class AnnotatorProgress:
    """One annotator's work in a project."""

    user_id: int
    username: str
    done: int = 0
    in_progress: int = 0
    skipped: int = 0
    released: int = 0
    spans: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class DocumentProgress:
    """One document's annotators and their statuses."""

    id: int
    external_id: str
    title: str
    annotators: list[tuple[str, str]]
    submitted: int
    needed: int | None


@dataclass
class ProgressReport:
    """A project's progress for curators: per annotator, and one page of documents."""

    settings: QueueSettings
    annotators: list[AnnotatorProgress]
    documents: list[DocumentProgress]
    total_documents: int
    complete_documents: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Return the number of pages of documents (at least 1)."""
        return max(1, -(-self.total_documents // self.per_page))


def _time_spent(session: Session, layer_ids: list[int]) -> dict[int, float]:
    """Return seconds of work per layer: the gaps between its consecutive saves, pauses over 5 minutes left out."""
    spent: dict[int, float] = {}
    last: dict[int, datetime] = {}
    for set_id, at in session.execute(
        select(Change.set_id, Change.at).where(Change.set_id.in_(layer_ids)).order_by(Change.set_id, Change.at)
    ):
        previous = last.get(set_id)
        if previous is not None:
            gap = at - previous
            if gap <= IDLE_GAP:
                spent[set_id] = spent.get(set_id, 0.0) + gap.total_seconds()
        last[set_id] = at
    return spent


def complete_condition(project: Project) -> Any:
    """Return a query of the ids of ``project``'s documents with all the annotators they need submitted."""
    need = project.annotators_per_document or 1
    return (
        select(AnnotationSet.document_id)
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(Document.project_id == project.id, AnnotationSet.kind == "annotator", AnnotationSet.status == "submitted")
        .group_by(AnnotationSet.document_id)
        .having(func.count(AnnotationSet.id) >= need)
    )


def progress(session: Session, project: Project, *, page: int = 1, per_page: int = 50) -> ProgressReport:
    """Return who did what in ``project``: per annotator, and per document (one page, import order)."""
    page = max(1, page)
    rows = session.execute(
        select(AnnotationSet.id, AnnotationSet.user_id, User.username, AnnotationSet.status)
        .join(Document, Document.id == AnnotationSet.document_id)
        .join(User, User.id == AnnotationSet.user_id)
        .where(Document.project_id == project.id, AnnotationSet.kind == "annotator")
    ).all()
    people: dict[int, AnnotatorProgress] = {}
    for user_id, username in session.execute(
        select(User.id, User.username)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project.id, Membership.role == "annotator")
    ):
        people[user_id] = AnnotatorProgress(user_id, username)
    for _set_id, user_id, username, status in rows:
        person = people.setdefault(user_id, AnnotatorProgress(user_id, username))
        if status == "submitted":
            person.done += 1
        elif status in OPEN_STATUSES:
            person.in_progress += 1
        elif status == "skipped":
            person.skipped += 1
        elif status == "released":
            person.released += 1
    owner = {set_id: user_id for set_id, user_id, _u, _s in rows}
    for set_id, count in session.execute(
        select(Span.set_id, func.count(Span.id))
        .join(AnnotationSet, AnnotationSet.id == Span.set_id)
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(Document.project_id == project.id, AnnotationSet.kind == "annotator")
        .group_by(Span.set_id)
    ):
        people[owner[set_id]].spans += count
    for set_id, seconds in _time_spent(session, list(owner)).items():
        people[owner[set_id]].seconds += seconds
    total = session.scalar(select(func.count(Document.id)).where(Document.project_id == project.id)) or 0
    complete = session.scalar(select(func.count()).select_from(complete_condition(project).subquery())) or 0
    docs = session.execute(
        select(Document.id, Document.external_id, Document.title)
        .where(Document.project_id == project.id)
        .order_by(Document.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    who: dict[int, list[tuple[str, str]]] = {d[0]: [] for d in docs}
    if docs:
        for document_id, username, status in session.execute(
            select(AnnotationSet.document_id, User.username, AnnotationSet.status)
            .join(User, User.id == AnnotationSet.user_id)
            .where(AnnotationSet.document_id.in_(list(who)), AnnotationSet.kind == "annotator")
            .order_by(AnnotationSet.document_id, User.username)
        ):
            who[document_id].append((username, status))
    documents = [
        DocumentProgress(
            id=d[0],
            external_id=d[1],
            title=d[2] or d[1],
            annotators=who[d[0]],
            submitted=sum(1 for _u, s in who[d[0]] if s == "submitted"),
            needed=project.annotators_per_document,
        )
        for d in docs
    ]
    return ProgressReport(
        settings=settings_of(project),
        annotators=sorted(people.values(), key=lambda p: p.username.lower()),
        documents=documents,
        total_documents=total,
        complete_documents=complete,
        page=page,
        per_page=per_page,
    )


def require_documents(session: Session, project: Project, external_ids: list[str]) -> list[Document]:
    """Return the project's documents with these external ids (or numeric ids), in the order given.

    :raise NotFound: naming the first id that is not a document of the project.
    """
    wanted = [e.strip() for e in external_ids if e.strip()]
    if len(wanted) > MAX_ASSIGN_DOCUMENTS:
        raise InvalidInput(f"one assignment takes at most {MAX_ASSIGN_DOCUMENTS:,} documents")
    found: dict[str, Document] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for document in session.scalars(
            select(Document).where(Document.project_id == project.id, Document.external_id.in_(chunk))
        ):
            found[document.external_id] = document
    # Ids that are no external id may be numeric ids: one more query for all of them (ids fit 32 bits).
    numeric = sorted({n for e in wanted if e not in found and (n := whole_number(e)) is not None})
    by_id: dict[int, Document] = {}
    for start in range(0, len(numeric), 500):
        for document in session.scalars(
            select(Document).where(Document.project_id == project.id, Document.id.in_(numeric[start : start + 500]))
        ):
            by_id[document.id] = document
    result = []
    for ext in wanted:
        document = found.get(ext) or by_id.get(whole_number(ext) or 0)
        if document is None:
            raise NotFound(f"no document {ext!r} in {project.name!r}")
        result.append(document)
    return result
