"""Program versions: load, read the one in force, simulate."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patron.core.errors import Conflict
from patron.core.raw import Ask, Loading, gather
from patron.events.models import Event
from patron.ledger.service import ensure_budget_rows
from patron.program.loader import program_from_dict, program_to_dict
from patron.program.models import ProgramVersion
from patron.program.schema import Program
from patron.rewards.catalogue import sync_catalogue

# Parsed programs by digest of their definition: a version never changes once written.
_parsed: dict[str, Program] = {}


def current_version(session: Session) -> ProgramVersion | None:
    return session.scalar(select(ProgramVersion).order_by(ProgramVersion.version.desc()).limit(1))


_IN_FORCE = (
    select(ProgramVersion.version, ProgramVersion.id, ProgramVersion.digest)
    .order_by(ProgramVersion.version.desc())
    .limit(1)
)


def current_program(session: Session) -> tuple[int, Program] | None:
    """The program in force and its version, or None before any is loaded."""
    (found,) = gather(session, program_in_force(session))
    return found


def program_in_force(session: Session) -> Loading[tuple[int, Program] | None]:
    """:func:`current_program` as a loader: every event batch asks, beside its other
    first reads (see core.raw.gather)."""
    (rows,) = yield [Ask(_IN_FORCE, {})]
    if not rows:
        return None
    version, row_id, digest = rows[0]
    if digest not in _parsed:
        stored = session.get(ProgramVersion, row_id)
        assert stored is not None
        _parsed[digest] = program_from_dict(stored.definition, f"program version {version}")
    return version, _parsed[digest]


def require_program(session: Session) -> tuple[int, Program]:
    return program_required(current_program(session))


def program_required(found: tuple[int, Program] | None) -> tuple[int, Program]:
    if found is None:
        raise Conflict(
            "no program is loaded yet: run 'patron program load FILE' or PUT /v1/program",
            field="program",
        )
    return found


def save_program(
    session: Session, program: Program, *, source: str, actor: str | None, at: datetime
) -> ProgramVersion:
    """Store ``program`` as the next version; it is in force from now on."""
    _check_currency(session, program)
    latest = session.scalar(select(func.max(ProgramVersion.version))) or 0
    definition = program_to_dict(program)
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    row = ProgramVersion(
        version=latest + 1,
        name=program.name,
        definition=definition,
        digest=digest,
        source=source,
        created_at=at,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    ensure_budget_rows(session, [r.id for r in program.rules if r.budget is not None])
    sync_catalogue(session, program, row.version, at)
    return row


def _check_currency(session: Session, program: Program) -> None:
    """A program keeps its currency once events are recorded in it: their amounts
    are minor units of that currency (a refund, the revenue figures and the points
    liability would otherwise mix two currencies, or two scales: pence and yen)."""
    in_force = current_program(session)
    if in_force is None or in_force[1].currency == program.currency:
        return
    if session.scalar(select(Event.id).limit(1)) is not None:
        raise Conflict(
            f"the program's currency is {in_force[1].currency} and events are recorded in "
            f"it; a program in {program.currency} needs a database of its own",
            field="currency",
        )


def version_summary(row: ProgramVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "name": row.name,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "definition": row.definition,
    }
