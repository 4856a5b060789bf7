"""Request-scoped dependencies: the database and the caller's API key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from patron.access.service import KeyVerifier, Principal
from patron.core.db import Database


@dataclass(frozen=True)
class Caller:
    """What a route needs: the database to open a unit of work on, and who asks."""

    db: Database
    principal: Principal


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
    The headers are read from the request itself: as ``Header`` parameters, and
    the database as a dependency of its own, FastAPI validated each on every
    request, about 5% of a worker's CPU for a one-event ``POST /v1/events``.
    The OpenAPI document names the two ways to present a key (``api.app``).
    """

    async def dependency(request: Request) -> Caller:
        db: Database = request.app.state.database
        verifier: KeyVerifier = request.app.state.key_verifier
        headers = request.headers
        presented = _bearer(headers.get("authorization"), headers.get("x-api-key"))
        principal = verifier.remembered(presented)
        if principal is None:
            principal = await run_in_threadpool(_verify, verifier, db, presented)
        principal.require(scope)
        return Caller(db=db, principal=principal)

    return dependency
