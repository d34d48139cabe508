"""The page under the ink: lighting, shadows and printed lines, for `handwriting`.

A photo of a digit is mostly paper. These steps tell the paper from the ink: a
threshold that splits grey levels in two (Otsu), a fast 3x3 median against grain, a
smooth surface for the gentle gradients of a dark page, a morphological closing for the
shadows on a light one, and the erasing of ruled and squared paper's printed lines.
"""

from __future__ import annotations

import numpy as np


def border_mask(shape: tuple[int, int], pixels: int | None = None) -> np.ndarray:
    """The outer 5% frame of an image (or `pixels` wide), where the page shows even when
    the ink is off-centre."""
    mask = np.zeros(shape, dtype=bool)
    rows, columns = (pixels or max(1, round(side * 0.05)) for side in shape)
    mask[:rows], mask[-rows:], mask[:, :columns], mask[:, -columns:] = True, True, True, True
    return mask


def otsu_threshold(values: np.ndarray) -> float:
    """The grey level that best splits `values` into two classes (Otsu's method)."""
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-3:
        return high  # a uniform image: nothing stands out as ink
    bins = 256  # a histogram by counting, as np.histogram would make it, at a third of its cost
    index = np.minimum(((values - low) * (bins / (high - low))).astype(np.intp), bins - 1)
    counts = np.bincount(index.ravel(), minlength=bins)
    centres = low + (np.arange(bins) + 0.5) * ((high - low) / bins)
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    mean_low = np.cumsum(counts * centres) / np.maximum(weight_low, 1)
    mean_high = (np.sum(counts * centres) - np.cumsum(counts * centres)) / np.maximum(weight_high, 1)
    return float(centres[np.argmax(weight_low * weight_high * (mean_low - mean_high) ** 2)])


def ink_median(values: np.ndarray) -> float:
    """The median of ink levels (none below 0). On a clean page most are exactly 0, and
    then so is the median: known at once, without sorting half a picture."""
    if np.count_nonzero(values) < values.size // 2 and values.min() >= 0:  # over half are 0
        return 0.0
    return float(np.median(values))


# A sorting network for nine values (Paeth): after these 19 compare-and-swap steps,
# value 4 is the median. Each step is one np.minimum and one np.maximum over the image.
MEDIAN_OF_9 = [(1, 2), (4, 5), (7, 8), (0, 1), (3, 4), (6, 7), (1, 2), (4, 5), (7, 8), (0, 3)]
MEDIAN_OF_9 += [(5, 8), (4, 7), (3, 6), (1, 4), (2, 5), (4, 7), (4, 2), (6, 4), (4, 2)]


def median_3x3(image: np.ndarray) -> np.ndarray:
    """Each pixel's median over its 3x3 neighbourhood (edges mirrored), as Pillow's
    MedianFilter(3) gives it, in a fraction of the time for images of a few hundred px."""
    padded = np.pad(image, 1, mode="symmetric")
    height, width = image.shape
    values = [padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)]
    for a, b in MEDIAN_OF_9:
        values[a], values[b] = np.minimum(values[a], values[b]), np.maximum(values[a], values[b])
    return values[4]


