"""Your own images: one answer (or one error) per file, in batches.

Files are read and preprocessed 256 at a time, so thousands of images take about
the same memory as a few hundred, and a broken file is reported while the others
still get their answer.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np

from mnist_pipeline.data import INPUT_SIZE
from mnist_pipeline.files import atomic_path
from mnist_pipeline.handwriting import read_digit
from mnist_pipeline.picture import IMAGE_SUFFIXES, ImageError

IMAGE_BATCH = 256  # files preprocessed and classified together; memory stays flat


def image_files(paths: list[Path]) -> list[Path]:
    """The files named, with each folder replaced by the images in it (sorted by name)."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            files.append(path)
    return files


def classify_images(model, paths: list[Path], save_dir: Path | None, check=None) -> list[dict]:
    """Predict the digit in each image file, in batches; one result (or error) per file.
    `check` (from `digit_check`) says which pictures are not digits at all; without it,
    every picture gets a digit."""
    results = []
    taken: set[str] = set()  # names of the preprocessed PNGs written so far
    for start in range(0, len(paths), IMAGE_BATCH):
        batch, digits = [], []
        for path in paths[start : start + IMAGE_BATCH]:
            try:
                digits.append(read_digit(path))
                batch.append({"file": str(path)})
            except ImageError as error:
                results.append({"file": str(path), "error": str(error)})
        if not batch:
            continue
        inputs = np.stack(digits).reshape(len(digits), INPUT_SIZE)
        probabilities = model.predict(inputs, batch_size=IMAGE_BATCH, verbose=0)
        odd = check.not_digits(inputs, probabilities) if check else np.zeros(len(inputs), bool)
        for result, row, digit, not_a_digit in zip(batch, probabilities, digits, odd, strict=True):
            result |= answer(row, bool(not_a_digit))
            if save_dir is not None:
                path = save_preprocessed(digit, save_dir, Path(result["file"]), taken)
                result["preprocessed"] = str(path)
        results += batch
    order = {str(path): i for i, path in enumerate(paths)}
    return sorted(results, key=lambda result: order[result["file"]])


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


def save_preprocessed(digit: np.ndarray, folder: Path, source: Path, taken: set[str]) -> Path:
    """Write the 28x28 input the network saw as a PNG (white digit on black, like MNIST).

    It is named after the source file (`photo.jpg` -> `photo.jpg.png`); files of the same
    name from different folders get `photo-2.jpg.png`, ... instead of overwriting each other.
    """
    name, copy = f"{source.name}.png", 1
    while name in taken:
        copy += 1
        name = f"{source.stem}-{copy}{source.suffix}.png"
    taken.add(name)
    path = folder / name
    with atomic_path(path) as temporary:
        temporary.write_bytes(digit_png(digit))
    return path


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
    """`7 (99.1%)   top 3: ...`, or `not a digit (best guess 4, 62%)`."""
    if result["not_a_digit"]:
        return f"not a digit (best guess {result['best_guess']}, {result['probability']:.0%})"
    top = ", ".join(f"{t['digit']} {t['probability']:.1%}" for t in result["top_3"])
    return f"{result['digit']} ({result['probability']:.1%})   top 3: {top}"
