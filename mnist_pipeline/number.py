"""Reading a whole number: the digits in a picture, left to right, each one read as a
single digit is.

The picture is read once (`handwriting.first_look`): its ink, grouped into marks. Specks
much smaller than the line of writing are dropped, marks far wider than a digit are cut
where their strokes are thinnest, and what is left are the atoms, ordered left to right.
Which atoms make one digit (a 5 and its detached bar, two digits that touch) is left to
the network, as LeCun, Bottou, Bengio and Haffner read ZIP codes (Proc. IEEE, 1998):
every run of up to MAX_ATOMS neighbouring atoms is a candidate digit, the network and
the not-a-digit check score each one, and the best-scoring way to cover the line wins.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_pipeline.data import IMAGE_SIDE, INPUT_SIZE
from mnist_pipeline.digit_check import THRESHOLD_SURPRISE
from mnist_pipeline.handwriting import (
    WORK_SIDE,
    FirstLook,
    GreyArray,
    NoInk,
    centred_field,
    clear_of_border,
    closer_look,
    digit_ink,
    first_look,
    inked_box,
    marks_in,
    page_marks,
)
from mnist_pipeline.paper import grown
from mnist_pipeline.picture import ImageError, PictureFile

MAX_PIECES = 20  # digits read in one picture at most; more is an error, not a long wait
MAX_MARKS = 200  # marks looked at, at most (a picture of noise has thousands)
MAX_ATOMS = 4  # a digit is made of at most this many neighbouring atoms
# Marks at least this share of the line's height beside a digit make a number, when they
# look like digits too: less surprising than a picture at the check's threshold.
BESIDE = 0.5
# A piece of a number is "?" only when the check finds it this surprising (about 0.5% of
# MNIST test digits are): one digit of a number turned away loses the number.
NOT_A_PIECE = 18.0
SPECK = 0.3  # a mark whose longer side is under this share of the first mark's longer side is a speck
LINE_MARK = 0.5  # marks on the line at least this share of the first one's height set its height
TALLEST = 1.6  # a mark taller than this many line heights is not writing on the line
GAP = 1.5  # neighbouring digits are at most this many line heights apart
LEVEL = 0.3  # and their rows overlap by at least this share of the shorter one's height
WIDE = 0.6  # a mark wider than this many line heights may be digits that touch: cut it
# And one this wide that looks like a digit may be too, when the check finds it at least
# this surprising (two digits that touch seldom look like one quite as well as most
# digits do): read it both ways.
TOUCHING, UNSURE = 0.8, 5.0
CUT_EVERY = 0.25  # at most one cut per this many line heights of a wide mark's width
CUT_MARGIN = 0.2  # a cut is at least this many line heights from a mark's ends
CUT_APART = 0.2  # and from another cut
CUT_BEND = 0.25  # a cut wanders at most this many line heights left or right of its start
MAX_WIDTH = 1.1  # a digit is at most this many line heights wide
MAX_GAP = 0.15  # the parts of one digit are at most this many line heights apart
# The digits one mark is cut into are on average at least this many line heights wide:
# digits that touch are (1s narrower, the others wider), a letter or a zigzag cut into
# "14" or "1111" mostly is not.
MIN_DIGIT_WIDTH = 0.4
CUT_COST = 2.0  # what cutting through a mark costs a reading (digits seldom touch)
# And each stroke the cut crosses after the first: two digits touch in one place, the
# halves of a hash sign in two.
CROSSING_COST = 4.0
PIECE_BONUS = 1.0  # each piece lowers a reading's cost by this (else fewer pieces cost less)
LEVEL_FROM, LEVEL_UP_TO = 2.0, 30.0  # a line slanting between these (degrees) is turned level
# A number's line is read again, closer, when that makes it CLOSER times larger: at a
# scale that makes it LINE_PIXELS tall, its longer side at most MAX_LINE_SIDE pixels.
CLOSER, LINE_PIXELS, MAX_LINE_SIDE = 1.25, 96, 2048

# Reads a batch of 28x28s (n, 784): every layer's output (the last is the network's
# probabilities, (n, 10)), how unlike a digit the not-a-digit check finds each one (n,)
# (`Check.surprise`), and which it calls not a digit (n,).
Reader = Callable[[np.ndarray], tuple[list[np.ndarray], np.ndarray, np.ndarray]]


class TooManyPieces(ImageError):
    """More than MAX_PIECES digits or marks in one picture."""

    def __init__(self, name: str):
        super().__init__(f"{name}: more than {MAX_PIECES} digits or marks; crop it to one number")


@dataclass
class Piece:
    """One digit (or non-digit) of a number: its 28x28, where it is in the picture, and
    how the reader read it (so that the answer needs no second reading)."""

    field: np.ndarray  # 28x28 float32 in [0, 1], as `to_mnist` makes it
    box: tuple[int, int, int, int]  # x, y, width, height in the picture's pixels
    outputs: list[np.ndarray]  # every layer's output for it (the page shows them)
    surprise: float  # how unlike a digit the check finds it (`Check.surprise`)
    odd: bool  # the check's own answer: not a digit

    @property
    def probabilities(self) -> np.ndarray:
        """The network's 10 probabilities: its last layer's output."""
        return self.outputs[-1]


@dataclass
class Atom:
    """A mark, or a slice of a wide one: the smallest unit a digit is made of."""

    label: int  # the mark it is (or is a slice of)
    strokes: np.ndarray  # bool mask of its strokes in the first look
    box: tuple[slice, slice]  # the whole mark's box
    area: np.ndarray | None  # the pixels it owns, when it is a slice of a wider mark
    columns: tuple[int, int]  # its first and past-last column
    rows: tuple[int, int]
    centre: float  # its column of mass


def read_pieces(source: Path | bytes, read: Reader, name: str | None = None) -> list[Piece]:
    """The digits in an image file (a path, or an upload's bytes), left to right."""
    with PictureFile(source, name) as picture:
        return number_pieces(picture, read, picture.name)


def number_pieces(
    picture: PictureFile | GreyArray | np.ndarray, read: Reader, name: str = "image"
) -> list[Piece]:
    """The digits in a picture, left to right: one piece (made exactly as `to_mnist`
    makes it) when the picture holds one digit."""
    if isinstance(picture, np.ndarray):
        picture = GreyArray(picture)
    view = first_look(picture, name)
    atoms, line, anchor = line_atoms(view.marks)
    # One digit, as today, unless marks as tall as a digit lie beside the one `to_mnist`
    # reads, or that one is wide (two digits that touch, say). A mark centred
    # above or below it is part of it (a 5's bar, a stroke broken in two), not beside it.
    left, right = next((a.columns for a in atoms if a.label == anchor), (0, 0))
    beside = [
        a
        for a in atoms
        if a.label != anchor and a.rows[1] - a.rows[0] >= BESIDE * line and not left <= a.centre < right
    ]
    if len(beside) >= MAX_PIECES:  # a page of writing: refuse before reading any of it
        raise TooManyPieces(name)
    digits_beside = False  # is a mark beside it less surprising to the check than its threshold?
    if beside:
        _, surprise, _ = read(np.stack([run_field(view.marks, [a]) for a in beside]))
        digits_beside = bool((surprise < THRESHOLD_SURPRISE).any())
    # No digit beside it: one digit, unless it is wide and no digit, or wider still and
    # not surely a digit (two digits that touch may look like one). (Beside digits, the
    # picture is read as one digit only if the line's reading is turned back.)
    single = None
    if not digits_beside:
        single = one_digit(picture, view, read, name)
        wide = max(a.columns[1] - a.columns[0] for a in atoms) > (WIDE if single.odd else TOUCHING) * line
        if not (wide and (single.odd or single.surprise > UNSURE)):
            return [single]
    line_view = closer_line(picture, Line(view.marks, view.scale), atoms, line, view.light, name)
    line_view = levelled(line_view)
    if line_view.marks is not view.marks:  # read again, closer or turned level
        atoms, line, _ = line_atoms(line_view.marks)
    atoms = cut_wide(atoms, line)
    groups, (fields, outputs, surprise, odd), score = best_reading(line_view.marks, atoms, line, read)
    # One mark after all: a scribble cut into many pieces, or a letter or a dash cut up
    # because it is wide (all pieces slices of one mark, one of them clearly no digit, or
    # too many of them for the mark's width).
    width = max(a.columns[1] for a in atoms) - min(a.columns[0] for a in atoms)
    slivers = width < MIN_DIGIT_WIDTH * line * len(groups)
    if len({a.label for a in atoms}) == 1 and ((surprise > NOT_A_PIECE).any() or slivers):
        return [single or one_digit(picture, view, read, name)]
    # A wide mark that looks like one digit (a broad 0, or two digits that touch) stays
    # one unless its pieces read better than it does, weighed as `best_reading` weighs them.
    if single is not None and not single.odd and score <= PIECE_BONUS - single.surprise:
        return [single]
    digit_like = surprise < THRESHOLD_SURPRISE
    if len(groups) > MAX_PIECES and 2 * digit_like.sum() >= len(groups):  # a page of writing
        raise TooManyPieces(name)
    if len(groups) > MAX_PIECES or digit_like.sum() < 2:
        return [single or one_digit(picture, view, read, name)]
    return [
        Piece(
            f.reshape(IMAGE_SIDE, IMAGE_SIDE),
            picture_box(line_view, union(g), picture.shape),
            out,
            float(s),
            bool(o),
        )
        for f, g, out, s, o in zip(fields, groups, zip(*outputs, strict=True), surprise, odd, strict=True)
    ]


def one_digit(picture: PictureFile | GreyArray, view: FirstLook, read: Reader, name: str) -> Piece:
    """The picture read as one digit, its 28x28 made exactly as `to_mnist` makes it."""
    ink = digit_ink(view.marks)
    field = centred_field(closer_look(picture, view, ink, name))
    box = picture_box(Line(view.marks, view.scale), ink > 0, picture.shape)
    outputs, surprise, odd = read(field.reshape(1, INPUT_SIZE))
    return Piece(field, box, [layer[0] for layer in outputs], float(surprise[0]), bool(odd[0]))


class Line:
    """The marks a number is read from, and how their pixels map to the picture's: a
    point (row, column) here is `turn` @ (point - `centre`) + `turned_centre` before the
    line was levelled, at `scale` times the picture's size, `origin` its top left."""

    def __init__(self, marks, scale: float, origin=(0, 0), turn=None, centre=None, turned_centre=None):
        self.marks, self.scale, self.origin = marks, scale, np.array(origin, float)
        self.turn = np.eye(2) if turn is None else turn
        self.centre = np.zeros(2) if centre is None else centre
        self.turned_centre = np.zeros(2) if turned_centre is None else turned_centre

    def to_picture(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Points here -> (row, column) points in the picture's own pixels."""
        points = np.stack([rows, columns]).astype(float) - self.turned_centre[:, None]
        unturned = self.turn @ points + self.centre[:, None]
        return unturned / self.scale + self.origin[:, None]


def closer_line(picture, line: Line, atoms: list[Atom], height: float, light: bool, name: str) -> Line:
    """The line of writing read again from the full-size picture when it is small in a big
    photo (as `closer_look` does for one digit), or when a long number left its digits
    few pixels: its box and a line's height around it, at a scale that makes the line
    LINE_PIXELS tall (as far as the picture allows, and no wider than MAX_LINE_SIDE)."""
    top = min(a.rows[0] for a in atoms)
    bottom = max(a.rows[1] for a in atoms)
    left, right = min(a.columns[0] for a in atoms), max(a.columns[1] for a in atoms)
    scale = line.scale
    region = (
        max(0, int((top - height) / scale)),
        max(0, int((left - height) / scale)),
        min(picture.shape[0], int((bottom + height) / scale) + 1),
        min(picture.shape[1], int((right + height) / scale) + 1),
    )
    longest = max(region[2] - region[0], region[3] - region[1])
    closer = min(1.0, LINE_PIXELS / height * scale, MAX_LINE_SIDE / longest)
    closer = max(closer, min(1.0, WORK_SIDE / longest))  # and never smaller than a first look
    if closer < CLOSER * scale:
        return line
    try:
        marks = page_marks(picture.grey(closer, region), light, name)
    except NoInk:  # the ink seen from afar was noise after all
        return line
    return Line(marks, closer, origin=(region[0], region[1]))


def levelled(line: Line) -> Line:
    """The line turned level when it slants by more than LEVEL_FROM degrees: the marks'
    centres, weighted by their ink, fitted with a straight line."""
    from scipy import ndimage

    labels = line.marks.labels
    count = int(labels.max())
    if count < 2 or count > MAX_MARKS:
        return line
    # Each mark's size and the centre of mass of its ink (as scipy.ndimage.center_of_mass
    # works it out), summed over the inked pixels only.
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    inked_pixels = np.flatnonzero(line.marks.marked)
    mark_of = labels.ravel()[inked_pixels]  # the mark each inked pixel is part of
    inked = np.bincount(mark_of, minlength=count + 1)[1:]
    centres = np.stack(
        [
            np.bincount(mark_of, weights=place, minlength=count + 1)[1:] / inked
            for place in np.divmod(inked_pixels, labels.shape[1])  # rows, then columns
        ],
        axis=1,
    )
    keep = sizes >= 0.2 * sizes.max()
    if keep.sum() < 2 or np.ptp(centres[keep, 1]) == 0:
        return line
    slope = np.polyfit(centres[keep, 1], centres[keep, 0], 1, w=np.sqrt(sizes[keep]))[0]
    degrees = float(np.degrees(np.arctan(slope)))
    if abs(degrees) < LEVEL_FROM or abs(degrees) > LEVEL_UP_TO:
        return line
    grey = line.marks.grey
    turned = np.clip(ndimage.rotate(grey, degrees, reshape=True, order=1), 0, 1)
    angle = np.radians(degrees)
    back = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    return Line(
        marks_in(turned),
        line.scale,
        line.origin,
        back,
        (np.array(grey.shape) - 1) / 2,
        (np.array(turned.shape) - 1) / 2,
    )


def line_atoms(marks) -> tuple[list[Atom], float, int]:
    """The marks of the line of writing, left to right, one atom each; the line's height;
    and the label of the mark it grew from.

    The line grows from the largest mark clear of the picture's edge (the digit
    `to_mnist` would read) to the marks beside it, and theirs: each no taller than
    TALLEST line heights, within GAP line heights of a mark already on the line and
    level with it. Specks, shadow edges, printed lines and marks elsewhere on the page
    are no part of it.
    """
    from scipy import ndimage

    labels = marks.labels
    sizes = np.bincount(labels.ravel())[1:]
    if not len(sizes):
        return [], 0.0, 0
    writing = clear_of_border(labels, sizes)
    if writing.sum() > MAX_MARKS:  # noise: only the largest marks can be digits
        writing &= sizes >= np.sort(sizes[writing])[-MAX_MARKS]
    boxes = ndimage.find_objects(labels)
    anchor = int(np.argmax(np.where(writing, sizes, 0)))
    line = boxes[anchor][0].stop - boxes[anchor][0].start
    speck = SPECK * max(line, boxes[anchor][1].stop - boxes[anchor][1].start)  # beside a dash too
    on_line, frontier = {anchor}, [anchor]
    while frontier:
        here = boxes[frontier.pop()]
        for other in np.flatnonzero(writing):
            box = boxes[other]
            height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
            if other in on_line or height > TALLEST * line or max(height, width) < speck:
                continue
            gap = max(box[1].start - here[1].stop, here[1].start - box[1].stop)
            level = min(box[0].stop, here[0].stop) - max(box[0].start, here[0].start)
            if gap <= GAP * line and level >= LEVEL * min(height, here[0].stop - here[0].start):
                on_line.add(int(other))
                frontier.append(int(other))
    heights = np.array([boxes[m][0].stop - boxes[m][0].start for m in on_line])
    line = float(np.median(heights[heights >= LINE_MARK * line]))
    atoms = []
    for mark in sorted(on_line):
        box = boxes[mark]
        strokes = np.zeros(labels.shape, bool)
        strokes[box] = (labels[box] == mark + 1) & marks.marked[box]
        if strokes.any():
            atoms.append(atom(mark + 1, strokes, box))
    return sorted(atoms, key=lambda a: a.centre), line, anchor + 1


def cut_wide(atoms: list[Atom], line: float) -> list[Atom]:
    """The atoms with each mark wider than WIDE line heights cut where digits may meet,
    left to right."""
    pieces = [
        piece
        for a in atoms
        for piece in (cut(a, line) if a.box[1].stop - a.box[1].start > WIDE * line else [a])
    ]
    return sorted(pieces, key=lambda a: a.centre)


def atom(label: int, strokes: np.ndarray, box: tuple[slice, slice], area: np.ndarray | None = None) -> Atom:
    """The atom of these `strokes` (a whole picture's mask, all of it inside `box`)."""
    inside = strokes[box]
    top, left = box[0].start, box[1].start
    rows, columns = inked_box(inside)
    weights = inside.sum(axis=0)
    centre = float(((np.arange(len(weights)) + left) * weights).sum() / weights.sum())
    edges = (columns.start + left, columns.stop + left), (rows.start + top, rows.stop + top)
    return Atom(label, strokes, box, area, *edges, centre)


def cut(mark: Atom, line: float) -> list[Atom]:
    """A wide mark cut into slices where two digits may meet: top-to-bottom paths that
    cross the least ink, each starting from a column where the strokes are thinnest or
    the outline dips. The reading decides which cuts hold."""
    from scipy import ndimage

    label, strokes, box = mark.label, mark.strokes, mark.box
    first, last = box[1].start, box[1].stop
    profile = ndimage.uniform_filter1d(strokes[box].sum(axis=0).astype(float), 3)
    margin, apart = max(1, int(CUT_MARGIN * line)), int(CUT_APART * line)
    inside = np.arange(margin, len(profile) - margin)
    minima = inside[(profile[inside] <= profile[inside - 1]) & (profile[inside] <= profile[inside + 1])]
    starts = np.union1d(minima, outline_valleys(strokes[box], inside))
    count = max(1, int((last - first) / (CUT_EVERY * line)))
    chosen: list[int] = []
    for c in starts[np.argsort(profile[starts], kind="stable")]:  # the thinnest first, not too close together
        if len(chosen) == count:
            break
        if all(abs(c - other) >= apart for other in chosen):
            chosen.append(int(c))
    top, bottom = box[0].start, box[0].stop
    paths = [np.full(bottom - top, first)]
    if chosen:
        found = cut_paths(strokes[top:bottom, first:last], sorted(chosen), max(1, int(CUT_BEND * line)))
        for path in np.clip(found, 0, last - first) + first:
            paths.append(np.maximum(path, paths[-1]))  # cuts never cross
    paths.append(np.full(bottom - top, last))
    columns = np.arange(first, last)  # the paths keep to the mark's own columns
    slices = []
    for left, right in itertools.pairwise(paths):
        area = np.zeros_like(strokes)
        area[top:bottom, first:last] = (columns >= left[:, None]) & (columns < right[:, None])
        area[:top], area[bottom:] = area[top], area[bottom - 1]  # anti-aliased edges above and below
        part = np.zeros_like(strokes)
        part[box] = strokes[box] & area[box]
        if part.any():
            slices.append(atom(label, part, box, area))
    return slices


def outline_valleys(strokes: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The `columns` where a mark's outline dips between two digits that touch: its top
    edge down to a low point, or its bottom edge up to a high one (each edge smoothed over
    five columns). A slanted join holds more ink than the thinnest columns do, but the
    outline still dips there."""
    from scipy import ndimage

    inked, height = strokes.any(axis=0), strokes.shape[0]
    top = np.where(inked, strokes.argmax(axis=0), height)  # rows down to the first ink
    bottom = np.where(inked, height - 1 - strokes[::-1].argmax(axis=0), 0)
    top, bottom = (ndimage.uniform_filter1d(edge.astype(float), 5) for edge in (top, bottom))
    dips = (top[columns] >= top[columns - 1]) & (top[columns] > top[columns + 1])
    rises = (bottom[columns] <= bottom[columns - 1]) & (bottom[columns] < bottom[columns + 1])
    return columns[dips | rises]


def cut_paths(strokes: np.ndarray, starts: list[int], bend: int) -> np.ndarray:
    """For each start column, the column, row by row, of the top-to-bottom path within
    `bend` columns of it that crosses the fewest stroke pixels (moving at most one
    column per row): (starts, rows), all found at once."""
    offsets = np.arange(-bend, bend + 1)
    padded = np.pad(strokes, ((0, 0), (bend, bend)), constant_values=True)  # off the mark: avoid
    cost = padded[:, np.array(starts)[:, None] + offsets + bend].astype(float)  # rows, starts, offsets
    cost += 0.01 * np.abs(offsets)  # straight down, when it costs nothing more
    # total[row]: the least cost of a path from the top row to each place in this one,
    # with a place beyond each end of the window that no path can reach.
    total = np.full((len(cost), len(starts), len(offsets) + 2), np.inf)
    total[0, :, 1:-1] = cost[0]
    cheapest = np.empty(cost.shape[1:])
    for row in range(1, len(cost)):  # three array steps a row: the rest is done after the loop
        above = total[row - 1]
        np.minimum(above[:, :-2], above[:, 1:-1], out=cheapest)
        np.minimum(cheapest, above[:, 2:], out=cheapest)
        np.add(cheapest, cost[row], out=total[row, :, 1:-1])
    # The step (-1, 0, 1) each place's best path took from the row above: the cheapest of
    # the three above it; on a tie the leftmost, as argmin would choose.
    left, straight, right = total[:-1, :, :-2], total[:-1, :, 1:-1], total[:-1, :, 2:]
    came = np.where(left <= np.minimum(straight, right), -1, np.where(straight <= right, 0, 1))
    paths = np.empty((len(starts), len(cost)), int)
    for k, column in enumerate(total[-1, :, 1:-1].argmin(axis=1).tolist()):
        paths[k, -1] = column
        for row in range(len(cost) - 1, 0, -1):  # back up the best path, a row at a time
            column += came.item(row - 1, k, column)
            paths[k, row - 1] = column
    return paths - bend + np.array(starts)[:, None]


def best_reading(
    marks, atoms: list[Atom], line: float, read: Reader
) -> tuple[list[list[Atom]], tuple, float]:
    """The best way to cover the atoms, left to right, with runs of neighbouring atoms,
    each run one digit; the chosen runs' 28x28s and readings (fields, every layer's
    outputs, surprise, not a digit); and its score. A run scores PIECE_BONUS less its
    surprise (how unlike a digit the check finds it); the best sum, less what each cut
    through a mark costs (CUT_COST, and CROSSING_COST for each stroke it crosses after the
    first), is found by dynamic programming over every run of up to MAX_ATOMS atoms."""
    runs = [
        (i, j)
        for i in range(len(atoms))
        for j in range(i + 1, min(i + MAX_ATOMS, len(atoms)) + 1)
        if j == i + 1 or one_digit_wide(atoms[i:j], line)
    ]
    fields = np.stack([run_field(marks, atoms[i:j]) for i, j in runs])
    reading = read(fields)
    score = dict(zip(runs, PIECE_BONUS - reading[1], strict=True))
    # A piece that begins inside a mark: the cut through its strokes costs too.
    cut_cost = [0.0] + [
        CUT_COST + CROSSING_COST * max(0, crossings(left, right) - 1) if left.label == right.label else 0.0
        for left, right in itertools.pairwise(atoms)
    ]
    best = [0.0] + [-np.inf] * len(atoms)  # best[j]: the best reading of the first j atoms
    start = [0] * (len(atoms) + 1)
    for j in range(1, len(atoms) + 1):
        for i in range(max(0, j - MAX_ATOMS), j):
            if (i, j) not in score:
                continue
            total = best[i] + score[(i, j)] - cut_cost[i]
            if total > best[j]:
                best[j], start[j] = total, i
    chosen, j = [], len(atoms)
    while j:
        chosen.append((start[j], j))
        j = start[j]
    chosen.reverse()
    row = {run: k for k, run in enumerate(runs)}
    rows = [row[run] for run in chosen]
    outputs, surprise, odd = reading
    readings = (fields[rows], [o[rows] for o in outputs], surprise[rows], odd[rows])
    return [atoms[i:j] for i, j in chosen], readings, float(best[len(atoms)])


def crossings(left: Atom, right: Atom) -> int:
    """How many strokes the cut between two neighbouring slices of one mark crosses: the
    runs of rows where their strokes touch, side by side or corner to corner."""
    a, b = left.strokes[left.box], right.strokes[left.box]
    touch = (a[:, :-1] & b[:, 1:]).any(axis=1)
    touch[1:] |= (a[:-1, :-1] & b[1:, 1:]).any(axis=1)
    touch[:-1] |= (a[1:, :-1] & b[:-1, 1:]).any(axis=1)
    rows = np.flatnonzero(touch)
    return 0 if not len(rows) else 1 + int((np.diff(rows) > 2).sum())  # a gap over 2 rows: another stroke


def one_digit_wide(atoms: list[Atom], line: float) -> bool:
    """Could these atoms be one digit? Together no wider than MAX_WIDTH line heights,
    and each within MAX_GAP of the others (a 5's bar, not the next digit)."""
    left, right = atoms[0].columns
    for other in sorted(atoms[1:], key=lambda a: a.columns[0]):
        if other.columns[0] - right > MAX_GAP * line:
            return False
        left, right = min(left, other.columns[0]), max(right, other.columns[1])
    return right - left <= MAX_WIDTH * line


def union(atoms: list[Atom]) -> np.ndarray:
    strokes = atoms[0].strokes.copy()
    for other in atoms[1:]:
        strokes |= other.strokes
    return strokes


def run_ink(marks, atoms: list[Atom]) -> np.ndarray:
    """The ink of these atoms' strokes with their anti-aliased edges, but none of a
    neighbour's (a slice keeps to its own side of its cuts), in a window around them."""
    top, bottom = min(a.rows[0] for a in atoms), max(a.rows[1] for a in atoms)
    left, right = min(a.columns[0] for a in atoms), max(a.columns[1] for a in atoms)
    window = (slice(max(0, top - 3), bottom + 3), slice(max(0, left - 3), right + 3))
    strokes = atoms[0].strokes[window].copy()
    for other in atoms[1:]:
        strokes |= other.strokes[window]
    ink = np.where(grown(strokes, 2), marks.grey[window], 0)
    if all(a.area is None for a in atoms):
        return ink
    mine = np.zeros(ink.shape, bool)
    for a in atoms:
        mine |= grown(a.strokes[window], 2) if a.area is None else a.area[window]
    return np.where(mine, ink, 0)


def run_field(marks, atoms: list[Atom]) -> np.ndarray:
    """The 28x28 of these atoms as one digit, flat (784 values)."""
    return centred_field(run_ink(marks, atoms)).reshape(INPUT_SIZE)


def picture_box(line: Line, strokes: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The strokes' box (x, y, width, height) in the picture's own pixels."""
    if not strokes.any():
        return (0, 0, shape[1], shape[0])
    rows, columns = inked_box(strokes)
    corners = line.to_picture(
        np.array([rows.start, rows.start, rows.stop, rows.stop]),
        np.array([columns.start, columns.stop, columns.start, columns.stop]),
    )
    top, left = (max(0, int(v)) for v in corners.min(axis=1))
    bottom, right = (min(side, int(np.ceil(v))) for v, side in zip(corners.max(axis=1), shape, strict=True))
    return (left, top, right - left, bottom - top)
