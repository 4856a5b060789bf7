import gc

from patron.core.heap import (
    OLDER_THRESHOLDS,
    YOUNG_THRESHOLD,
    collected_after,
    settle_startup_heap,
)


def test_a_settled_heap_is_frozen_and_collected_less_often() -> None:
    before = gc.get_threshold()
    kept = [object() for _ in range(10)]
    gc.set_threshold(700, 10, 10)  # Python's defaults; the CLI's tests may have settled already
    try:
        settle_startup_heap()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
        # Cycles made afterwards are still collected.
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_a_unit_of_work_runs_without_the_collector_and_its_cycles_go_after() -> None:
    assert gc.isenabled()
    gc.collect()
    with collected_after():
        assert not gc.isenabled()
        _Node()
        gc.disable()  # what runs inside does not decide for after
    assert gc.isenabled()
    assert not [o for o in gc.get_objects() if isinstance(o, _Node)]


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with collected_after():
            _Node()
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.collect()


def test_an_error_inside_still_turns_the_collector_back_on() -> None:
    try:
        with collected_after():
            raise ValueError("a failed batch")
    except ValueError:
        pass
    assert gc.isenabled()
