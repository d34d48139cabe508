"""Picture files, read at the size the work needs.

A 48-megapixel phone photo or a 62-megapixel PNG holds no more digit than the 512 px
the work looks at. Decoding it whole and turning it into float32 took most of a gigabyte
and over a second; here nothing full-size is ever float. A JPEG is decoded straight to grey at
the smallest DCT scale that still keeps the size asked for (`Image.draft`), other
formats are averaged down on their 8-bit pixels a band of rows at a time
(`Image.reduce`), and a closer look at a small region crops first and converts after.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from pathlib import Path

import numpy as np

from mnist_pipeline.cli import PipelineError
from mnist_pipeline.paper import border_mask

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
MAX_IMAGE_PIXELS = 64_000_000  # refuse larger images (and decompression bombs) before decoding
# A picture whose full-size decode takes more than BIG_DECODE_BYTES is "big": a process
# decodes at most BIG_DECODES of those at once, so its peak memory stays bounded however
# many arrive together (the others wait their turn; small ones never wait). The largest,
# 64 megapixels in colour, takes 256 MB.
BIG_DECODE_BYTES = 16 * 2**20
BIG_DECODES = 1
# Modes Pillow cannot reduce in place, and the mode each band of rows becomes first.
BANDED = {"1": "L", "P": "RGBA", "PA": "RGBA", "LA": "LA", "RGBA": "RGBA"}
BANDED |= {mode: "I" for mode in ("I;16", "I;16L", "I;16B", "I;16N")}
# Whole blocks are averaged down to at least REDUCING_GAP times the size asked for, the
# rest by an exact (fractional) box: close to one exact box all the way, as in Pillow's
# `reducing_gap`, at a fraction of the cost. A JPEG is decoded at the smallest DCT scale
# that keeps JPEG_GAP times the size (a scaled DCT alone is no block mean; 1/8, the
# fastest, keeps 1000 px of a 48-megapixel photo, 1.95 times the 512 px work size).
REDUCING_GAP = 2
JPEG_GAP = 1.5
BAND_BYTES = 8 * 2**20  # each band's converted copy is about this size
# EXIF orientation -> (transposed, rows flipped, columns flipped): the upright picture is
# the stored one transposed (rows <-> columns) if asked, then flipped. Orientation 6, a
# phone held upright, is the stored picture turned 90 degrees clockwise.
ORIENTATIONS = {
    2: (False, False, True),
    3: (False, True, True),
    4: (False, True, False),
    5: (True, False, False),
    6: (True, False, True),
    7: (True, True, True),
    8: (True, True, False),
}
Box = tuple[int, int, int, int]  # top, left, bottom, right: rows and columns, in pixels

_big_decodes = threading.BoundedSemaphore(BIG_DECODES)


class ImageError(PipelineError):
    """One image could not be read or holds no digit; the others still get their answer."""


class ImageTooLarge(ImageError):
    """More pixels than MAX_IMAGE_PIXELS, found from the header before anything is decoded."""


class PictureFile:
    """An image file (a path, or an upload's bytes), opened by its header only.

    `grey(scale, box)` reads the upright picture, or a region of it, as grey levels in
    [0, 1] at `scale` times its size. Use it in a `with` block: a big picture holds its
    turn (`BIG_DECODES`) and its decoded pixels until the block ends, so that a closer
    look at a region does not decode a PNG twice.
    """

    def __init__(self, source: Path | bytes, name: str | None = None) -> None:
        self.source, self.name = source, name or str(source)
        with pillow_errors(self.name), self.open() as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:  # only the header has been read
                raise ImageTooLarge(f"more than {MAX_IMAGE_PIXELS:,} pixels; refusing to decode it")
            self.is_jpeg = image.format == "JPEG"
            self.big = width * height * bytes_per_pixel(image) > BIG_DECODE_BYTES
            exif = image.getexif() if self.is_jpeg else None  # a JPEG's comes before its pixels
        self.stored_size = width, height  # as stored in the file: columns, rows
        self.decoded = None  # the full-size picture, decoded on entry (never a JPEG: see `grey`)
        self.turn = False  # holds one of the BIG_DECODES turns
        self.orientation: tuple[bool, bool, bool] | None = None
        self.shape = height, width  # upright, once the EXIF orientation is known
        if exif is not None:
            self.upright(exif)

    def __enter__(self) -> PictureFile:
        if self.big:
            _big_decodes.acquire()
            self.turn = True
        if self.is_jpeg:  # decoded in `grey`, at the scale each view needs
            return self
        try:  # a PNG's EXIF may come after its pixels: decode first, once
            with pillow_errors(self.name):
                self.decoded = self.open()
                self.decoded.seek(0)  # first frame of a GIF or multi-page TIFF
                self.decoded.load()
                self.upright(self.decoded.getexif())
        except BaseException:
            self.__exit__()
            raise
        return self

    def upright(self, exif) -> None:
        """Take the EXIF orientation: how the stored picture turns upright, and its shape then."""
        self.orientation = ORIENTATIONS.get(exif.get(0x0112))
        if self.orientation and self.orientation[0]:
            self.shape = self.shape[::-1]

    def __exit__(self, *exc_info) -> None:
        if self.decoded is not None:
            self.decoded.close()
            self.decoded = None
        if self.turn:
            give_back_memory()
            _big_decodes.release()
            self.turn = False

    def open(self):
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = None  # Pillow's own check warns first; ours refuses at once
        return Image.open(io.BytesIO(self.source) if isinstance(self.source, bytes) else self.source)

    def grey(self, scale: float = 1.0, box: Box | None = None) -> np.ndarray:
        """Grey levels of the upright picture's `box` (all of it by default), resized by
        `scale`: shrinking averages the pixels each new one covers, enlarging interpolates."""
        top, left, bottom, right = box or (0, 0, *self.shape)
        target = scaled_shape((bottom - top, right - left), scale)
        stored = self.stored_box((top, left, bottom, right))
        reading = min(1.0, scale)  # the scale to decode at; enlarging happens on the floats
        with pillow_errors(self.name):
            if self.decoded is not None:
                grey = self.read(self.decoded, stored, reading)
            else:  # a JPEG, decoded anew at the DCT scale this view needs
                with self.open() as image:
                    width, height = self.stored_size
                    at_least = min(1.0, reading * JPEG_GAP)
                    image.draft("L", (max(1, int(width * at_least)), max(1, int(height * at_least))))
                    grey = self.read(image, stored, reading)
        return resized_to(grey, target)

    def read(self, image, stored: Box, reading: float) -> np.ndarray:
        """The `stored` box of a decoded (maybe drafted) image, averaged down in whole blocks
        towards `reading` (the caller finishes the resize), turned upright, as grey levels."""
        from PIL import Image

        image.load()
        # A drafted JPEG is smaller, its sides rounded up: the box scales with it, and
        # stays inside it (outside, Pillow would add black rows).
        width, height = image.size
        per_pixel = width / self.stored_size[0]
        top, bottom = (min(height, round(edge * height / self.stored_size[1])) for edge in stored[::2])
        left, right = (min(width, round(edge * per_pixel)) for edge in stored[1::2])
        top, left = min(top, height - 1), min(left, width - 1)
        bottom, right = max(bottom, top + 1), max(right, left + 1)
        factor = max(1, int(per_pixel / (reading * REDUCING_GAP) + 1e-6))
        small = reduced(image, factor, (left, top, right, bottom))
        if self.orientation:
            transposed, rows_flipped, columns_flipped = self.orientation
            if transposed:
                small = small.transpose(Image.Transpose.TRANSPOSE)
            if rows_flipped:
                small = small.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
            if columns_flipped:
                small = small.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return grey_levels(small)

    def stored_box(self, box: Box) -> Box:
        """An upright box as a box of the picture as stored (before EXIF orientation)."""
        top, left, bottom, right = box
        if not self.orientation:
            return box
        transposed, rows_flipped, columns_flipped = self.orientation
        height, width = self.shape
        if rows_flipped:
            top, bottom = height - bottom, height - top
        if columns_flipped:
            left, right = width - right, width - left
        return (left, top, right, bottom) if transposed else (top, left, bottom, right)


@contextlib.contextmanager
def pillow_errors(name: str):
    """Pillow's words for a missing, unknown or broken file, as one ImageError naming it."""
    from PIL import UnidentifiedImageError

    try:
        yield
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


def bytes_per_pixel(image) -> int:
    """What each pixel takes once decoded full size: Pillow keeps colour in 4 bytes, and a
    JPEG is decoded to grey (`Image.draft`)."""
    if image.mode in ("1", "L", "P") or (image.format == "JPEG" and image.mode in ("RGB", "YCbCr")):
        return 1
    return 2 if image.mode.startswith("I;16") else 4


def give_back_memory() -> None:
    """Return freed memory to the system. C's allocator (glibc) keeps the blocks a big
    picture was decoded into for reuse, so a worker would stay as large as its largest picture."""
    import ctypes

    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc; other C libraries give it back
    if trim is not None:
        trim(0)


def reduced(image, factor: int, box: tuple[int, int, int, int]):
    """The `box` (left, top, right, bottom) of a decoded Pillow image, each `factor` x
    `factor` block of pixels averaged into one, without a full-size copy.

    Pillow reduces most modes in place. Pictures with transparency it first copies whole
    (premultiplied), palette and 1-bit ones it cannot average, 16-bit ones it refuses:
    those are converted and reduced a band of rows at a time, so each copy stays small.
    """
    from PIL import Image

    into = BANDED.get(image.mode)
    if into is None:
        return image.reduce(factor, box)
    left, top, right, bottom = box
    rows = factor * max(1, BAND_BYTES // (4 * factor * (right - left)))  # a multiple of factor
    whole = None
    for row in range(top, bottom, rows):
        part = image.crop((left, row, right, min(row + rows, bottom)))
        part = (part.convert(into) if into != part.mode else part).reduce(factor)
        if whole is None:  # Pillow rounds a reduced side up, as (side + factor - 1) // factor
            whole = Image.new(part.mode, (part.width, (bottom - top + factor - 1) // factor))
        whole.paste(part, (0, (row - top) // factor))
    return whole


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


def scaled_shape(shape: tuple[int, ...], scale: float) -> tuple[int, int]:
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def resized_to(grey: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`grey` resized to `shape` (rows, columns): shrinking makes each new pixel the mean
    of those it covers, enlarging interpolates (bicubic) between them."""
    from PIL import Image

    if grey.shape == shape:
        return grey
    method = Image.Resampling.BOX if shape[0] * shape[1] < grey.size else Image.Resampling.BICUBIC
    return np.clip(np.asarray(Image.fromarray(grey).resize(shape[::-1], method)), 0, 1)


def lanczos_resized(grey: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`grey` resized to `shape` (rows, columns) as Pillow's Lanczos filter resizes it:
    the same weights and the same two passes (across, then down, each rounded to
    float32), as two matrix products. Every candidate digit of a number is resized so,
    and for pictures that small Pillow's time goes mostly on taking the array in and
    handing it back: this takes about a quarter of it. The values agree with Pillow's to
    the last bit or two of a float32 (summed in another order)."""
    resized = np.asarray(grey, np.float32)
    if shape[1] != resized.shape[1]:
        across = lanczos_weights(resized.shape[1], shape[1])
        resized = (resized.astype(np.float64) @ across.T).astype(np.float32)
    if shape[0] != resized.shape[0]:
        down = lanczos_weights(resized.shape[0], shape[0])
        resized = (down @ resized.astype(np.float64)).astype(np.float32)
    return resized


@functools.lru_cache(maxsize=256)  # the sizes repeat; each matrix is at most 20 rows in `handwriting`
def lanczos_weights(size_in: int, size_out: int) -> np.ndarray:
    """The (size_out, size_in) weights of Pillow's Lanczos resize along one side, worked
    out as its Resample.c works them out: a window of three lobes each side, widened by
    the shrinking factor, cut to the picture, each row summing to 1."""
    scale = size_in / size_out
    stretch = max(scale, 1.0)  # shrinking widens the window; enlarging keeps it
    support = 3.0 * stretch
    centres = (np.arange(size_out) + 0.5) * scale
    first = np.maximum((centres - support + 0.5).astype(int), 0)
    last = np.minimum((centres + support + 0.5).astype(int), size_in)
    pixels = np.arange(size_in)
    t = (pixels - centres[:, None] + 0.5) * (1.0 / stretch)
    in_window = (pixels >= first[:, None]) & (pixels < last[:, None]) & (t >= -3.0) & (t < 3.0)
    weights = np.where(in_window, np.sinc(t) * np.sinc(t / 3), 0.0)  # sin(pi t) / (pi t), as Pillow's
    weights /= weights.sum(axis=1, keepdims=True)
    weights.flags.writeable = False  # shared by every caller through the cache
    return weights
