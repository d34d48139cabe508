"""Handwriting: any picture of one digit -> an MNIST-style 28x28 image.

MNIST digits are bright ink on black, scaled so the longer side of their
bounding box is 20 px (anti-aliased), then placed in a 28x28 field with their
centre of mass at the centre. A phone photo is dark ink on a light, unevenly lit
page, large and off-centre; `to_mnist` undoes each of those differences.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from mnist_pipeline.cli import PipelineError
from mnist_pipeline.data import IMAGE_SIDE

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
MAX_IMAGE_PIXELS = 64_000_000  # refuse larger images (and decompression bombs) before decoding
WORK_SIDE = 512  # big photos are shrunk to this longer side first: ample for a 20 px digit
DIGIT_BOX = 20  # MNIST's box for the digit inside the 28x28 field
FIELD_CENTRE = 14.0  # where MNIST puts the centre of mass (row and column, in pixels)
MIN_INK_CONTRAST = 0.1  # ink must stand out from the page by 10% of full scale


class ImageError(PipelineError):
    """One image could not be read or holds no digit; the others still get their answer."""


class ImageTooLarge(ImageError):
    """More pixels than MAX_IMAGE_PIXELS, found from the header before anything is decoded."""


class NoInk(ImageError):
    """A blank or nearly uniform picture: there is no digit to classify."""


def read_grey(source: Path | bytes, name: str | None = None) -> np.ndarray:
    """The image's first frame as grey levels in [0, 1], transparent pixels as page.

    `source` is a file's path or the file's bytes (an upload); `name` is what error
    messages call it (the path, by default).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = name or str(source)
    Image.MAX_IMAGE_PIXELS = None  # Pillow's own check warns first; ours, below, refuses at once
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:  # only the header has been read
                raise ImageTooLarge(f"more than {MAX_IMAGE_PIXELS:,} pixels; refusing to decode it")
            image.seek(0)  # first frame of a GIF or multi-page TIFF
            image.load()
            return grey_levels(ImageOps.exif_transpose(image))  # phone photos: upright as shot
    except ImageError as error:
        raise type(error)(f"{name}: {error}") from None
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a folder") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:  # Pillow's words for broken files
        raise ImageError(f"{name}: damaged or truncated image ({error})") from None


def grey_levels(image) -> np.ndarray:
    """Grey in [0, 1] for every mode MNIST-style input can come in; transparency becomes page."""
    mode = image.mode
    if mode in ("1", "L", "RGB", "RGBX", "CMYK", "YCbCr"):
        return np.asarray(image.convert("L"), dtype=np.float32) / 255
    if mode.startswith("I") or mode == "F":  # 16- and 32-bit greyscale
        values = np.asarray(image, dtype=np.float32)
        full_scale = 255 if values.max(initial=0) <= 255 else 65535
        return np.clip(values / full_scale, 0, 1)
    if mode in ("LA", "La", "PA", "P", "RGBA", "RGBa"):
        rgba = image.convert("RGBA")
        if rgba.getchannel("A").getextrema() == (255, 255):  # opaque after all (a canvas, say)
            return np.asarray(rgba.convert("L"), dtype=np.float32) / 255
        grey = np.asarray(rgba.convert("L"), dtype=np.float32) / 255
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255
        opaque = alpha > 0.5
        if not opaque.any():
            return np.zeros_like(grey)  # fully transparent: no ink, reported later
        # A drawing on a transparent canvas: the page is whatever the ink is not.
        page = 1.0 if np.median(grey[opaque]) < 0.5 else 0.0
        border = border_mask(grey.shape)
        if opaque[border].mean() >= 0.5:  # an opaque page with a transparent hole or two
            page = float(np.median(grey[opaque & border]))
        return grey * alpha + page * (1 - alpha)
    raise ImageError(f"unsupported image mode {mode}")


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


def stroke_width(ink: np.ndarray) -> float:
    """About how wide the strokes of a binary ink mask are, in pixels: a stroke of width w
    and length L covers w * L pixels and has about 2 * L pixels along its two sides."""
    from scipy import ndimage

    edge = ink & ~ndimage.binary_erosion(ink)
    return 2 * float(ink.sum()) / max(1.0, float(edge.sum()))


