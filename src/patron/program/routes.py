"""HTTP: read and replace the program; simulate what an event would earn."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from patron.api.deps import Caller, require
from patron.core.clock import now
from patron.core.driver import json_value
from patron.core.errors import InvalidInput, NotFound
from patron.core.pagination import MAX_ID
from patron.program.loader import new_program, parse_program, program_from_dict
from patron.program.models import ProgramVersion
from patron.program.schema import Program
from patron.program.service import current_version, save_program, version_summary
from patron.program.simulate import MemberSketch, RefundForASketch, simulate

router = APIRouter(prefix="/v1/program", tags=["program"])

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


@router.get("")
def get_program(caller: Caller = Depends(require("read"))) -> dict[str, Any]:
    """The program in force, with its version number."""
    with caller.db.unit_of_work() as session:
        row = current_version(session)
        if row is None:
            raise NotFound("no program is loaded yet", field="program")
        return version_summary(row)


@router.get("/versions")
def list_versions(caller: Caller = Depends(require("read"))) -> list[dict[str, Any]]:
    with caller.db.unit_of_work() as session:
        rows = session.scalars(select(ProgramVersion).order_by(ProgramVersion.version.desc()))
        return [
            {
                "version": r.version,
                "name": r.name,
                "created_at": r.created_at,
                "created_by": r.created_by,
            }
            for r in rows
        ]


@router.put("", status_code=201, openapi_extra=_BODY_DOC)
async def put_program(
    request: Request, caller: Caller = Depends(require("admin"))
) -> dict[str, Any]:
    """Replace the program: YAML (``Content-Type: application/yaml``) or JSON.
    Every change makes a new version; events are scored by the version in force."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the body is not UTF-8 text (byte {exc.start})", field="body") from None
    if "yaml" in request.headers.get("content-type", ""):
        program = parse_program(text, "request body")
    else:
        try:
            data = json_value(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"malformed JSON: {exc.msg} at position {exc.pos}", field="body"
            ) from None
        if not isinstance(data, dict):
            raise InvalidInput("the program must be a JSON object", field="body")
        program = new_program(program_from_dict(data, "request body"), "request body")
    # The body had to be awaited; the database work runs off the event loop.
    return await run_in_threadpool(_save, caller, program, text)


def _save(caller: Caller, program: Program, source: str) -> dict[str, Any]:
    with caller.db.unit_of_work() as session:
        row = save_program(session, program, source=source, actor=caller.principal.actor, at=now())
        return version_summary(row)


class SimulateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: dict[str, Any] = Field(description="An event as for POST /v1/events")
    member_id: int | None = Field(
        default=None, gt=0, le=MAX_ID, description="Use this member's state"
    )
    member: MemberSketch | None = Field(default=None, description="Or describe a member")


@router.post("/simulate")
def post_simulate(body: SimulateIn, caller: Caller = Depends(require("read"))) -> dict[str, Any]:
    """What would this event earn this member, and why? Writes nothing."""
    with caller.db.unit_of_work() as session:
        try:
            result = simulate(session, body.event, member_id=body.member_id, sketch=body.member)
        except RefundForASketch:
            raise
        except InvalidInput as exc:  # the event's problems, named where they sit in this body
            field = f"event.{exc.field}" if exc.field and exc.field != "body" else "event"
            raise InvalidInput(exc.detail, field=field, **exc.extra) from None
        finally:
            session.rollback()
    return result
