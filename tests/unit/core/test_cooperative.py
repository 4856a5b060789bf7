"""The greenlet bridge of ``core.cooperative``, without a database."""

from __future__ import annotations

import asyncio

import pytest

from patron.core.cooperative import on_the_loop, run_cooperatively, wait_on_loop


def test_a_wait_handed_over_is_awaited_by_the_loop_and_its_value_returned() -> None:
    def work(x: int) -> tuple[int, bool]:
        y = wait_on_loop(asyncio.sleep(0.01, result=x * 2))
        return y + 1, on_the_loop()

    assert asyncio.run(run_cooperatively(work, 20)) == (41, True)
    assert not on_the_loop()


def test_two_greenlets_wait_at_the_same_time() -> None:
    def work(name: str) -> str:
        wait_on_loop(asyncio.sleep(0.2))
        return name

    async def main() -> tuple[list[str], float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        names = await asyncio.gather(run_cooperatively(work, "a"), run_cooperatively(work, "b"))
        return names, loop.time() - started

    names, took = asyncio.run(main())
    assert names == ["a", "b"]
    assert took < 0.35  # not 0.4: the waits overlapped


def test_an_awaitable_that_fails_raises_inside_the_function() -> None:
    async def failing() -> None:
        raise LookupError("gone")

    def work() -> str:
        try:
            wait_on_loop(failing())
        except LookupError as exc:
            return f"handled: {exc}"
        return "not raised"

    assert asyncio.run(run_cooperatively(work)) == "handled: gone"


def test_an_error_of_the_function_reaches_the_caller() -> None:
    def work() -> None:
        wait_on_loop(asyncio.sleep(0))
        raise ValueError("bad row")

    with pytest.raises(ValueError, match="bad row"):
        asyncio.run(run_cooperatively(work))
