"""Handwriting: any picture of one digit -> an MNIST-style 28x28 image.

MNIST digits are bright ink on black, scaled so the longer side of their
bounding box is 20 px (anti-aliased), then placed in a 28x28 field with their
centre of mass at the centre. A phone photo is dark ink on a light, unevenly lit
page, large and off-centre; `to_mnist` undoes each of those differences.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_pipeline.data import IMAGE_SIDE
from mnist_pipeline.paper import (
    LINE_WIDTH,
    border_mask,
    grown,
    ink_median,
    ink_on_light_page,
    median_3x3,
    otsu_threshold,
    smooth_background,
    stroke_width,
    without_printed_lines,
)
from mnist_pipeline.picture import Box, ImageError, PictureFile, lanczos_resized, resized_to, scaled_shape

WORK_SIDE = 512  # big photos are shrunk to this longer side first: ample for a 20 px digit
DIGIT_BOX = 20  # MNIST's box for the digit inside the 28x28 field
# That box holds the strokes, pixels at least this share of the brightest, not the faint
# edge that enlarging or blur spreads around them: MNIST fitted its bilevel digits to the
# box and anti-aliased them there, and a box around a wide faint edge made every digit a
# little smaller than theirs.
BOX_INK = 0.3
FIELD_CENTRE = 14.0  # where MNIST puts the centre of mass (row and column, in pixels)
MIN_INK_CONTRAST = 0.1  # ink must stand out from the page by 10% of full scale
# The scale the steps below were made for: smaller photos of paper are enlarged to this
# longer side first, and blur and grain grouping only run on pictures at least this large.
MIN_SIDE = 8 * IMAGE_SIDE
PART_SHARE = 0.15  # a detached part of the digit (a 5's bar) is at least this share of its body
BORDER_SHARE = 0.1  # the body clear of the photo's edge is at least this share of the largest mark
# Light page or dark? When most of the edge is dark, a light page has ink darker still on it:
DARKER_INK = 0.15  # this much darker than the edge's median grey,
DARKER_PIXELS, DARKER_SHARE = 10, 0.0002  # in at least this many pixels, or this share of them.
# A digit cut out tight: ink within a stroke's width (TIGHT_EDGE px at least: an enlarged
# crop's faint edge is wide) of every edge (on a light page, two opposite ones may do: see
# `with_margin_if_tight`), meeting none in more than TIGHT_RUNS places; it is given a
# margin of TIGHT_MARGIN times its longer side.
TIGHT_EDGE, TIGHT_RUNS, TIGHT_MARGIN = 3, 3, 0.25
# Nine in ten MNIST training digits have strokes no wider than this in their 20 px box
# (`stroke_width` of the pixels over half bright: 3.69 px, measured on 10,000 of them).
# Thicker soft strokes (a small, blurred picture enlarged, as 8x8 digits are) are thinned
# to it, in up to THINNING_ROUNDS rounds (the box fitted again after each makes them a
# little thicker again).
MNIST_STROKE, THINNING_ROUNDS = 3.7, 3


class NoInk(ImageError):
    """A blank or nearly uniform picture: there is no digit to classify."""


def read_digit(source: Path | bytes, name: str | None = None) -> np.ndarray:
    """The digit in an image file (a path, or an upload's bytes) as an MNIST-style 28x28."""
    with PictureFile(source, name) as picture:
        return to_mnist(picture, picture.name)


class GreyArray:
    """A picture already in memory as grey levels: `to_mnist` reads it as it reads a file."""

    def __init__(self, grey: np.ndarray) -> None:
        self.array, self.shape = grey, grey.shape

    def grey(self, scale: float = 1.0, box: Box | None = None) -> np.ndarray:
        top, left, bottom, right = box or (0, 0, *self.shape)
        region = self.array[top:bottom, left:right]
        return resized_to(region, scaled_shape(region.shape, scale))


def digit_parts(labels: np.ndarray) -> np.ndarray:
    """The labels of the components that make up the digit: the largest, and those at
    least PART_SHARE its size that lie within a quarter of its size of it (a 5's detached bar)."""
    from scipy import ndimage

    sizes = np.bincount(labels.ravel())[1:]
    largest = int(np.argmax(np.where(clear_of_border(labels, sizes), sizes, 0)))
    boxes = ndimage.find_objects(labels)
    main = boxes[largest]
    reach = 0.25 * max(main[0].stop - main[0].start, main[1].stop - main[1].start)
    parts = []
    for label, (size, box) in enumerate(zip(sizes, boxes, strict=True), start=1):
        gap = max(max(box[a].start - main[a].stop, main[a].start - box[a].stop) for a in (0, 1))
        if size >= PART_SHARE * sizes[largest] and gap <= reach:
            parts.append(label)
    return np.array(parts)


def clear_of_border(labels: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Which marks (labels 1, 2, ...; `sizes` their pixel counts) may be the writing.

    A shadow's corner where it meets the picture's edge reads as a solid wedge of ink,
    often larger than the digit: the writing is clear of the edge, unless only a sliver
    is (a digit that runs off the photo); then every mark may be."""
    inner = clear_of_edges(labels, len(sizes), 1)
    if not inner.any() or sizes[inner].max() < BORDER_SHARE * sizes.max():
        return np.ones(len(sizes), bool)
    return inner


def clear_of_edges(labels: np.ndarray, count: int, depth: int) -> np.ndarray:
    """Which of the `count` marks (labels 1, 2, ...) lie more than `depth` pixels from
    every edge of the picture."""
    at_edges = np.unique(labels[border_mask(labels.shape, depth)])
    clear = np.ones(count, bool)
    clear[at_edges[at_edges > 0] - 1] = False
    return clear


def to_mnist(picture: PictureFile | np.ndarray, name: str = "image") -> np.ndarray:
    """Any picture of one digit (a file, or grey levels in [0, 1]) -> 28x28 float32 in
    [0, 1], as MNIST was made."""
    if isinstance(picture, np.ndarray):
        picture = GreyArray(picture)
    view = first_look(picture, name)
    return centred_field(closer_look(picture, view, digit_ink(view.marks), name))


class FirstLook:
    """A picture read once at the working size: its ink, and how it maps to the picture."""

    def __init__(self, marks: Marks, light: bool, scale: float) -> None:
        self.marks, self.light, self.scale = marks, light, scale  # scale: work pixels per picture pixel


def first_look(picture: PictureFile | GreyArray, name: str) -> FirstLook:
    """The picture at the size the work needs, with its ink found and grouped into marks."""
    # 1. Work at a modest size: a 12-megapixel photo holds no more digit than 512 px (and
    # is read at that size), and a photo of a few dozen pixels is enlarged, so that every
    # step below (median, closing, blur, grouping of pencil grains) sees strokes at the
    # scale it was made for. (MNIST-style pictures, light ink on dark, keep their size:
    # they need none of that.)
    scale = min(1.0, WORK_SIDE / max(picture.shape))
    work = picture.grey(scale)
    light = on_light_page(work)
    if light and max(picture.shape) < MIN_SIDE:
        scale = MIN_SIDE / max(picture.shape)
        work = picture.grey(scale)
    return FirstLook(page_marks(work, light, name), light, scale)


def closer_look(picture: PictureFile | GreyArray, view: FirstLook, ink: np.ndarray, name: str) -> np.ndarray:
    """`ink` (the digit's strokes in the first look), or, when the digit is small in a big
    photo, the digit read again, closer: the digit and a digit's width around it, from the
    full-size picture (unless the page was turned level, which moved the digit). The page
    is the one found in the whole photo: the crop may lie wholly in a shadow."""
    scale = view.scale
    rows, columns = inked_box(ink)
    box = max(rows.stop - rows.start, columns.stop - columns.start)
    if scale < 1 and box < WORK_SIDE / 8 and ink.shape == scaled_shape(picture.shape, scale):
        top, left = (max(0, int((edge.start - box) / scale)) for edge in (rows, columns))
        bottom, right = (
            min(int((edge.stop + box) / scale) + 1, side)
            for edge, side in ((rows, picture.shape[0]), (columns, picture.shape[1]))
        )
        region = (top, left, bottom, right)
        closer = min(1.0, WORK_SIDE / max(bottom - top, right - left))
        ink = digit_ink(page_marks(picture.grey(closer, region), view.light, name))
    return ink


def on_light_page(grey: np.ndarray) -> bool:
    """Dark ink on a light page (paper), rather than light ink on a dark one (MNIST, a
    screen)?

    When most of the edge is light, the page is. When most of it is dark, the page may
    still be paper in a shadow, lit in a corner or not at all, or the edge may be light
    ink touching it, in a digit cut out tight: the page is light only if something
    darker still lies on it (ink, in the lit part or in the shadow); on a dark page,
    nothing is darker.
    """
    edge_level = float(np.median(grey[border_mask(grey.shape, 1)]))
    if edge_level > 0.5:
        return True
    darker = np.count_nonzero(grey < edge_level - DARKER_INK)
    return darker >= max(DARKER_PIXELS, DARKER_SHARE * grey.size)


def with_margin_if_tight(
    ink: np.ndarray, grey: np.ndarray | None = None, filling_height: bool = False
) -> np.ndarray:
    """A digit cut out tight (`ink`, bright on dark, touching the picture's edges) with
    the margin of page a photo would have had, so that no rule made for photos takes its
    strokes for printed lines or for a digit running off the page. Other pictures as they
    are. With `grey` (the picture `ink` was found in, the same size), `grey` gets the margin.

    Tight: ink within a stroke's width (TIGHT_EDGE pixels at least) of all four edges,
    meeting none in more than TIGHT_RUNS places, on less than half of the picture's
    outline (the printed lines of squared paper cross every edge many times). With
    `filling_height`, also of two opposite edges only (a digit that fills its picture's
    height or width), in strokes too thick for a ruled page's lines, with no mark clear
    of the edges (a shadow's edge may cross a photo, but the digit in it is not at the edges).
    """
    grey = ink if grey is None else grey
    marked = ink > otsu_threshold(ink)
    width = stroke_width(marked)
    depth = max(TIGHT_EDGE, round(width))
    sides = [marked[:depth].any(axis=0), marked[-depth:].any(axis=0)]
    sides += [marked[:, :depth].any(axis=1), marked[:, -depth:].any(axis=1)]
    top, bottom, left, right = (np.count_nonzero(side[1:] & ~side[:-1]) + int(side[0]) for side in sides)
    spans = min(top, bottom, left, right) >= 1  # all four edges
    if filling_height and not spans and (min(top, bottom) >= 1 or min(left, right) >= 1):
        spans = width > LINE_WIDTH * min(ink.shape) and not mark_clear_of_edges(marked, depth)
    edge = border_mask(ink.shape, 1)
    if not spans or max(top, bottom, left, right) > TIGHT_RUNS or marked[edge].mean() >= 0.5:
        return grey
    page_level = float(np.median(grey[edge & ~marked]))
    return np.pad(grey, max(2, round(TIGHT_MARGIN * max(grey.shape))), constant_values=page_level)


def mark_clear_of_edges(marked: np.ndarray, depth: int) -> bool:
    """Does a mark at least PART_SHARE the size of the largest lie more than `depth`
    pixels from every edge?"""
    from scipy import ndimage

    labels, count = ndimage.label(marked, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    return bool((sizes[clear_of_edges(labels, count, depth)] >= PART_SHARE * sizes.max()).any())


class Marks:
    """The ink of a picture, bright on black in [0, 1] (`grey`), and its marks: the
    strokes (`marked`) grouped into connected parts (`labels`, 0 for the page)."""

    def __init__(self, grey: np.ndarray, marked: np.ndarray, labels: np.ndarray) -> None:
        self.grey, self.marked, self.labels = grey, marked, labels


def page_marks(grey: np.ndarray, light_page: bool, name: str) -> Marks:
    """The picture's ink, evened out and stretched to full brightness, and its marks."""
    from scipy import ndimage

    # Smooth away speckle and paper grain (on a small image a 3x3 median would eat strokes).
    if max(grey.shape) >= 4 * IMAGE_SIDE:
        grey = median_3x3(np.round(grey * 255).astype(np.uint8)).astype(np.float32) / 255
    # 2. Find the ink, evening out the lighting; MNIST ink is bright on black.
    if light_page:
        ink = ink_on_light_page(grey)
        # A digit cut out tight, even one that only fills the picture's height: the page
        # under strokes at the edge is found again with page around them. (Tested on the
        # evened-out ink: a shadow is not a digit.)
        padded = with_margin_if_tight(ink, grey, filling_height=True)
        grey = without_printed_lines(ink if padded is grey else ink_on_light_page(padded))
        if max(grey.shape) >= MIN_SIDE:  # a pixel's blur against JPEG blocks and grain
            grey = ndimage.gaussian_filter(grey, 1.0)
    else:  # a dark page (a screen drawing, an MNIST digit): only gentle gradients to even out
        for _ in range(2):  # the second pass tells ink from page better, on an evened-out page
            grey = grey - smooth_background(grey, grey > otsu_threshold(grey))
        grey = with_margin_if_tight(grey)
    # 3. Stretch the ink to full brightness; the page and its noise become black.
    ink = grey > otsu_threshold(grey)
    near_ink = grown(ink, 3)  # anti-aliased edges are not page noise
    page = grey[~near_ink] if not near_ink.all() else grey[~ink]
    page_level = ink_median(page)
    noise = 1.4826 * ink_median(np.abs(page - page_level))  # robust standard deviation
    if ink.any():  # faint texture (paper grain, leftover lines) can fill Otsu's ink class:
        ink = ink & (grey > otsu_threshold(grey[ink]))  # its stronger half is the strokes
    ink_level = float(np.percentile(grey[ink], 95)) if ink.any() else page_level
    if ink_level - page_level < max(MIN_INK_CONTRAST, 8 * noise):
        raise NoInk(f"{name}: no ink found (a blank or nearly uniform image)")
    floor = page_level + 3 * noise
    grey = np.clip((grey - floor) / (ink_level - floor), 0, 1)
    return marks_in(grey)


def marks_in(grey: np.ndarray) -> Marks:
    """4. The strokes of ink (bright on black) grouped into marks. Grains of a pencil
    stroke a pixel or two apart count as one stroke (in a picture large enough for two
    pixels to be a small gap)."""
    from scipy import ndimage

    marked = grouped = grey > 0.25
    if max(grey.shape) >= MIN_SIDE:
        grouped = grown(marked, 2)
    labels, _ = ndimage.label(grouped, structure=np.ones((3, 3)))
    return Marks(grey, marked, labels)


def digit_ink(marks: Marks) -> np.ndarray:
    """The digit's strokes (`digit_parts`), bright on black in [0, 1]; stray specks and
    shadow wedges black."""
    return strokes_ink(marks, marks.marked & np.isin(marks.labels, digit_parts(marks.labels)))


def strokes_ink(marks: Marks, strokes: np.ndarray) -> np.ndarray:
    """The ink of the chosen `strokes` and its anti-aliased edges; everything else black."""
    return np.where(grown(strokes, 2), marks.grey, 0)


def centred_field(ink: np.ndarray) -> np.ndarray:
    """Crop to the strokes, fit the longer side to 20 px (soft strokes thicker than MNIST's
    thinned), and centre by mass in 28x28."""
    # A digit at MNIST's own scale keeps its grey edge in its box, as MNIST's do; larger,
    # the edge is one that enlarging or blur spread, and the box holds the strokes only.
    rows, columns = inked_box(ink)
    larger = max(rows.stop - rows.start, columns.stop - columns.start) > 2 * DIGIT_BOX
    edge = BOX_INK if larger else 0.0
    digit = in_digit_box(ink, edge)
    for _ in range(THINNING_ROUNDS):
        thinner = no_thicker_than_mnist(digit)
        if thinner is digit:
            break
        digit = in_digit_box(thinner, edge)  # thinning shaved the outer edge: fit the box again
    centre_row, centre_column = centre_of_mass(digit)
    top = int(np.clip(round(FIELD_CENTRE - centre_row), 0, IMAGE_SIDE - digit.shape[0]))
    left = int(np.clip(round(FIELD_CENTRE - centre_column), 0, IMAGE_SIDE - digit.shape[1]))
    field = np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return field


def inked_box(ink: np.ndarray) -> tuple[slice, slice]:
    """The rows and the columns from the first to the last that hold any ink (there is some)."""
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(columns[0]), int(columns[-1]) + 1)


def centre_of_mass(digit: np.ndarray) -> tuple[float, float]:
    """The ink's centre of mass (row, column), worked out as scipy.ndimage.center_of_mass
    works it out, to the bit, without its checks (it is called for every candidate digit)."""
    total = digit.sum()
    rows = np.arange(digit.shape[0], dtype=float)[:, None]
    columns = np.arange(digit.shape[1], dtype=float)
    return float((digit * rows).sum() / total), float((digit * columns).sum() / total)


def in_digit_box(ink: np.ndarray, edge: float = 0.0) -> np.ndarray:
    """The ink cropped to the pixels brighter than `edge` times the brightest, the longer
    side scaled to 20 px (anti-aliased), brightest 1."""
    crop = ink[inked_box(ink > edge * ink.max())]
    factor = DIGIT_BOX / max(crop.shape)
    shape = (max(1, round(crop.shape[0] * factor)), max(1, round(crop.shape[1] * factor)))
    digit = np.clip(lanczos_resized(crop, shape), 0, 1)
    return digit / digit.max()


def no_thicker_than_mnist(digit: np.ndarray) -> np.ndarray:
    """`digit` (in its 20 px box, brightest 1) with strokes at most MNIST_STROKE wide,
    where its strokes are soft enough to thin (returned as it is if they are not wider).

    The network learned MNIST's pen: strokes much thicker than most of its digits', as a
    small, blurred picture enlarged gives, make a 1 with a base look like an 8. Raising
    the black level narrows a soft stroke's bright core, its shape kept (a hard-edged
    stroke barely narrows); the lowest level that narrows it enough is found by halving.

    `stroke_width` of the pixels over half bright at each level, counted without making
    the picture at that level: a pixel is inside a stroke when the darkest of it and its
    four neighbours is over half bright, and raising the black level keeps that order."""
    darkest = np.full_like(digit, -np.inf)  # of each pixel and its four neighbours; at the edge, none
    darkest[1:-1, 1:-1] = np.minimum.reduce(
        [digit[1:-1, 1:-1], digit[:-2, 1:-1], digit[2:, 1:-1], digit[1:-1, :-2], digit[1:-1, 2:]]
    )

    def width(level: float) -> float:
        ink = np.count_nonzero((digit - level) / (1 - level) > 0.5)
        inside = np.count_nonzero((darkest - level) / (1 - level) > 0.5)
        return 2 * ink / max(1, ink - inside)

    if width(0.0) <= MNIST_STROKE:
        return digit
    low, high = 0.0, 0.8  # a black level of 0.8 would leave only the strokes' cores
    for _ in range(8):
        level = (low + high) / 2
        if width(level) > MNIST_STROKE:
            low = level
        else:
            high = level
    return np.clip((digit - high) / (1 - high), 0, 1)
