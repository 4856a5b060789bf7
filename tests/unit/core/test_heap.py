import gc

from patron.core.heap import OLDER_THRESHOLDS, YOUNG_THRESHOLD, settle_startup_heap


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
