"""HTTP: send events one at a time or in batches; read them back."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response
from sqlalchemy import select

from patron.api.body import documented, model_from
from patron.api.deps import Caller, require
from patron.core.db import Database
from patron.core.errors import NotFound, PatronError
from patron.core.pagination import MAX_ID
from patron.events.batcher import EventBatcher
from patron.events.ingest import ingest
from patron.events.models import Event
from patron.events.schemas import BatchResult, EventBatchIn, EventIn, EventResult

router = APIRouter(prefix="/v1/events", tags=["events"])


class _Rejected(PatronError):
    """Re-raises a row's problem with the status it was given."""

    def __init__(self, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("detail", "rejected"), field=problem.get("field"))
        self.status_code = int(problem.get("status", 422))
        self.title = problem.get("title", "Rejected")
        self._problem = problem

    def to_problem(self) -> dict[str, Any]:
        return self._problem


@router.post(
    "",
    response_model=EventResult,
    status_code=201,
    responses={200: {"description": "A retry of an event already received"}},
    openapi_extra=documented(EventIn),
)
async def post_event(request: Request) -> Response:
    """Score one event and post its points.

    A retry with the same ``external_id`` and body returns the first result (200);
    the same ``external_id`` with another body is a 409. Concurrent requests share
    transactions (group commit, see ``events/batcher.py``); each gets its own answer."""
    # A till posts one event per sale: the key and the body are read here, past
    # FastAPI's dependency machinery, which cost more than this route (api.body).
    caller = await _pos(request)
    event = await model_from(request, EventIn)
    batcher = batcher_of(request.app, caller.db)
    result = (await batcher.submit(event)).model_copy(update={"index": 0})
    if result.status == "rejected":
        raise _Rejected(result.error or {})
    return Response(
        result.model_dump_json(),
        status_code=200 if result.status == "duplicate" else 201,
        media_type="application/json",
    )


_pos = require("pos")


def batcher_of(app: FastAPI, database: Database) -> EventBatcher:
    """The process's batcher for ``database``, made on first use (or at start-up,
    see ``api.app._warmed``)."""
    state = app.state
    batcher: EventBatcher | None = getattr(state, "event_batcher", None)
    if batcher is None or batcher.database is not database:
        batcher = state.event_batcher = EventBatcher(database)
    return batcher


@router.post("/batch", response_model=BatchResult)
def post_batch(batch: EventBatchIn, caller: Caller = Depends(require("pos"))) -> BatchResult:
    """Up to 5,000 events in one transaction. Each row is accepted, a duplicate, or rejected
    with its reason; rejected rows write nothing and the good rows still land."""
    with caller.db.unit_of_work() as session:
        return ingest(session, batch.events)


@router.get("/{event_id}")
def get_event(
    event_id: int = Path(ge=1, le=MAX_ID, description="The event's id."),
    caller: Caller = Depends(require("read")),
) -> dict[str, Any]:
    """One stored event, as scored: its member, amount in minor units, lines and points."""
    with caller.db.unit_of_work() as session:
        event = session.scalar(select(Event).where(Event.id == event_id))
        if event is None:
            raise NotFound(f"no event with id {event_id}", field="event_id")
        return {
            c.name: getattr(event, c.key)
            for c in Event.__table__.columns
            if c.name != "payload_hash"
        }
