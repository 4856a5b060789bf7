"""Program versions: load, read the one in force, simulate."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patron.core.errors import Conflict
from patron.ledger.service import ensure_budget_rows
from patron.program.loader import program_from_dict, program_to_dict
from patron.program.models import ProgramVersion
from patron.program.schema import Program
from patron.rewards.catalogue import sync_catalogue

# Parsed programs by digest of their definition: a version never changes once written.
_parsed: dict[str, Program] = {}


def current_version(session: Session) -> ProgramVersion | None:
    return session.scalar(select(ProgramVersion).order_by(ProgramVersion.version.desc()).limit(1))


def current_program(session: Session) -> tuple[int, Program] | None:
    """The program in force and its version, or None before any is loaded."""
    row = session.execute(
        select(ProgramVersion.version, ProgramVersion.id, ProgramVersion.digest)
        .order_by(ProgramVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    if row.digest not in _parsed:
        stored = session.get(ProgramVersion, row.id)
        assert stored is not None
        _parsed[row.digest] = program_from_dict(stored.definition, f"program version {row.version}")
    return row.version, _parsed[row.digest]


def require_program(session: Session) -> tuple[int, Program]:
    found = current_program(session)
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


def version_summary(row: ProgramVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "name": row.name,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "definition": row.definition,
    }
