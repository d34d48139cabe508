"""Digits cut out tight: pictures that end where the ink ends, in either polarity, 8 px to large."""

from __future__ import annotations

import os

import numpy as np
import pytest
from tight_crops import (
    FORMATS,
    POLARITIES,
    read_pictures,
    rough_crop,
    tight_crop,
    uci_digits,
    uci_picture,
)

from mnist_pipeline import handwriting, paper

needs_mnist = pytest.mark.skipif(
    not os.environ.get("MNIST_DATA"), reason="set MNIST_DATA to a folder of the MNIST files"
)


def seven(side: int = 40, stroke: int = 6) -> np.ndarray:
    """A '7' (bar and stem) filling its whole picture, bright on black: a tight crop."""
    picture = np.zeros((side, side), np.float32)
    picture[:stroke] = 1
    for row in range(side):
        column = round((side - stroke) * (1 - row / side) * 0.8) + side // 5
        picture[row, max(0, column - stroke // 2) : column + stroke // 2] = 1
    return picture


def test_a_tight_crop_keeps_its_polarity():
    # Light ink touching the edges must not make the page "light": nothing darker is on it.
    assert not handwriting.on_light_page(seven())
    assert handwriting.on_light_page(1 - seven())


def test_a_shadowed_page_is_still_light():
    """Most of the edge in a shadow, but dark ink lies on the page: a light page."""
    photo = np.full((200, 200), 0.9, np.float32)
    photo[:, 60:] *= 0.45  # a shadow over most of the picture
    photo[80:120, 20:24] = 0.1  # ink in the lit part
    assert handwriting.on_light_page(photo)


def test_a_page_in_shadow_lit_only_in_a_corner_is_still_light():
    """Almost all of the edge in a shadow (the lit corner under a tenth of it), dark ink
    in the shadow: paper, not a dark page (hard photos of numbers were read as light ink
    on a dark page and came out blank)."""
    photo = np.full((200, 200), 0.9 * 0.45, np.float32)  # paper in a shadow
    photo[:20, :20] = 0.9  # lit in one corner
    photo[80:120, 90:95] = 0.1  # ink in the shadow
    assert handwriting.on_light_page(photo)


def test_a_tight_crop_gets_a_margin_and_a_photo_does_not():
    crop = seven()
    padded = handwriting.with_margin_if_tight(crop)
    assert padded.shape[0] > crop.shape[0] and padded.shape[1] > crop.shape[1]
    assert not padded[0].any() and not padded[:, 0].any()  # the margin is page
    photo = np.pad(crop, 40)  # the same digit with the page around it
    assert handwriting.with_margin_if_tight(photo) is photo
    squared = np.zeros((120, 120), np.float32)  # squared paper's lines cross every edge often
    squared[::15], squared[:, ::15] = 1, 1
    assert handwriting.with_margin_if_tight(squared) is squared


def test_a_digit_filling_only_its_height_gets_a_margin_on_a_light_page():
    """A '1' that touches the top and bottom (as scikit-learn's UCI digits do), dark on
    white: the page under its ends can only be found with page beyond them."""
    ink = np.zeros((60, 60), np.float32)
    ink[:, 24:36] = 1  # a thick stroke from the top edge to the bottom edge
    grey = 1 - 0.8 * ink
    assert handwriting.with_margin_if_tight(ink, grey) is grey  # all four edges: not tight
    padded = handwriting.with_margin_if_tight(ink, grey, filling_height=True)
    assert padded.shape[0] > grey.shape[0] and np.all(padded[0] > 0.9)  # page around it
    shadow = ink.copy()  # a shadow's edge across the photo, the digit in the middle
    shadow[:, 24:36], shadow[:, :8] = 0, 1
    shadow[20:40, 26:34] = 1
    assert handwriting.with_margin_if_tight(shadow, 1 - 0.8 * shadow, filling_height=True).shape == (60, 60)


def test_soft_thick_strokes_are_thinned_and_others_kept():
    """A blurred '0' with a broad stroke (as an 8x8 picture enlarged looks) is thinned to
    MNIST's widest usual stroke; a digit with MNIST's pen is placed exactly as before."""
    from scipy import ndimage

    distance = np.hypot(*(np.indices((200, 140)) - np.array([100, 70])[:, None, None]))
    thick = ndimage.gaussian_filter((np.abs(distance - 55) < 18).astype(np.float32), 8)
    assert paper.stroke_width(handwriting.in_digit_box(thick) > 0.5) > handwriting.MNIST_STROKE
    field = handwriting.centred_field(thick)
    width = paper.stroke_width(field > 0.5)
    assert 2.5 < width <= handwriting.MNIST_STROKE, width
    ring = field > 0.5  # still one whole ring around a hole
    assert ndimage.label(ring)[1] == 1 and ndimage.label(~ring)[1] == 2
    thin = (np.abs(distance - 55) < 4).astype(np.float32)
    digit = handwriting.in_digit_box(thin)
    assert handwriting.no_thicker_than_mnist(digit) is digit


def test_the_pen_is_measured_on_a_digit_filling_its_picture_not_on_a_fleck():
    """A rough pass's ink clear of the edge is what the pen is measured by (a shadow's
    corner at the edge is not ink), unless all that is clear of the edge is a fleck of a
    digit that fills its picture (as dark-on-white UCI digits do)."""
    filling = np.zeros((100, 100), bool)
    filling[:, 40:60] = True  # a thick stroke from edge to edge
    filling[20:23, 70:72] = True  # and a fleck beside it
    assert np.array_equal(paper.away_from_border(filling), filling)
    photo = np.zeros((400, 400), bool)
    photo[:, :20] = True  # a shadow's edge along the photo's side
    photo[180:220, 200:204] = True  # the digit, small, clear of the edge
    assert np.array_equal(paper.away_from_border(photo), photo & ~(np.arange(400) < 20))
    page = 1 - 0.8 * filling.astype(np.float32)  # the stroke keeps its ink after evening
    assert paper.ink_on_light_page(page)[:, 40:60].min() > 0.7


def test_a_stroke_filling_the_picture_is_not_a_printed_line():
    """Printed lines are thin; the bars of a digit that fills its picture are not erased."""
    ink = np.zeros((120, 120), np.float32)
    ink[0:20] = 1  # two thick bars across the whole picture, as in a tight '2' or '7'
    ink[100:120] = 1
    assert np.array_equal(paper.without_printed_lines(ink), ink)
    ruled = np.zeros((120, 120), np.float32)
    ruled[10::30, :] = 1  # thin printed lines are still erased
    assert not paper.without_printed_lines(ruled).any()


@pytest.fixture(scope="module")
def mnist_model(mnist_model_and_check):
    return mnist_model_and_check[0]


@pytest.fixture(scope="module")
def test_digits(mnist_data):
    chosen = np.random.default_rng(7).choice(len(mnist_data.x_test), 400, replace=False)
    return mnist_data.x_test[chosen], mnist_data.y_test[chosen]


@pytest.mark.slow
@needs_mnist
@pytest.mark.parametrize("polarity", POLARITIES)
def test_tight_mnist_crops_are_read_right(mnist_model, test_digits, polarity):
    """Cut to the ink box, 1-6x, with and without a 1-2 px margin, PNG and JPEG: at least
    95% read right in each polarity (the same digits uncropped: about 97%)."""
    digits, labels = test_digits
    rng = np.random.default_rng(0)
    pictures = [
        tight_crop(digit, polarity, int(rng.choice([1, 2, 3, 4, 6])), int(rng.integers(3)), FORMATS[i % 2])
        for i, digit in enumerate(digits)
    ]
    share = np.mean(read_pictures(mnist_model, pictures) == labels)
    assert share >= 0.95, share


@pytest.mark.slow
@needs_mnist
def test_kept_aside_crops_made_another_way_are_read_right(mnist_model, test_digits):
    """The check set (never looked at while tuning): other cut levels and resampling, grey
    page and ink, noise, stretched boxes, any JPEG quality; either polarity. On the
    development machine (2026-12-02): white on black 0.943, dark on white 0.966 (0.893
    before the pen was measured on the whole of a digit filling its picture), hence 0.90."""
    digits, labels = test_digits
    rng = np.random.default_rng(2026)
    crops = [rough_crop(digit, rng) for digit in digits]
    read = read_pictures(mnist_model, [picture for picture, _ in crops]) == labels
    for polarity in POLARITIES:
        mine = np.array([kind == polarity for _, kind in crops])
        assert np.mean(read[mine]) >= 0.90, (polarity, np.mean(read[mine]))


@pytest.mark.slow
@needs_mnist
@pytest.mark.parametrize(("polarity", "factor"), [("white on black", 1), ("dark on white", 4)])
def test_uci_digits_are_mostly_read_right(mnist_model, polarity, factor):
    """scikit-learn's 1,797 UCI digits, 8x8 as they are and enlarged to 32x32. Before tight
    crops were handled: 0.12 and 0.35; before strokes were thinned: 0.835 and 0.800 on
    the development machine (0.7997 in CI: the same recipe trains a slightly different
    network on another CPU). Now 0.858 and 0.848 (see docs), hence 0.80."""
    images, labels = uci_digits()
    share = np.mean(read_pictures(mnist_model, [uci_picture(i, polarity, factor) for i in images]) == labels)
    assert share >= 0.80, share
