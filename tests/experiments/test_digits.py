"""The default task's data: scikit-learn's digits, read without importing scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from data.digits.files import load_digits_arrays, split_digits


def test_the_csv_reader_gives_exactly_scikit_learns_digits() -> None:
    pixels, labels = load_digits_arrays()
    reference = load_digits()
    np.testing.assert_array_equal(pixels, reference.data)
    np.testing.assert_array_equal(labels, reference.target)


def test_splits_partition_the_data_by_seed() -> None:
    first, again, other = (split_digits(seed, 0.1, 0.2) for seed in (1, 1, 2))
    sizes = {name: len(labels) for name, (_, labels) in first.items()}
    assert sizes == {"test": 359, "val": 180, "train": 1258}
    assert all((first[name][0] == again[name][0]).all() for name in first)
    assert not (first["test"][0] == other["test"][0]).all()
    assert float(first["train"][0].max()) == 1.0 and float(first["train"][0].min()) == 0.0
