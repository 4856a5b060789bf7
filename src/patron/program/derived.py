"""What is worked out from a program once and kept while the program lives.

A program in force is parsed once per version (``program.service``) and the
same object serves every batch, so what a batch derives from it alone (the
compiled rules, the tier levels) is built on first use and remembered against
that object, forgotten when it is collected.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # program.schema checks rules with the engine's modules
    from patron.program.schema import Program

T = TypeVar("T")


def per_program(build: Callable[[Program], T]) -> Callable[[Program], T]:
    """``build(program)`` remembered per program object (by identity: a program
    is never changed once loaded)."""
    cache: dict[int, tuple[weakref.ref[Program], T]] = {}

    @functools.wraps(build)
    def cached(program: Program) -> T:
        key = id(program)
        entry = cache.get(key)
        if entry is not None and entry[0]() is program:
            return entry[1]
        result = build(program)

        def forget(ref: weakref.ref[Program], key: int = key) -> None:
            if cache.get(key, (None,))[0] is ref:
                del cache[key]

        cache[key] = (weakref.ref(program, forget), result)
        return result

    return cached
