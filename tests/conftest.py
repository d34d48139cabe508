"""Shared helpers: tiny MNIST-like data sets written by the tests, and running the scripts."""

from __future__ import annotations

import gzip
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent

IMAGE_MAGIC, LABEL_MAGIC = 0x00000803, 0x00000801


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array in IDX format (gzipped when the name ends in .gz)."""
    magic = IMAGE_MAGIC if array.ndim == 3 else LABEL_MAGIC
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload, mtime=0) if path.suffix == ".gz" else payload)
    return path


def render_digits(labels: np.ndarray, seed: int) -> np.ndarray:
    """MNIST-like 28x28 uint8 images: each label drawn as a white glyph on black,
    with random size, position, stroke width and rotation, so a model must learn shapes."""
    rng = np.random.default_rng(seed)
    images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        font = ImageFont.load_default(size=int(rng.integers(18, 25)))
        canvas = Image.new("L", (28, 28))
        ImageDraw.Draw(canvas).text(
            (14 + rng.integers(-2, 3), 14 + rng.integers(-2, 3)),
            str(label),
            fill=255,
            font=font,
            anchor="mm",
            stroke_width=int(rng.integers(0, 2)),
            stroke_fill=255,
        )
        canvas = canvas.rotate(float(rng.uniform(-12, 12)), resample=Image.BILINEAR)
        images[i] = np.asarray(canvas)
    return images


def make_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n, dtype=np.uint8) % 10
    np.random.default_rng(seed).shuffle(labels)
    return render_digits(labels, seed), labels


def write_mnist_folder(folder: Path, n_train: int = 600, n_test: int = 200, gz: bool = True) -> Path:
    """A folder holding the four IDX files of a small generated data set."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for (images, labels), prefix in ((make_split(n_train, 1), "train"), (make_split(n_test, 2), "t10k")):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return folder


def train_one_epoch(
    data: Path, output: Path, *extra: str | Path, env: dict[str, str] | None = None, check: bool = False
):
    """`python model.py` for one quiet epoch on `data` into `output`; the test fails if it
    does. The not-a-digit check is fitted only when `check` (it takes most of the time)."""
    skip = () if check else ("--skip-digit-check",)
    result = run_script(
        "model.py", "--data", data, "--epochs", "1", "--quiet", "--output-dir", output, *skip, *extra, env=env
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="session", autouse=True)
def private_compile_cache(tmp_path_factory) -> None:
    """model.py keeps compiled training loops in ~/.cache; the tests keep theirs apart."""
    os.environ["MNIST_COMPILE_CACHE"] = str(tmp_path_factory.mktemp("compile_cache"))


@pytest.fixture(scope="session")
def raw_mnist(tmp_path_factory) -> Path:
    """96 training and 20 test images as uncompressed IDX files: no checksum warnings,
    so stderr holds only what the scripts say."""
    return write_mnist_folder(tmp_path_factory.mktemp("raw_mnist"), n_train=96, n_test=20, gz=False)


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory) -> Path:
    """600 training and 200 test images as gzipped IDX files."""
    return write_mnist_folder(tmp_path_factory.mktemp("tiny_mnist"))


def script_env(**extra: str) -> dict[str, str]:
    """The environment a user would have, minus any MNIST_DATA, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if key != "MNIST_DATA"}
    env.update(extra)
    return env


def assert_one_line_error(result, *fragments: str) -> None:
    """Exit code 2, one line on stderr that says what is wrong, and no traceback."""
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert message and "\n" not in message and "Traceback" not in message, message
    for fragment in fragments:
        assert fragment in message, message


def run_script(script: str, *args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT):
    """Run one of the project's scripts as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, str(ROOT / script), *map(str, args)],
        capture_output=True,
        text=True,
        env=env or script_env(),
        cwd=cwd,
        timeout=600,
    )