def away_from_border(mask: np.ndarray) -> np.ndarray:
    """The parts of `mask` that do not touch the picture's edge, if there are any. (The
    corners of shadows that run into the edge are what a rough pass mistakes for ink.)"""
    from scipy import ndimage

    labels, _ = ndimage.label(mask)
    on_border = np.unique(labels[border_mask(mask.shape, 1)])
    inner = mask & ~np.isin(labels, on_border[on_border > 0])
    return inner if inner.any() else mask


def ink_on_light_page(grey: np.ndarray) -> np.ndarray:
    """How much each pixel of a light page is ink, in [0, 1], whatever the lighting.

    The page without the strokes is what a morphological closing leaves when its window
    is wider than the strokes: shadows and their hard edges stay, strokes go. The window
    is three stroke widths, measured on a first, rough pass with a window a quarter of
    the picture wide. Ink is darkness relative to the page under it, so a stroke reads
    the same in the sun and in a shadow.
    """
    from scipy import ndimage

    largest = max(3, max(grey.shape) // 4)
    rough = ndimage.grey_closing(grey, size=(largest, largest), mode="reflect") - grey
    strokes = away_from_border(rough > otsu_threshold(rough))
    window = int(np.clip(round(3 * stroke_width(strokes)), 3, largest))
    page = ndimage.grey_closing(grey, size=(window, window), mode="reflect")
    return np.clip(1 - grey / np.maximum(page, 1e-3), 0, 1)


LINE_ANGLES = np.arange(-25, 26, 1)  # degrees a photo of lined paper may be turned by
LINE_SPAN = 0.5  # a printed line marks at least half of its row; a digit's stroke rarely does


def without_printed_lines(ink: np.ndarray) -> np.ndarray:
    """Ruled and squared paper: erase the printed lines, keep the strokes that cross them.

    The lines are straight, thin and run across the page. The angle at which marked
    pixels pile up into the sharpest rows gives their slope; the picture is turned by it
    (which also turns a tilted photo upright), and rows, then columns, that are marked
    across most of their length are erased, except where a stroke crosses them. Without
    at least two such lines the picture is returned as it was.
    """
    from PIL import Image

    level = float(np.median(ink))
    marks = ink > level + max(0.05, 4 * 1.4826 * float(np.median(np.abs(ink - level))))
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
    marks = (turned > level + (ink[marks].min() - level)) & inside
    cleaned, found = erase_full_rows(turned, marks, inside)
    cleaned, found_columns = erase_full_rows(cleaned.T, marks.T, inside.T)
    if found + found_columns < 2:
        return ink
    return cleaned.T


def erase_full_rows(ink: np.ndarray, marks: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, int]:
    """Erase rows marked across LINE_SPAN of their length (with a pixel either side),
    except where marks continue two pixels above and below: a stroke crossing the line.
    Returns the cleaned picture and how many lines (runs of such rows) were erased."""
    full = marks.sum(axis=1) > LINE_SPAN * np.maximum(inside.sum(axis=1), 1)
    starts = np.flatnonzero(full & ~np.concatenate([[False], full[:-1]]))
    ends = np.flatnonzero(full & ~np.concatenate([full[1:], [False]]))
    ink = ink.copy()
    for start, end in zip(starts, ends, strict=True):
        top, bottom = max(0, start - 1), min(len(ink) - 1, end + 1)
        above = marks[max(0, top - 4) : max(0, top - 1)].any(axis=0)  # grainy pencil: look at 3 rows
        below = marks[bottom + 2 : bottom + 5].any(axis=0)
        ink[top : bottom + 1, ~(above & below)] = 0
    return ink, len(starts)


def digit_parts(labels: np.ndarray) -> np.ndarray:
    """The labels of the components that make up the digit: the largest, and those at
    least 5% its size that lie within half its size of it (a 5's detached bar, say)."""
    from scipy import ndimage

    sizes = np.bincount(labels.ravel())[1:]
    largest = int(np.argmax(sizes))
    boxes = ndimage.find_objects(labels)
    main = boxes[largest]
    reach = 0.25 * max(main[0].stop - main[0].start, main[1].stop - main[1].start)
    parts = []
    for label, (size, box) in enumerate(zip(sizes, boxes, strict=True), start=1):
        gap = max(max(box[a].start - main[a].stop, main[a].start - box[a].stop) for a in (0, 1))
        if size >= 0.05 * sizes[largest] and gap <= reach:
            parts.append(label)
    return np.array(parts)


def to_mnist(grey: np.ndarray, name: str = "image") -> np.ndarray:
    """Any greyscale picture of one digit -> 28x28 float32 in [0, 1], as MNIST was made."""
    # 1. Work at a modest size: a 12-megapixel photo holds no more digit than 512 px...
    scale = min(1.0, WORK_SIDE / max(grey.shape))
    ink = digit_ink(shrunk(grey, scale), name)
    # ... unless the digit is small in it: then look again, closer, at the digit and a
    # digit's width around it (unless the page was turned level, which moved the digit).
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    box = max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1
    if scale < 1 and box < WORK_SIDE / 8 and ink.shape == shrunk_shape(grey.shape, scale):
        top, left = (max(0, int((edge - box) / scale)) for edge in (rows[0], columns[0]))
        bottom, right = (int((edge + 1 + box) / scale) + 1 for edge in (rows[-1], columns[-1]))
        region = grey[top:bottom, left:right]
        ink = digit_ink(shrunk(region, min(1.0, WORK_SIDE / max(region.shape))), name)
    return centred_field(ink)


def shrunk_shape(shape: tuple[int, ...], scale: float) -> tuple[int, int]:
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def shrunk(grey: np.ndarray, scale: float) -> np.ndarray:
    """`grey` resized by `scale` (at most 1), each new pixel the mean of those it covers."""
    from PIL import Image

    if scale >= 1:
        return grey
    height, width = shrunk_shape(grey.shape, scale)
    return np.asarray(Image.fromarray(grey).resize((width, height), Image.Resampling.BOX))


def digit_ink(grey: np.ndarray, name: str) -> np.ndarray:
    """The digit's strokes, bright on black in [0, 1], everything else black."""
    from scipy import ndimage

    # Smooth away speckle and paper grain (on a small image a 3x3 median would eat strokes).
    if max(grey.shape) >= 4 * IMAGE_SIDE:
        grey = median_3x3(np.round(grey * 255).astype(np.uint8)).astype(np.float32) / 255
    # 2. Find the ink, evening out the lighting; MNIST ink is bright on black. A light
    # page shows somewhere on the border even when a shadow falls across most of it.
    if np.percentile(grey[border_mask(grey.shape)], 90) > 0.5:
        grey = without_printed_lines(ink_on_light_page(grey))
    else:  # a dark page (a screen drawing, an MNIST digit): only gentle gradients to even out
        for _ in range(2):  # the second pass tells ink from page better, on an evened-out page
            grey = grey - smooth_background(grey, grey > otsu_threshold(grey))
    # 3. Stretch the ink to full brightness; the page and its noise become black.
    ink = grey > otsu_threshold(grey)
    near_ink = ndimage.binary_dilation(ink, iterations=3)  # anti-aliased edges are not page noise
    page = grey[~near_ink] if not near_ink.all() else grey[~ink]
    page_level = float(np.median(page))
    noise = 1.4826 * float(np.median(np.abs(page - page_level)))  # robust standard deviation
    ink_level = float(np.percentile(grey[ink], 95)) if ink.any() else page_level
    if ink_level - page_level < max(MIN_INK_CONTRAST, 8 * noise):
        raise NoInk(f"{name}: no ink found (a blank or nearly uniform image)")
    floor = page_level + 3 * noise
    grey = np.clip((grey - floor) / (ink_level - floor), 0, 1)
    # 4. Keep the digit's strokes, drop stray specks: components under 5% of the largest,
    # or further from it than half its size, go.
    # Grains of a pencil stroke a pixel or two apart count as one stroke (in a picture
    # large enough for two pixels to be a small gap).
    marked = grouped = grey > 0.25
    if max(grey.shape) >= 8 * IMAGE_SIDE:
        grouped = ndimage.binary_dilation(marked, iterations=2)
    labels, _ = ndimage.label(grouped, structure=np.ones((3, 3)))
    strokes = marked & np.isin(labels, digit_parts(labels))
    return np.where(ndimage.binary_dilation(strokes, iterations=2), grey, 0)


def centred_field(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink, fit the longer side to 20 px, and centre by mass in 28x28."""
    from PIL import Image
    from scipy import ndimage

    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    factor = DIGIT_BOX / max(crop.shape)
    size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
    digit = np.clip(np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS)), 0, 1)
    centre_row, centre_column = ndimage.center_of_mass(digit)
    top = int(np.clip(round(FIELD_CENTRE - centre_row), 0, IMAGE_SIDE - digit.shape[0]))
    left = int(np.clip(round(FIELD_CENTRE - centre_column), 0, IMAGE_SIDE - digit.shape[1]))
    field = np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return field / field.max()