def smooth_background(grey: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """A quadratic surface fitted to the page around the ink: lighting gradients and soft
    shadows are smooth, so subtracting this leaves the ink on an even, dark page."""
    height, width = grey.shape
    page = np.flatnonzero(~ink)
    sample = page[:: max(1, len(page) // 20_000)]  # every pixel is not needed
    rows, columns = np.divmod(sample, width)

    def terms(y: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
        """The quadratic's six terms, in coordinates from -1 to 1 across the image."""
        y, x = y / np.float32(max(height - 1, 1)) * 2 - 1, x / np.float32(max(width - 1, 1)) * 2 - 1
        return [np.ones_like(x * y), x, y, x * x, x * y, y * y]

    fitted = np.stack(terms(rows.astype(np.float32), columns.astype(np.float32)), axis=1)
    # Least squares by its normal equations: six unknowns, well conditioned on [-1, 1].
    fitted_t = fitted.T.astype(np.float64)
    coefficients = np.linalg.lstsq(fitted_t @ fitted, fitted_t @ grey.reshape(-1)[sample], rcond=None)[0]
    # Evaluated term by term on a row and a column of coordinates: no (height, width, 6) array.
    whole = terms(np.arange(height, dtype=np.float32)[:, None], np.arange(width, dtype=np.float32)[None, :])
    return sum(np.float32(c) * term for c, term in zip(coefficients, whole, strict=True))


def grown(mask: np.ndarray, steps: int) -> np.ndarray:
    """`mask` grown by `steps` pixels up, down, left and right: scipy's binary_dilation
    with `iterations=steps`, as whole-array shifts (several times quicker on small masks)."""
    for _ in range(steps):
        wider = mask.copy()
        wider[1:] |= mask[:-1]
        wider[:-1] |= mask[1:]
        wider[:, 1:] |= mask[:, :-1]
        wider[:, :-1] |= mask[:, 1:]
        mask = wider
    return mask


def stroke_width(ink: np.ndarray) -> float:
    """About how wide the strokes of a binary ink mask are, in pixels: a stroke of width w
    and length L covers w * L pixels and has about 2 * L pixels along its two sides."""
    inside = np.zeros_like(ink)  # ink whose four neighbours are ink too (the image's edge is not)
    inside[1:-1, 1:-1] = ink[1:-1, 1:-1] & ink[:-2, 1:-1] & ink[2:, 1:-1] & ink[1:-1, :-2] & ink[1:-1, 2:]
    edge = ink & ~inside
    return 2 * float(ink.sum()) / max(1.0, float(edge.sum()))


# A rough pass's ink clear of the picture's edge is only a fleck of a digit that fills the
# picture when it is under FLECK_SHARE of the ink, and the ink at the edge has strokes at
# least FILLING_STROKE of the picture's longer side wide (a digit's pen is about 0.13 of
# its box; the edge of a page or a shadow in a photo is mostly narrower than 0.075).
FLECK_SHARE, FILLING_STROKE = 0.1, 0.075


def away_from_border(mask: np.ndarray) -> np.ndarray:
    """The parts of `mask` that do not touch the picture's edge, unless they are only a
    fleck of a digit that fills its picture. (The corners of shadows that run into the
    edge are what a rough pass mistakes for ink; but a digit cut out tight touches the
    edge itself, and what is left clear of it is too small to measure the pen by.)"""
    from scipy import ndimage

    labels, _ = ndimage.label(mask)
    on_border = np.unique(labels[border_mask(mask.shape, 1)])
    inner = mask & ~np.isin(labels, on_border[on_border > 0])
    area = np.count_nonzero(inner)
    fleck = area < FLECK_SHARE * np.count_nonzero(mask)
    if area == 0 or (fleck and stroke_width(mask & ~inner) >= FILLING_STROKE * max(mask.shape)):
        return mask
    return inner


def ink_on_light_page(grey: np.ndarray) -> np.ndarray:
    """How much each pixel of a light page is ink, in [0, 1], whatever the lighting.

    The page without the strokes is what a morphological closing leaves when its window
    is wider than the strokes: shadows and their hard edges stay, strokes go. The window
    is three stroke widths, measured on a first, rough pass with a window a quarter of
    the picture wide. Ink is darkness relative to the page under it, so a stroke reads
    the same in the sun and in a shadow.
    """
    largest = max(3, max(grey.shape) // 4)
    rough = closing(grey, largest) - grey
    rough = without_printed_lines(rough)  # printed lines are thinner than most pens' strokes
    strokes = away_from_border(rough > otsu_threshold(rough))
    window = int(np.clip(round(3 * stroke_width(strokes)), 3, max(grey.shape)))
    page = closing(grey, window)
    return np.clip(1 - grey / np.maximum(page, 1e-3), 0, 1)


def closing(grey: np.ndarray, size: int) -> np.ndarray:
    """The grey closing of `grey` with a `size` x `size` window (edges reflected).

    On a clean white page (a drawing from the page, a scan) every window holds a pixel
    of the page's white, so the closing is that white everywhere. That is sure when
    every tile of the picture half a window wide holds one: each window, even one cut
    short by the picture's edge, covers a whole tile. Checking the tiles takes a
    fraction of the closing's time."""
    from scipy import ndimage

    lightest = grey.max()
    tile = size - size // 2  # at most half a window, and no longer than a window cut short at an edge
    rows, columns = -(-grey.shape[0] // tile), -(-grey.shape[1] // tile)
    white = np.zeros((rows * tile, columns * tile), bool)  # tiles cut short by the edge: no white added
    white[: grey.shape[0], : grey.shape[1]] = grey == lightest
    if white.reshape(rows, tile, columns, tile).any(axis=(1, 3)).all():
        return np.full_like(grey, lightest)
    return ndimage.grey_closing(grey, size=(size, size), mode="reflect")


LINE_ANGLES = np.arange(-25, 26, 1)  # degrees a photo of lined paper may be turned by
LINE_SPAN = 0.5  # a printed line marks at least half of its row; a digit's stroke rarely does
LINE_WIDTH = 0.03  # and is at most this share of the picture thin (a digit filling it is not)


def without_printed_lines(ink: np.ndarray) -> np.ndarray:
    """Ruled and squared paper: erase the printed lines, keep the strokes that cross them.

    The lines are straight, thin and run across the page. The angle at which marked
    pixels pile up into the sharpest rows gives their slope; the picture is turned by it
    (which also turns a tilted photo upright), and rows, then columns, that are marked
    across most of their length are erased, except where a stroke crosses them. Without
    at least two such lines the picture is returned as it was.
    """
    from PIL import Image

    level = ink_median(ink)
    marks = ink > level + max(0.05, 4 * 1.4826 * ink_median(np.abs(ink - level)))
    # Printed lines run off the page: across both side margins, or the top and bottom ones.
    strip = max(1, round(0.05 * min(ink.shape)))
    sides = [marks[:, :strip], marks[:, -strip:], marks[:strip], marks[-strip:]]
    if not any(min(a.sum(), b.sum()) >= 2 * strip for a, b in (sides[:2], sides[2:])):
        return ink
    rows, columns = np.nonzero(marks)
    pick = slice(None, None, max(1, len(rows) // 3_000))  # enough to find the lines
    rows, columns = rows[pick].astype(np.float32), columns[pick].astype(np.float32)
    radians = np.deg2rad(LINE_ANGLES)
    sharpness = []
    for angle in radians:
        across = np.round(rows * np.cos(angle) - columns * np.sin(angle)).astype(np.int64)
        sharpness.append(float(np.sum(np.bincount(across - across.min()).astype(np.float64) ** 2)))
    angle = float(LINE_ANGLES[int(np.argmax(sharpness))])
    turned = np.asarray(Image.fromarray(ink).rotate(angle, Image.Resampling.BILINEAR, expand=True))
    inside = np.asarray(Image.fromarray(np.ones_like(ink)).rotate(angle, expand=True)) > 0.5
    marks = (turned >= ink[marks].min()) & inside  # as marked as the faintest mark, after turning
    cleaned, found = erase_full_rows(turned, marks, inside)
    cleaned, found_columns = erase_full_rows(cleaned.T, marks.T, inside.T)
    if found + found_columns < 2:
        return ink
    return cleaned.T


def erase_full_rows(ink: np.ndarray, marks: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, int]:
    """Erase rows marked across LINE_SPAN of their length, in runs thinner than LINE_WIDTH
    of the picture (with a pixel either side),
    except where marks continue two pixels above and below: a stroke crossing the line.
    Returns the cleaned picture and how many lines (runs of such rows) were erased."""
    full = marks.sum(axis=1) > LINE_SPAN * np.maximum(inside.sum(axis=1), 1)
    starts = np.flatnonzero(full & ~np.concatenate([[False], full[:-1]]))
    ends = np.flatnonzero(full & ~np.concatenate([full[1:], [False]]))
    thin = ends - starts < max(2, LINE_WIDTH * len(ink))  # thicker: a digit's stroke
    starts, ends = starts[thin], ends[thin]
    ink = ink.copy()
    for start, end in zip(starts, ends, strict=True):
        top, bottom = max(0, start - 1), min(len(ink) - 1, end + 1)
        above = marks[max(0, top - 4) : max(0, top - 1)].any(axis=0)  # grainy pencil: look at 3 rows
        below = marks[bottom + 2 : bottom + 5].any(axis=0)
        ink[top : bottom + 1, ~(above & below)] = 0
    return ink, len(starts)