@pytest.fixture(scope="session")
def trained(tmp_path_factory, tiny_mnist) -> Path:
    """Both scripts run once, as a user would, on the tiny data set; returns their output folder."""
    output = tmp_path_factory.mktemp("artifacts")
    train = run_script("model.py", "--data", tiny_mnist, "--epochs", "1", "--output-dir", output, "--quiet")
    assert train.returncode == 0, train.stderr
    evaluate = run_script(
        "mnist_classification.py",
        "--data",
        tiny_mnist,
        "--model",
        output / "model.keras",
        "--output-dir",
        output,
    )
    assert evaluate.returncode == 0, evaluate.stderr
    return output


def start_server(model: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """`python mnist_classification.py --serve` on a free port; returns it and its address."""
    command = [sys.executable, str(ROOT / "mnist_classification.py"), "--serve", "--model", str(model)]
    server = subprocess.Popen(
        [*command, "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=script_env(),
    )
    ready = server.stdout.readline()
    assert ready.startswith("Serving the drawing page on http://127.0.0.1:"), server.stderr.read()
    return server, ready.split(" on ")[1].split()[0]


def stop(server: subprocess.Popen) -> tuple[int, str]:
    server.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, stderr = server.communicate(timeout=30)
    return server.returncode, stderr


@pytest.fixture(scope="session")
def mnist_artifacts(tmp_path_factory) -> Path:
    """`python model.py` then `python mnist_classification.py` with no options at all, run in an
    empty folder with data from MNIST_DATA, exactly as the README's main command runs them.
    Returns their artifacts/ folder; skips when MNIST_DATA is not set."""
    if not os.environ.get("MNIST_DATA"):
        pytest.skip("set MNIST_DATA to a folder of the MNIST IDX files")
    folder = tmp_path_factory.mktemp("full")
    env = script_env(MNIST_DATA=str(Path(os.environ["MNIST_DATA"]).resolve()))
    for script in ("model.py", "mnist_classification.py"):
        result = run_script(script, env=env, cwd=folder)
        assert result.returncode == 0, result.stderr
    return folder / "artifacts"


@pytest.fixture(scope="session")
def mnist_data():
    """MNIST from the folder MNIST_DATA names, loaded once for every full-data test;
    skips when MNIST_DATA is not set."""
    if not os.environ.get("MNIST_DATA"):
        pytest.skip("set MNIST_DATA to a folder of the MNIST IDX files")
    from mnist_pipeline.data import load_mnist

    return load_mnist(os.environ["MNIST_DATA"])


@pytest.fixture(scope="session")
def mnist_model_and_check(mnist_artifacts):
    """The network and the not-a-digit check that run saved, loaded once for every
    full-data test."""
    from mnist_pipeline.digit_check import load_digit_check
    from mnist_pipeline.saved_model import load_classifier

    model_file = mnist_artifacts / "model.keras"
    return load_classifier(model_file), load_digit_check(model_file)


def png_bytes(picture: Image.Image) -> bytes:
    """The picture as a PNG file's bytes, as an upload brings them."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def make_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A 'photo' of a 28x28 MNIST-style digit (bright on black; or a wider strip of them):
    scaled up 5-15x, dark ink on a light page, off-centre with wide uneven margins,
    unevenly lit, and noisy."""
    factor = int(rng.integers(5, 16))
    height, width = digit.shape[0] * factor, digit.shape[1] * factor
    ink = np.asarray(Image.fromarray(digit).resize((width, height), Image.Resampling.BICUBIC), np.float32)
    ink = np.clip(ink / 255, 0, 1)
    top, bottom, left, right = (int(height * rng.uniform(0.2, 1.5)) for _ in range(4))
    page = np.zeros((top + height + bottom, left + width + right), dtype=np.float32)
    page[top : top + height, left : left + width] = ink
    paper, pen = rng.uniform(0.8, 0.95), rng.uniform(0.05, 0.25)
    photo = paper - (paper - pen) * page
    rows, columns = np.indices(page.shape) / max(page.shape)
    angle = rng.uniform(0, 2 * np.pi)
    photo *= 1 - 0.25 * (np.cos(angle) * rows + np.sin(angle) * columns + 1) / 2  # light from one side
    photo += rng.normal(0, 0.02, page.shape)
    return Image.fromarray(np.round(np.clip(photo, 0, 1) * 255).astype(np.uint8))
