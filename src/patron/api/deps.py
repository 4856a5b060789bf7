"""Request-scoped dependencies: the database and the caller's API key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Header, Request

from patron.access.service import KeyVerifier, Principal
from patron.core.db import Database


@dataclass(frozen=True)
class Caller:
    """What a route needs: the database to open a unit of work on, and who asks."""

    db: Database
    principal: Principal


def get_database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _bearer(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return authorization


def require(scope: str) -> Callable[..., Caller]:
    """Dependency: a valid API key with ``scope`` (admin implies every scope)."""

    def dependency(
        request: Request,
        db: Database = Depends(get_database),
        authorization: str | None = Header(default=None),
        x_api_key: str | None = Header(default=None),
    ) -> Caller:
        verifier: KeyVerifier = request.app.state.key_verifier
        with db.sessions() as session:
            principal = verifier.verify(session, _bearer(authorization, x_api_key))
        principal.require(scope)
        return Caller(db=db, principal=principal)

    return dependency
