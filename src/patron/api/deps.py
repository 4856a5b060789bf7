"""Request-scoped dependencies: the database and the caller's API key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from patron.access.service import KeyVerifier, Principal
from patron.core.db import Database


@dataclass(frozen=True)
class Caller:
    """What a route needs: the database to open a unit of work on, and who asks."""

    db: Database
    principal: Principal


async def get_database(request: Request) -> Database:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a thread
    # hop per request for one attribute read.
    db: Database = request.app.state.database
    return db


def _bearer(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return authorization


def _verify(verifier: KeyVerifier, db: Database, presented: str | None) -> Principal:
    with db.sessions() as session:
        return verifier.verify(session, presented)


def require(scope: str) -> Callable[..., Awaitable[Caller]]:
    """Dependency: a valid API key with ``scope`` (admin implies every scope).

    A key verified in the last few seconds is answered from the verifier's memory
    on the event loop; only a look-up in the database goes to the thread pool.
    """

    async def dependency(
        request: Request,
        db: Database = Depends(get_database),
        authorization: str | None = Header(default=None),
        x_api_key: str | None = Header(default=None),
    ) -> Caller:
        verifier: KeyVerifier = request.app.state.key_verifier
        presented = _bearer(authorization, x_api_key)
        principal = verifier.remembered(presented)
        if principal is None:
            principal = await run_in_threadpool(_verify, verifier, db, presented)
        principal.require(scope)
        return Caller(db=db, principal=principal)

    return dependency
