"""A JSON body read and validated by the route itself, for the hottest route.

FastAPI reads a body parameter, and solves a ``Depends``, through machinery
that serves every kind of parameter: for ``POST /v1/events`` it cost more than
the route's own work (measured with callgrind, the in-process ASGI call with
the batcher answering at once: 712,000 instructions a request with ``event:
EventIn`` and ``Depends(require("pos"))``, 563,000 with the body read here and
the key checked by a plain call). :func:`model_from` does what FastAPI does
for a body parameter, with the same errors (a ``RequestValidationError`` with
``body`` locations, answered by ``api.errors``), and :func:`documented` puts
the body back into the OpenAPI document.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from patron.core.driver import json_value

M = TypeVar("M", bound=BaseModel)


async def model_from(request: Request, model: type[M]) -> M:
    """The request's JSON body as ``model``.

    As FastAPI takes a body: parsed as JSON when the content type is JSON
    (``application/json`` or ``application/*+json``), left as bytes otherwise
    (a missing content type included), which the model then refuses; parsed as
    ``json.loads`` would (``core.driver.json_value``), then validated in Python
    mode, so a value comes out exactly as through FastAPI (a JSON number for a
    ``Decimal`` goes through float, as before: an event's payload hash, which
    tells a retry from another event, is unchanged).
    """
    body = await request.body()
    if not body:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    data: Any = body
    if _is_json(request.headers.get("content-type")):
        try:
            data = json_value(body)
        except json.JSONDecodeError as exc:
            raise _malformed(exc.pos, exc.msg) from None
        except UnicodeDecodeError as exc:  # JSON is UTF-8 (or -16, -32, which json reads)
            error = f"not UTF-8 text: {exc.reason} at byte {exc.start + 1}"
            raise _malformed(exc.start, error) from None
    try:
        # from_attributes as FastAPI validates a body (and so its error for a
        # body that is not an object: "a valid dictionary or object").
        return model.model_validate(data, from_attributes=True)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None


def _malformed(position: int, error: str) -> RequestValidationError:
    """As FastAPI answers a body that is not JSON."""
    return RequestValidationError(
        [
            {
                "type": "json_invalid",
                "loc": ("body", position),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": error},
            }
        ]
    )


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = kind.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


_DOCUMENTED: dict[str, type[BaseModel]] = {}  # the bodies routes read themselves


def documented(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads ``model`` with :func:`model_from`.

    The body refers to the model's schema in ``components``, which
    :func:`add_schemas` puts there (FastAPI adds only the models of parameters).
    """
    _DOCUMENTED[model.__name__] = model
    return {
        "responses": {
            "422": {"description": "Invalid input: a problem (problem+json) naming the field"}
        },
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        },
    }


def add_schemas(document: dict[str, Any]) -> None:
    """Put the schemas of the bodies :func:`documented` names into ``document``'s
    components, with the models they are made of, as FastAPI would have."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, model in _DOCUMENTED.items():
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for part, definition in found.pop("$defs", {}).items():
            schemas.setdefault(part, definition)
        schemas.setdefault(name, found)
