"""The FastAPI application factory. Each domain contributes its own router."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from patron import __version__
from patron.access.service import KeyVerifier
from patron.api.body import add_schemas
from patron.api.errors import install_error_handlers
from patron.api.limits import install_body_limit
from patron.core.config import get_settings
from patron.core.db import Database, get_database
from patron.core.heap import settle_startup_heap

logger = logging.getLogger("patron.api")


def create_app(database: Database | None = None, *, warm_up: bool = False) -> FastAPI:
    """The API on ``database`` (the configured one by default). ``warm_up``: before
    serving, make what a first event would otherwise wait for (``_warmed``)."""
    app = FastAPI(
        title="Patron",
        version=__version__,
        description="Loyalty and retention: members, events, points, rewards, analytics.",
        lifespan=_warmed if warm_up else None,
    )
    app.state.database = database or get_database()
    app.state.key_verifier = KeyVerifier()
    install_error_handlers(app)
    install_body_limit(app, get_settings().max_body_bytes)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        # async: a plain def runs in a worker thread, whose hand-off cost more
        # than the answer (886,000 instructions a request against 336,000).
        return {"status": "ok", "version": __version__}

    for router in _routers():
        app.include_router(router)
    _document_api_keys(app)
    return app


def _document_api_keys(app: FastAPI) -> None:
    """The OpenAPI document names the two ways to present an API key, for every
    operation but ``/health``. (``api.deps.require`` reads the headers from the
    request itself, so FastAPI does not list them as parameters.)"""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        add_schemas(schema)  # bodies read by their routes (api.body)
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer <key>`",
            },
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        schema["security"] = [{"bearer": []}, {"apiKey": []}]
        schema["paths"]["/health"]["get"]["security"] = []
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def serve_app() -> FastAPI:
    """The app as ``patron serve``'s workers run it: built, then its heap settled;
    each worker warms up before it takes requests."""
    app = create_app(warm_up=True)
    settle_startup_heap()
    return app


@asynccontextmanager
async def _warmed(app: FastAPI) -> AsyncIterator[None]:
    """Run before a worker serves (uvicorn accepts its connections only after):
    the API key look-up and the event batcher (``EventBatcher.warm_up``) made
    ready. A database that cannot be reached yet is logged and left to the
    requests, as without the warm-up: the worker still starts and answers
    ``/health``."""
    from patron.events.routes import batcher_of

    database: Database = app.state.database
    try:
        await run_in_threadpool(_key_look_up, app.state.key_verifier, database)
        await batcher_of(app, database).warm_up()
    except Exception as exc:  # the worker serves anyway; requests meet the error
        logger.warning("warm-up failed, the first requests will pay for it: %s", exc)
    yield


def _key_look_up(verifier: KeyVerifier, database: Database) -> None:
    with database.sessions() as session:
        verifier.warm_up(session)


def _routers() -> list[APIRouter]:
    """Import routers lazily so a domain's import errors point at that domain."""
    from importlib import import_module

    routers = []
    # FastAPI matches a request against the routers in this order, route by route:
    # events first, since a till posts one per sale (measured: matching
    # POST /v1/events behind the program and members routers cost ~170,000
    # instructions, a fifth of FastAPI's work on it). The prefixes do not overlap,
    # so the order decides nothing else.
    for module in (
        "patron.events.routes",
        "patron.program.routes",
        "patron.members.routes",
        "patron.ledger.routes",
        "patron.rewards.routes",
        "patron.tiers.routes",
        "patron.stamps.routes",
        "patron.referrals.routes",
        "patron.analytics.routes",
    ):
        try:
            routers.append(import_module(module).router)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return routers
