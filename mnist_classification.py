"""Evaluate the saved MNIST model on the 10,000 test images, or classify your own images.

    python mnist_classification.py                       # after `python model.py`
    python mnist_classification.py --data ../shared/mnist
    python mnist_classification.py --image my_digit.jpg  # no MNIST data needed

It never trains: it loads `artifacts/model.keras` (Keras' safe mode on), predicts
every test image once, and writes metrics.json and four PNGs to the output folder:
confusion_matrix.png, misclassified.png, roc_curves.png, precision_recall_curves.png.
With --image it turns each picture into an MNIST-style 28x28 digit first and prints
the answer. Data loading and atomic saving come from model.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

from model import (
    IMAGE_SIDE,
    INPUT_SIZE,
    MODEL_FILE,
    NUM_CLASSES,
    OUTPUT_DIR,
    OneLineParser,
    PipelineError,
    add_data_argument,
    atomic_path,
    exit_now,
    import_keras,
    load_mnist,
    prepare_output_dir,
    preprocess,
    run_command,
    save_figure,
    write_json,
)

PREDICT_BATCH = 1000  # inference only: big batches are faster and give the same numbers
MISCLASSIFIED_SHOWN = 25  # a 5x5 grid
MAX_MODEL_BYTES = 512 * 1024 * 1024  # a .keras archive that unpacks to more is refused (zip bombs)


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------
def load_classifier(path: Path):
    """Load a saved Keras model (safe mode on) and check it maps 784 pixels to 10 classes."""
    if not path.is_file():
        raise PipelineError(f"{path}: no model here; run `python model.py` first to train one")
    check_model_archive(path)
    keras = import_keras()
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - Keras raises many types for a bad archive
        reason = " ".join(str(error).split()) or type(error).__name__
        if "safe_mode" in reason:
            raise PipelineError(
                f"{path}: refused: the model contains Python code (such as a Lambda layer), "
                "which Keras' safe mode does not run for files from elsewhere"
            ) from None
        raise PipelineError(f"{path}: cannot load as a Keras model ({reason[:200]})") from None
    input_shape, output_shape = tuple(model.input_shape), tuple(model.output_shape)
    if input_shape[1:] != (INPUT_SIZE,) or output_shape[1:] != (NUM_CLASSES,):
        raise PipelineError(
            f"{path}: model maps {input_shape[1:]} to {output_shape[1:]}; "
            f"this script needs ({INPUT_SIZE},) pixels in and ({NUM_CLASSES},) class probabilities out"
        )
    return model


def check_model_archive(path: Path) -> None:
    """A .keras file is a zip archive: refuse anything else, and zip bombs, before Keras reads it."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise PipelineError(
            f"{path}: not a Keras model file (.keras files are zip archives: {error})"
        ) from None
    if unpacked > MAX_MODEL_BYTES:
        raise PipelineError(
            f"{path}: unpacks to {unpacked:,} bytes, more than {MAX_MODEL_BYTES:,}; refusing it"
        )
    if "config.json" not in names:
        raise PipelineError(f"{path}: not a Keras model file (no config.json in the archive)")


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------
def evaluate(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Test metrics from the predicted class probabilities (n, 10)."""
    from sklearn.metrics import (
        average_precision_score,
        classification_report,
        confusion_matrix,
        roc_auc_score,
    )

    keras = import_keras()
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted, labels=range(NUM_CLASSES))
    # The model's own compiled loss on the same predictions, as `model.evaluate` computes it.
    loss = float(np.mean(keras.losses.sparse_categorical_crossentropy(labels, probabilities)))
    report = classification_report(
        labels, predicted, labels=range(NUM_CLASSES), output_dict=True, zero_division=0
    )
    one_hot = np.eye(NUM_CLASSES, dtype=bool)[labels]
    per_class = {}
    for digit in range(NUM_CLASSES):
        scores, is_digit = probabilities[:, digit], one_hot[:, digit]
        both_kinds = 0 < is_digit.sum() < len(labels)  # ROC AUC needs positives and negatives
        per_class[str(digit)] = {
            "precision": report[str(digit)]["precision"],
            "recall": report[str(digit)]["recall"],
            "f1": report[str(digit)]["f1-score"],
            "support": int(report[str(digit)]["support"]),
            "roc_auc": float(roc_auc_score(is_digit, scores)) if both_kinds else None,
            "average_precision": float(average_precision_score(is_digit, scores)) if both_kinds else None,
        }
    return {
        "test_loss": loss,
        "test_accuracy": float(np.trace(matrix) / matrix.sum()),
        "n_test": int(matrix.sum()),
        "confusion_matrix": matrix.tolist(),
        "per_class": per_class,
    }


def print_report(metrics: dict) -> None:
    """Loss, accuracy and a per-digit table, all read from `metrics` (what metrics.json holds)."""
    print(f"Test loss:     {metrics['test_loss']:.4f}")
    print(f"Test accuracy: {metrics['test_accuracy']:.4f} ({metrics['n_test']:,} images)")
    print()
    keys = ("precision", "recall", "f1", "roc_auc", "average_precision")
    titles = ("precision", "recall", "f1", "ROC AUC", "avg prec")
    print("digit  " + "  ".join(f"{title:>9}" for title in titles) + "  support")
    for digit, row in metrics["per_class"].items():
        values = "  ".join("      n/a" if row[key] is None else f"{row[key]:9.4f}" for key in keys)
        print(f"{digit:>5}  {values}  {row['support']:7,}")


# ---------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------
def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(metrics: dict, path: Path) -> None:
    import seaborn as sns

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(8, 6.8))
    sns.heatmap(
        np.array(metrics["confusion_matrix"]),
        annot=True,
        fmt="d",
        cmap="Blues",
        square=True,
        cbar_kws={"label": "Test images", "shrink": 0.8},
        annot_kws={"fontsize": 9},
        ax=axis,
    )
    axis.set_xlabel("Predicted label")
    axis.set_ylabel("True label")
    axis.set_title(f"MNIST test set: accuracy {metrics['test_accuracy']:.2%} ({metrics['n_test']:,} images)")
    axis.tick_params(axis="y", rotation=0)
    save_figure(figure, path)


def plot_misclassified(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, path: Path) -> None:
    """The most confidently wrong predictions, most confident first."""
    plt = pyplot()
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    shown = wrong[np.argsort(-confidence, kind="stable")][:MISCLASSIFIED_SHOWN]
    columns = 5
    rows = max(1, -(-len(shown) // columns))
    figure, axes = plt.subplots(
        rows, columns, figsize=(1.9 * columns, 2.2 * rows), squeeze=False, layout="constrained"
    )
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, shown, strict=False):
        axis.imshow(images[index], cmap="gray_r")
        axis.set_title(
            f"true {labels[index]}, said {predicted[index]}\n"
            f"p = {probabilities[index, predicted[index]]:.2f}",
            fontsize=9,
        )
    title = f"Most confidently wrong test digits ({len(wrong):,} wrong in all)"
    figure.suptitle(title if len(wrong) else "No test digit was misclassified")
    save_figure(figure, path)


def plot_curves(labels: np.ndarray, probabilities: np.ndarray, metrics: dict, kind: str, path: Path) -> None:
    """One-vs-rest ROC (kind='roc') or precision-recall (kind='pr') curve per digit."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 6))
    colors = plt.get_cmap("tab10")
    for digit in range(NUM_CLASSES):
        stats = metrics["per_class"][str(digit)]
        if stats["roc_auc"] is None:
            continue  # a digit absent from the test set has no curve
        is_digit = labels == digit
        if kind == "roc":
            x, y, _ = roc_curve(is_digit, probabilities[:, digit])
            label = f"{digit}  (AUC {stats['roc_auc']:.4f})"
        else:
            y, x, _ = precision_recall_curve(is_digit, probabilities[:, digit])
            label = f"{digit}  (AP {stats['average_precision']:.4f})"
        axis.plot(x, y, color=colors(digit), linewidth=1.2, label=label)
    if kind == "roc":
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        axis.set(
            xlabel="False positive rate",
            ylabel="True positive rate",
            title="ROC curves, one digit vs the rest",
        )
        axis.legend(loc="lower right", fontsize=8)
    else:
        axis.set(xlabel="Recall", ylabel="Precision", title="Precision-recall curves, one digit vs the rest")
        axis.legend(loc="lower left", fontsize=8)
    axis.grid(alpha=0.3)
    save_figure(figure, path)


# ---------------------------------------------------------------------------
# Your own images: turn a photo or drawing into an MNIST-style digit
# ---------------------------------------------------------------------------
# MNIST digits are bright ink on black, scaled so the longer side of their
# bounding box is 20 px (anti-aliased), then placed in a 28x28 field with their
# centre of mass at the centre. A phone photo is dark ink on a light, unevenly lit
# page, large and off-centre; `to_mnist` undoes each of those differences.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
MAX_IMAGE_PIXELS = 64_000_000  # refuse larger images (and decompression bombs) before decoding
WORK_SIDE = 512  # big photos are shrunk to this longer side first: ample for a 20 px digit
DIGIT_BOX = 20  # MNIST's box for the digit inside the 28x28 field
FIELD_CENTRE = 14.0  # where MNIST puts the centre of mass (row and column, in pixels)
MIN_INK_CONTRAST = 0.1  # ink must stand out from the page by 10% of full scale
IMAGE_BATCH = 256  # files preprocessed and classified together; memory stays flat


class ImageError(PipelineError):
    """One image could not be read or holds no digit; the others still get their answer."""


def read_grey(path: Path) -> np.ndarray:
    """The image's first frame as grey levels in [0, 1], transparent pixels as page."""
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.seek(0)  # first frame of a GIF or multi-page TIFF
                image.load()
                return grey_levels(ImageOps.exif_transpose(image))  # phone photos: upright as shot
    except ImageError as error:
        raise ImageError(f"{path}: {error}") from None
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a folder") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{path}: more than {MAX_IMAGE_PIXELS:,} pixels; refusing to decode it") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:  # Pillow's words for broken files
        raise ImageError(f"{path}: damaged or truncated image ({error})") from None


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


