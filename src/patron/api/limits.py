"""A cap on request bodies: nothing larger than ``PATRON_MAX_BODY_BYTES`` is read.

uvicorn reads whatever a client sends, and a route reads a body whole before
validating it (the batch route's 5,000 events are counted only once the list
is parsed), so one huge request could take a worker's memory. The largest
legitimate body is a full batch: 5,000 events with a few lines each, about
5 MB; the default cap is 16 MiB.

A body that declares its length (``Content-Length``) over the cap is refused
before any of it is read: 413, a problem document naming the header. A body
sent in chunks is counted as it arrives and refused once past the cap (the
route's read raises, and the app answers the same 413, naming the body).
Requests that declare a length within the cap, which is every till and every
client library, pay one look at the headers.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patron.api.errors import PROBLEM
from patron.core.errors import ContentTooLarge


class BodyLimit:
    """ASGI middleware refusing request bodies over ``limit`` bytes with a 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                # A length the server let through: it holds the body to it.
                if not value.isdigit() or int(value) <= self.limit:
                    await self.app(scope, receive, send)
                    return
                error = _too_large(self.limit, "Content-Length")
                response = JSONResponse(error.to_problem(), 413, media_type=PROBLEM)
                response.headers["Connection"] = "close"  # the body is left unread
                await response(scope, receive, send)
                return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        """``receive``, raising ContentTooLarge once the body passes the limit."""
        seen, limit = 0, self.limit

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(_too_large(limit, "body"))
            return message

        return counted


class BodyTooLarge(HTTPException):
    """A chunked body past the cap, raised in the route's read of it: an
    HTTPException, which FastAPI's own body reading lets through (anything else
    it answers as a 400, "error parsing the body")."""

    def __init__(self, error: ContentTooLarge) -> None:
        super().__init__(413, error.detail)
        self.error = error


async def _answer(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLarge)
    return JSONResponse(exc.error.to_problem(), 413, media_type=PROBLEM)


def install_body_limit(app: FastAPI, limit: int) -> None:
    """Refuse request bodies over ``limit`` bytes with a 413 problem."""
    app.add_middleware(BodyLimit, limit=limit)
    app.add_exception_handler(BodyTooLarge, _answer)


def _too_large(limit: int, field: str) -> ContentTooLarge:
    detail = f"a request body is at most {limit:,} bytes (PATRON_MAX_BODY_BYTES)"
    return ContentTooLarge(detail, field=field)
