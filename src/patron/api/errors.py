"""One place that turns errors into ``application/problem+json`` responses.

Every problem has the same shape as :meth:`PatronError.to_problem`: ``type``
(``https://patron.dev/problems/<code>``), ``title``, ``status``, ``detail`` and,
when one input is to blame, ``field``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from patron.core.errors import PatronError, with_hint, within

log = logging.getLogger("patron.api")
PROBLEM = "application/problem+json"
PROBLEM_TYPE = "https://patron.dev/problems/{code}"

NUMERIC_OUT_OF_RANGE = "22003"  # SQLSTATE numeric_value_out_of_range


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """("body", "lines", 2, "quantity") -> "lines[2].quantity"."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def problem(
    status: int, code: str, title: str, detail: str, *, field: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE.format(code=code),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _validation_problem(exc: RequestValidationError) -> JSONResponse:
    errors = []
    for err in exc.errors():
        # A model's own check names the place within it (events.schemas: ctx.path).
        path = within(field_path(err.get("loc", ())), (err.get("ctx") or {}).get("path"))
        message = with_hint(err.get("msg", "invalid"), err.get("type"))
        if err.get("type") == "json_invalid":
            path, message = "body", f"malformed JSON: {err.get('ctx', {}).get('error', message)}"
        errors.append({"field": path, "message": message})
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    return problem(
        422,
        "invalid-input",
        "Invalid input",
        f"{first['field']}: {first['message']}",
        field=first["field"],
        errors=errors,
    )


# -- values the database cannot store -------------------------------------------
_COLUMN_IN_CONTEXT = re.compile(r"\bcolumn (\w+)")
_TYPED_BIND = re.compile(r"%\((\w+)\)s::(SMALLINT|INTEGER|BIGINT)\b")
_INTEGER_BOUND = {"SMALLINT": 2**15, "INTEGER": 2**31, "BIGINT": 2**63}
_ANONYMOUS_BIND = re.compile(r"_\d+$")  # ``id_1``: a comparison's bind, not a column


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception behind a SQLAlchemy wrapper."""
    return getattr(exc, "orig", None) or exc


def _parameters(params: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(params, Mapping):
        yield from params.items()
    elif isinstance(params, list | tuple):
        for item in params:
            if isinstance(item, Mapping):
                yield from item.items()


def _unstorable(value: Any, sql_type: str) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, int) and not isinstance(value, bool):
        bound = _INTEGER_BOUND[sql_type]
        return not -bound <= value < bound
    return False


def _column_at_fault(exc: BaseException) -> str | None:
    """The column the database names (``COPY ..., column amount``), else the column
    whose bound value it cannot store (INSERT and UPDATE bind by column name);
    None when neither says."""
    diag = getattr(_driver_error(exc), "diag", None)
    if diag is not None:
        if diag.column_name:
            return str(diag.column_name)
        found = _COLUMN_IN_CONTEXT.search(diag.context or "")
        if found:
            return found.group(1)
    types = dict(_TYPED_BIND.findall(str(getattr(exc, "statement", None) or "")))
    for key, value in _parameters(getattr(exc, "params", None)):
        name = str(key)
        if not _ANONYMOUS_BIND.search(name) and _unstorable(value, types.get(name, "BIGINT")):
            return name
    return None


def _data_problem(exc: BaseException) -> JSONResponse:
    driver = _driver_error(exc)
    column = _column_at_fault(exc)
    out_of_range = (
        isinstance(driver, OverflowError)
        or getattr(driver, "sqlstate", None) == NUMERIC_OUT_OF_RANGE
    )
    if out_of_range and "date" in str(driver):
        what = "a date is out of range"
    elif out_of_range:
        what = "a number is too large to store"
    elif "NUL" in str(driver):
        what = "text may not contain NUL (\\u0000) characters"
    else:
        what = "a value cannot be stored"
    where = f" ({column})" if column else ""
    log.info("unstorable value%s: %s", where, driver)
    return problem(422, "invalid-input", "Invalid input", f"{what}{where}", field=column)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PatronError)
    async def _patron(_: Request, exc: PatronError) -> JSONResponse:
        return JSONResponse(exc.to_problem(), status_code=exc.status_code, media_type=PROBLEM)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(exc)

    # What the router answers itself: a path no route has (404), a method the path
    # does not take (405, with its Allow header). A problem document like the rest,
    # not Starlette's {"detail": ...}.
    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        title = HTTPStatus(exc.status_code).phrase
        # The router's only 400 is a body it could not read (nested past Python's
        # recursion limit, say): the body is to blame.
        field = "body" if exc.status_code == 400 else None
        response = problem(
            exc.status_code, title.lower().replace(" ", "-"), title, str(exc.detail), field=field
        )
        response.headers.update(exc.headers or {})
        return response

    # A value outside what a column can hold: SQLite raises OverflowError before
    # the statement runs, PostgreSQL a DataError (wrapped by SQLAlchemy, or raw
    # from psycopg's COPY on the bulk paths). Never a 500: a 422, naming the
    # column when the database says which.
    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        return _data_problem(exc)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        return _data_problem(exc)

    @app.exception_handler(psycopg.DataError)
    async def _driver_data(_: Request, exc: psycopg.DataError) -> JSONResponse:
        return _data_problem(exc)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # A unique constraint lost a race with a concurrent write of the same thing.
        log.info("integrity conflict: %s", exc.orig)
        return problem(
            409, "conflict", "Conflict", "a concurrent request wrote the same record; retry it"
        )

    @app.exception_handler(OperationalError)
    async def _operational(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return problem(
            503,
            "service-unavailable",
            "Service unavailable",
            "the database is busy or unreachable; retry",
        )
