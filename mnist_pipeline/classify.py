"""Your own images: one answer (or one error) per file.

Each picture is read as a number (`number`): one digit answers as it always has, several
answer the number they make, left to right. A broken file is reported while the others
still get their answer, and nothing is kept from one file to the next, so thousands of
images take the memory of one.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np

from mnist_pipeline.backend import one_blas_thread
from mnist_pipeline.digit_check import Check, TopProbability
from mnist_pipeline.files import atomic_path
from mnist_pipeline.number import NOT_A_PIECE, Piece, read_pieces
from mnist_pipeline.picture import IMAGE_SUFFIXES, ImageError
from mnist_pipeline.saved_model import LayerOutputs


class DigitReader:
    """The network (called directly, every layer's output) and the not-a-digit check:
    what the number reader needs to weigh each way of cutting a picture into digits."""

    def __init__(self, model, check: Check | None = None) -> None:
        self.layers = LayerOutputs(model)
        self.check = check
        one_blas_thread()

    def outputs(self, fields: np.ndarray) -> list[np.ndarray]:
        return self.layers(fields.astype(np.float32))

    def __call__(self, fields: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """(n, 784) 28x28s -> every layer's output (the last: probabilities (n, 10)),
        surprise (n,), not a digit (n,)."""
        outputs = self.outputs(fields)
        return outputs, *self.judge(fields, outputs[-1])

    def judge(self, fields: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How surprising each 28x28 is, and which are not digits (none without a check)."""
        if self.check is None:
            return TopProbability().surprise(fields, probabilities), np.zeros(len(fields), bool)
        return self.check.judge(fields, probabilities)


def image_files(paths: list[Path]) -> list[Path]:
    """The files named, with each folder replaced by the images in it (sorted by name)."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            files.append(path)
    return files


def classify_images(
    model, paths: list[Path], save_dir: Path | None, check: Check | None = None
) -> list[dict]:
    """The digit, or the number, in each image file; one result (or error) per file.
    `check` (from `digit_check`) says which pictures are not digits at all; without it,
    every picture gets a digit."""
    reader = DigitReader(model, check)
    results = []
    taken: set[str] = set()  # the names the preprocessed PNGs so far are named after
    for path in paths:
        try:
            pieces = read_pieces(path, reader)
        except ImageError as error:
            results.append({"file": str(path), "error": str(error)})
            continue
        result = {"file": str(path)} | number_answer(pieces)
        if save_dir is not None:
            saved = save_preprocessed(pieces, save_dir, path, taken)
            result["preprocessed"] = str(saved[0]) if len(saved) == 1 else [str(s) for s in saved]
        results.append(result)
    return results


def number_answer(pieces: list[Piece], extra=None) -> dict:
    """The answer for a picture's pieces: one digit's fields as always, plus `number` and
    `digits` (left to right, each with its probability, top 3 and box); with several
    pieces the top-level `digit` is None. `extra(i)` adds fields to each digit."""
    # One piece answers as the check says; in a number, only a piece clearly no digit is "?".
    odd = [p.odd if len(pieces) == 1 else p.surprise > NOT_A_PIECE for p in pieces]
    digits = [
        answer(piece.probabilities, not_a_digit) | {"box": list(piece.box)} | (extra(i) if extra else {})
        for i, (piece, not_a_digit) in enumerate(zip(pieces, odd, strict=True))
    ]
    text = "".join("?" if d["not_a_digit"] else str(d["digit"]) for d in digits)
    number = None if all(odd) else text
    if len(pieces) == 1:
        top = {k: v for k, v in digits[0].items() if k != "box"}
    else:
        top = {
            "digit": None,
            "not_a_digit": number is None,
            "best_guess": None,
            "probability": None,
            "top_3": None,
        }
    return top | {"number": number, "digits": digits}


def answer(probabilities: np.ndarray, not_a_digit: bool) -> dict:
    """The digit (None when the picture is not a digit), the network's best guess, its
    probability and the top three, from one row of 10 probabilities."""
    top = np.argsort(-probabilities, kind="stable")[:3]
    return {
        "digit": None if not_a_digit else int(top[0]),
        "not_a_digit": not_a_digit,
        "best_guess": int(top[0]),
        "probability": float(probabilities[top[0]]),
        "top_3": [{"digit": int(d), "probability": float(probabilities[d])} for d in top],
    }


def digit_png(digit: np.ndarray) -> bytes:
    """The 28x28 input the network saw as PNG bytes (white digit on black, like MNIST)."""
    from PIL import Image

    png = io.BytesIO()
    Image.fromarray(np.round(digit * 255).astype(np.uint8)).save(png, format="PNG")
    return png.getvalue()


def save_preprocessed(pieces: list[Piece], folder: Path, source: Path, taken: set[str]) -> list[Path]:
    """Write the 28x28 inputs the network saw as PNGs (white digit on black, like MNIST).

    They are named after the source file: `photo.jpg` -> `photo.jpg.png`, or for the
    digits of a number `photo.jpg.1.png`, `photo.jpg.2.png`, ...; files of the same name
    from different folders get `photo-2.jpg.png`, ... instead of overwriting each other.
    """
    stem, copy = source.name, 1
    while stem in taken:
        copy += 1
        stem = f"{source.stem}-{copy}{source.suffix}"
    taken.add(stem)
    names = [f"{stem}.png"] if len(pieces) == 1 else [f"{stem}.{i}.png" for i in range(1, len(pieces) + 1)]
    for piece, name in zip(pieces, names, strict=True):
        with atomic_path(folder / name) as temporary:
            temporary.write_bytes(digit_png(piece.field))
    return [folder / name for name in names]


def report_images(results: list[dict], as_json: bool) -> None:
    for result in results:
        if "error" in result:
            print(f"error: {result['error']}", file=sys.stderr)
    if as_json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        if "error" not in result:
            print(f"{result['file']}: {answer_line(result)}")


def answer_line(result: dict) -> str:
    """`7 (99.1%)   top 3: ...`, `not a digit (best guess 4, 62%)`, or for a number
    `2026   2 99.1%, 0 98.7%, 2 99.9%, 6 97.0%` (a piece that is no digit: `? (4 62.0%)`)."""
    digits = result.get("digits", [])
    if len(digits) > 1:
        if result["number"] is None:
            return f"not a digit ({len(digits)} marks, none of them a digit)"
        return f"{result['number']}   " + ", ".join(
            f"? ({d['best_guess']} {d['probability']:.1%})"
            if d["not_a_digit"]
            else f"{d['digit']} {d['probability']:.1%}"
            for d in digits
        )
    if result["not_a_digit"]:
        return f"not a digit (best guess {result['best_guess']}, {result['probability']:.0%})"
    top = ", ".join(f"{t['digit']} {t['probability']:.1%}" for t in result["top_3"])
    return f"{result['digit']} ({result['probability']:.1%})   top 3: {top}"
