"""The generated non-digit sets (tests/not_digits.py) are seeded, cover every category,
and every picture holds marks the preprocessing finds."""

from __future__ import annotations

import numpy as np
import pytest
from not_digits import CATEGORIES, drawn_set, typed_set

from mnist_pipeline.handwriting import to_mnist


@pytest.mark.parametrize("make", [drawn_set, typed_set])
def test_a_set_is_the_same_for_a_seed_and_covers_every_category(make):
    first, again, other = make(16, 3), make(16, 3), make(16, 4)
    assert [(c, w) for c, w, _ in first] == [(c, w) for c, w, _ in again]
    assert all(
        np.array_equal(np.asarray(a), np.asarray(b))
        for (_, _, a), (_, _, b) in zip(first, again, strict=True)
    )
    assert any(
        not np.array_equal(np.asarray(a), np.asarray(b))
        for (_, _, a), (_, _, b) in zip(first, other, strict=True)
    )
    assert {category for category, _, _ in first} == set(CATEGORIES)
    sizes = {picture.size for _, _, picture in first}
    assert (280, 280) in sizes and len(sizes) > 1  # page drawings and photos


@pytest.mark.parametrize("make", [drawn_set, typed_set])
def test_every_picture_has_marks_to_read(make):
    for category, what, picture in make(24, 5):
        field = to_mnist(np.asarray(picture.convert("L"), np.float32) / 255)  # raises NoInk on a blank one
        assert field.max() == 1, (category, what)
