"""Row compression: merging identical (frequency, recency, T) rows with their counts."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from patron.analytics.clv._common import _compress_by_lexsort, compress_rows, worth_compressing

values = st.one_of(
    st.integers(min_value=0, max_value=6).map(float),  # whole periods: direct codes
    st.sampled_from([0.0, 0.5, 1.25, 2e6, 1e-3]),  # fractions and a wide range: sorted codes
)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(values, values, values), min_size=1, max_size=200),
    weights=hnp.arrays(np.float64, 200, elements=st.floats(0.5, 5.0)),
)
def test_compression_matches_a_lexicographic_sort(
    rows: list[tuple[float, float, float]], weights: np.ndarray
) -> None:
    columns = [np.array(column) for column in zip(*rows, strict=True)]
    w = weights[: len(rows)]
    merged, counts = compress_rows(*columns, weights=w)
    expected, expected_counts = _compress_by_lexsort(tuple(columns), w)
    for got, want in zip(merged, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(counts, expected_counts, rtol=1e-12)
    assert np.isclose(counts.sum(), w.sum())
    assert len({tuple(r) for r in rows}) == counts.size


def test_worth_compressing_only_repetitive_data() -> None:
    rng = np.random.default_rng(0)
    whole_weeks = rng.integers(0, 10, (3, 100_000)).astype(float)
    continuous = rng.random((3, 100_000))
    assert worth_compressing(*whole_weeks)
    assert not worth_compressing(*continuous)