def border_mask(shape: tuple[int, int]) -> np.ndarray:
    """The outer 5% frame of an image, where the page shows even when the ink is off-centre."""
    mask = np.zeros(shape, dtype=bool)
    rows, columns = (max(1, round(side * 0.05)) for side in shape)
    mask[:rows], mask[-rows:], mask[:, :columns], mask[:, -columns:] = True, True, True, True
    return mask


def otsu_threshold(values: np.ndarray) -> float:
    """The grey level that best splits `values` into two classes (Otsu's method)."""
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-3:
        return high  # a uniform image: nothing stands out as ink
    counts, edges = np.histogram(values, bins=256, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    mean_low = np.cumsum(counts * centres) / np.maximum(weight_low, 1)
    mean_high = (np.sum(counts * centres) - np.cumsum(counts * centres)) / np.maximum(weight_high, 1)
    return float(centres[np.argmax(weight_low * weight_high * (mean_low - mean_high) ** 2)])


def smooth_background(grey: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """A quadratic surface fitted to the page around the ink: lighting gradients and soft
    shadows are smooth, so subtracting this leaves the ink on an even, dark page."""
    rows, columns = np.indices(grey.shape, dtype=np.float32)
    y, x = rows / max(grey.shape[0] - 1, 1) * 2 - 1, columns / max(grey.shape[1] - 1, 1) * 2 - 1
    terms = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)
    page = ~ink
    sample = np.flatnonzero(page)[:: max(1, page.sum() // 20_000)]  # every pixel is not needed
    coefficients, *_ = np.linalg.lstsq(terms.reshape(-1, 6)[sample], grey.reshape(-1)[sample], rcond=None)
    return terms @ coefficients.astype(np.float32)


def to_mnist(grey: np.ndarray, name: str = "image") -> np.ndarray:
    """Any greyscale picture of one digit -> 28x28 float32 in [0, 1], as MNIST was made."""
    from PIL import Image, ImageFilter
    from scipy import ndimage

    # 1. Work at a modest size: a 12-megapixel photo holds no more digit than 512 px.
    scale = WORK_SIDE / max(grey.shape)
    if scale < 1:
        size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
        grey = np.asarray(Image.fromarray(grey).resize(size, Image.Resampling.BOX))
    # Smooth away speckle and paper grain (on a small image a 3x3 median would eat strokes).
    if max(grey.shape) >= 4 * IMAGE_SIDE:
        speckled = Image.fromarray(np.round(grey * 255).astype(np.uint8))
        grey = np.asarray(speckled.filter(ImageFilter.MedianFilter(3)), dtype=np.float32) / 255
    # 2. MNIST ink is bright on black: invert a light page.
    if np.median(grey[border_mask(grey.shape)]) > 0.5:
        grey = 1 - grey
    # 3. Even out the lighting.
    for _ in range(2):  # the second pass tells ink from page better, on an evened-out page
        grey = grey - smooth_background(grey, grey > otsu_threshold(grey))
    # 4. Stretch the ink to full brightness; the page and its noise become black.
    ink = grey > otsu_threshold(grey)
    near_ink = ndimage.binary_dilation(ink, iterations=3)  # anti-aliased edges are not page noise
    page = grey[~near_ink] if not near_ink.all() else grey[~ink]
    page_level = float(np.median(page))
    noise = 1.4826 * float(np.median(np.abs(page - page_level)))  # robust standard deviation
    ink_level = float(np.percentile(grey[ink], 95)) if ink.any() else page_level
    if ink_level - page_level < max(MIN_INK_CONTRAST, 8 * noise):
        raise ImageError(f"{name}: no ink found (a blank or nearly uniform image)")
    floor = page_level + 3 * noise
    grey = np.clip((grey - floor) / (ink_level - floor), 0, 1)
    # 5. Keep the digit's strokes, drop stray specks: components under 5% of the largest go.
    labels, _ = ndimage.label(grey > 0.25, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())[1:]
    strokes = np.isin(labels, 1 + np.flatnonzero(sizes >= 0.05 * sizes.max()))
    grey = np.where(ndimage.binary_dilation(strokes, iterations=2), grey, 0)
    # 6. Crop to the ink, fit the longer side to 20 px, and centre by mass in 28x28.
    rows, columns = np.flatnonzero(grey.any(axis=1)), np.flatnonzero(grey.any(axis=0))
    crop = grey[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    factor = DIGIT_BOX / max(crop.shape)
    size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
    digit = np.clip(np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS)), 0, 1)
    centre_row, centre_column = ndimage.center_of_mass(digit)
    top = int(np.clip(round(FIELD_CENTRE - centre_row), 0, IMAGE_SIDE - digit.shape[0]))
    left = int(np.clip(round(FIELD_CENTRE - centre_column), 0, IMAGE_SIDE - digit.shape[1]))
    field = np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return field / field.max()


def image_files(paths: list[Path]) -> list[Path]:
    """The files named, with each folder replaced by the images in it (sorted by name)."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            files.append(path)
    return files


def classify_images(model, paths: list[Path], save_dir: Path | None) -> list[dict]:
    """Predict the digit in each image file, in batches; one result (or error) per file."""
    results = []
    taken: set[str] = set()  # names of the preprocessed PNGs written so far
    for start in range(0, len(paths), IMAGE_BATCH):
        batch, digits = [], []
        for path in paths[start : start + IMAGE_BATCH]:
            try:
                digits.append(to_mnist(read_grey(path), name=str(path)))
                batch.append({"file": str(path)})
            except ImageError as error:
                results.append({"file": str(path), "error": str(error)})
        if not batch:
            continue
        inputs = np.stack(digits).reshape(len(digits), INPUT_SIZE)
        probabilities = model.predict(inputs, batch_size=IMAGE_BATCH, verbose=0)
        for result, row, digit in zip(batch, probabilities, digits, strict=True):
            top = np.argsort(-row, kind="stable")[:3]
            result |= {
                "digit": int(top[0]),
                "probability": float(row[top[0]]),
                "top_3": [{"digit": int(d), "probability": float(row[d])} for d in top],
            }
            if save_dir is not None:
                path = save_preprocessed(digit, save_dir, Path(result["file"]), taken)
                result["preprocessed"] = str(path)
        results += batch
    order = {str(path): i for i, path in enumerate(paths)}
    return sorted(results, key=lambda result: order[result["file"]])


def save_preprocessed(digit: np.ndarray, folder: Path, source: Path, taken: set[str]) -> Path:
    """Write the 28x28 input the network saw as a PNG (white digit on black, like MNIST).

    It is named after the source file (`photo.jpg` -> `photo.jpg.png`); files of the same
    name from different folders get `photo-2.jpg.png`, ... instead of overwriting each other.
    """
    from PIL import Image

    name, copy = f"{source.name}.png", 1
    while name in taken:
        copy += 1
        name = f"{source.stem}-{copy}{source.suffix}.png"
    taken.add(name)
    path = folder / name
    with atomic_path(path) as temporary:
        Image.fromarray(np.round(digit * 255).astype(np.uint8)).save(temporary, format="PNG")
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
            top = ", ".join(f"{t['digit']} {t['probability']:.1%}" for t in result["top_3"])
            print(f"{result['file']}: {result['digit']} ({result['probability']:.1%})   top 3: {top}")


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(
        "Evaluate the saved MNIST model on the test set and write metrics and plots, "
        "or, with --image, say which digit is in your own pictures."
    )
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / MODEL_FILE, help="the .keras file to load")
    add_data_argument(parser)
    parser.add_argument(
        "--output-dir", type=Path, default=OUTPUT_DIR, help="where to write metrics and plots"
    )
    mine = parser.add_argument_group("your own images (no MNIST data needed)")
    mine.add_argument(
        "--image",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="image files (PNG, JPEG, BMP, GIF, TIFF, ...) or folders of them; prints each one's digit",
    )
    mine.add_argument("--json", action="store_true", help="with --image: print the answers as JSON")
    mine.add_argument(
        "--save-preprocessed",
        type=Path,
        metavar="DIR",
        help="with --image: save the 28x28 input the network saw for each file, as PNG",
    )
    args = parser.parse_args(argv)
    if args.image is None and (args.json or args.save_preprocessed):
        parser.error("--json and --save-preprocessed go with --image")
    return args


def run(args: argparse.Namespace) -> None:
    if args.image is not None:
        run_images(args)
        return
    output_dir = prepare_output_dir(args.output_dir)
    model = load_classifier(args.model)
    data = load_mnist(args.data)
    images, labels = data.x_test, data.y_test.astype(np.int64)
    probabilities = model.predict(preprocess(images), batch_size=PREDICT_BATCH, verbose=0)

    metrics = evaluate(probabilities, labels)
    metrics |= {"model": str(args.model), "data_source": data.source}
    print_report(metrics)

    write_json(output_dir / "metrics.json", metrics)
    plot_confusion_matrix(metrics, output_dir / "confusion_matrix.png")
    plot_misclassified(images, labels, probabilities, output_dir / "misclassified.png")
    plot_curves(labels, probabilities, metrics, "roc", output_dir / "roc_curves.png")
    plot_curves(labels, probabilities, metrics, "pr", output_dir / "precision_recall_curves.png")
    print(
        f"Wrote metrics.json, confusion_matrix.png, misclassified.png, roc_curves.png "
        f"and precision_recall_curves.png in {output_dir}/"
    )


def run_images(args: argparse.Namespace) -> None:
    """--image: one answer per file; a file that fails is reported and the rest carry on."""
    save_dir = prepare_output_dir(args.save_preprocessed) if args.save_preprocessed else None
    files = image_files(args.image)
    if not files:
        raise PipelineError(f"no image files in {', '.join(map(str, args.image))}")
    model = load_classifier(args.model)
    results = classify_images(model, files, save_dir)
    report_images(results, args.json)
    failed = sum("error" in result for result in results)
    if failed:
        raise PipelineError(f"{failed} of {len(results)} image(s) could not be classified")


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv))


if __name__ == "__main__":
    exit_now(main())
