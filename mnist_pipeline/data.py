"""MNIST: find it, read it, check it, and turn it into the network's input.

`load_mnist` takes a folder of the four official IDX files (gzipped or raw), a
Keras-style mnist.npz, $MNIST_DATA, or else Keras' own download. Every file is
validated before use: headers are checked before anything is allocated, an npz is
never unpickled, and a problem is a DataError naming the file (one line, exit 2).
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_pipeline.backend import import_keras
from mnist_pipeline.cli import PipelineError, warn
from mnist_pipeline.files import file_digest

IMAGE_SIDE = 28
INPUT_SIZE = IMAGE_SIDE * IMAGE_SIDE  # 784 pixels per flattened image
NUM_CLASSES = 10
DATA_ENV = "MNIST_DATA"  # environment variable naming an offline copy of MNIST

# The four files of the official release, by split; each may be gzipped or raw.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# MD5 of the official gzipped files, as published with the data set. A mismatch
# only warns: a faithful re-export (such as ../shared/mnist) must still load.
OFFICIAL_GZ_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
# SHA-256 of the mnist.npz that Keras downloads.
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

IDX_UBYTE = 0x08  # IDX type code for unsigned bytes, the only one MNIST uses
MAX_IMAGES = 1_000_000  # refuse headers that claim more, before allocating anything


class DataError(PipelineError):
    """MNIST could not be found or failed validation; the message names the file."""


@dataclass
class Mnist:
    """MNIST as uint8 arrays: images (n, 28, 28) and labels (n,) for each split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # where it came from, in words, for reports


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read one IDX file of unsigned bytes (gzipped if its name ends in .gz).

    The header is checked before the body is read, so a header that lies about
    its size is refused without allocating what it claims.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            header = f.read(4 + 4 * ndim)
            if len(header) < 4 + 4 * ndim:
                raise DataError(f"{path}: truncated IDX header ({len(header)} bytes)")
            zero, dtype_code, file_ndim = header[0:2], header[2], header[3]
            if zero != b"\0\0" or dtype_code != IDX_UBYTE or file_ndim != ndim:
                raise DataError(
                    f"{path}: wrong IDX magic number 0x{header[:4].hex()} "
                    f"(expected 0x0000080{ndim}, unsigned bytes in {ndim} dimension(s))"
                )
            shape = tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
            # Python's integers: two 32-bit sides can multiply past what int64 holds.
            if shape[0] > MAX_IMAGES or math.prod(shape[1:]) > INPUT_SIZE:
                raise DataError(f"{path}: implausible IDX shape {shape}")
            expected = math.prod(shape)
            body = f.read(expected + 1)  # one byte more, to notice trailing data
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    if len(body) < expected:
        raise DataError(f"{path}: truncated, {len(body):,} of {expected:,} data bytes")
    if len(body) > expected:
        raise DataError(f"{path}: unexpected data after the {expected:,} bytes its header declares")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def find_idx_file(folder: Path, name: str) -> Path:
    """The gzipped file if present (its official checksum can be checked), else the raw one."""
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    raise DataError(f"{folder / name}(.gz): file not found")


def check_official_checksum(path: Path) -> None:
    expected = OFFICIAL_GZ_MD5.get(path.name)
    if expected is not None and file_digest(path, "md5") != expected:
        warn(f"{path} differs from the official MNIST file (MD5 mismatch); using it anyway")


def load_idx_folder(folder: Path) -> Mnist:
    arrays = []
    for images_name, labels_name in IDX_FILES.values():
        images_path = find_idx_file(folder, images_name)
        labels_path = find_idx_file(folder, labels_name)
        for path in (images_path, labels_path):
            check_official_checksum(path)
        images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
        validate_split(images, labels, f"{images_path} / {labels_path}")
        arrays += [images, labels]
    return Mnist(*arrays, source=f"IDX files in {folder}")


def load_npz(path: Path) -> Mnist:
    """Load a Keras-style mnist.npz without ever unpickling anything.

    Each array's header (dtype, shape) is checked before its data is read, and the
    zip's declared sizes before anything is decompressed, so neither a pickled
    object nor a zip bomb gets any further than its header.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            missing = [key for key in NPZ_KEYS if key not in members]
            if missing:
                raise DataError(f"{path}: missing array(s) {', '.join(missing)}")
            arrays = [read_npy(archive, members[key], path) for key in NPZ_KEYS]
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as error:
        # Broken zips and npy data; RuntimeError is zipfile's word for an encrypted member.
        raise DataError(f"{path}: not a readable npz file ({error})") from None
    for images, labels, split in ((*arrays[:2], "train"), (*arrays[2:], "test")):
        validate_split(images, labels, f"{path} ({split})")
    if file_digest(path, "sha256") != KERAS_NPZ_SHA256:
        warn(f"{path} differs from Keras' official mnist.npz (SHA-256 mismatch); using it anyway")
    return Mnist(*arrays, source=f"npz file {path}")


def read_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> np.ndarray:
    """One uint8 array of an npz, its header checked before its data is read."""
    key = info.filename.removesuffix(".npy")
    if info.file_size > MAX_IMAGES * INPUT_SIZE + 4096:  # zip's declared size: the most we read
        raise DataError(f"{path}: {key} declares {info.file_size:,} bytes, more than MNIST could need")
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_2_0 if version >= (2, 0) else np.lib.format.read_array_header_1_0
        )
        shape, _, dtype = read_header(f)
    if dtype.hasobject:
        raise DataError(f"{path}: {key} holds Python objects, which are never unpickled; refusing it")
    if dtype != np.uint8:
        raise DataError(f"{path}: {key} has dtype {dtype}, expected uint8")
    if len(shape) not in (1, 3) or (shape and shape[0] > MAX_IMAGES):
        raise DataError(f"{path}: {key} has shape {shape}, expected (n, 28, 28) or (n,)")
    if math.prod(shape) > info.file_size:  # uint8: one byte each, and the member holds fewer
        raise DataError(f"{path}: {key} declares shape {shape}, more than its {info.file_size:,} bytes hold")
    with archive.open(info) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def validate_split(images: np.ndarray, labels: np.ndarray, where: str) -> None:
    """Shapes, counts and label range of one split; raises DataError naming `where`."""
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(f"{where}: images have shape {images.shape}, expected (n, 28, 28)")
    if labels.ndim != 1:
        raise DataError(f"{where}: labels have shape {labels.shape}, expected (n,)")
    if len(images) != len(labels):
        raise DataError(f"{where}: {len(images):,} images but {len(labels):,} labels")
    if len(images) == 0:
        raise DataError(f"{where}: no images")
    if labels.max() >= NUM_CLASSES:
        raise DataError(f"{where}: label {labels.max()} is outside 0-9")


def download_with_keras() -> Mnist:
    """Keras' own MNIST download, cached in ~/.keras/datasets and hash-checked by Keras."""
    keras = import_keras()
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # noqa: BLE001 - offline, proxy, bad cache: all end alike
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataError(
            f"could not download MNIST ({reason[:160]}); offline? "
            f"point --data or {DATA_ENV} at a folder of the four IDX files or an mnist.npz"
        ) from None
    for images, labels, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        validate_split(images, labels, f"Keras' mnist.npz ({split})")
    return Mnist(x_train, y_train, x_test, y_test, source="Keras download (~/.keras/datasets/mnist.npz)")


def load_mnist(data: str | Path | None = None) -> Mnist:
    """MNIST from `data`, else $MNIST_DATA, else Keras' download.

    `data` may be a folder with the four IDX files (gzipped or raw) or an .npz file.
    """
    data = data or os.environ.get(DATA_ENV) or None
    if data is None:
        return download_with_keras()
    path = Path(data).expanduser()
    if path.is_dir():
        return load_idx_folder(path)
    if path.suffix == ".npz" or path.is_file():
        return load_npz(path)
    raise DataError(f"{path}: no such file or folder (expected a folder of IDX files or an .npz)")


# What each pixel byte becomes in the network's input: float32 in [0, 1]. The
# training loop uses this same table on the device, so both see identical inputs.
PIXEL_VALUES = np.arange(256, dtype=np.float32) / np.float32(255)


def preprocess(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 784) in [0, 1], the network's input."""
    return PIXEL_VALUES[images.reshape(len(images), INPUT_SIZE)]


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """The --data option both scripts take."""
    parser.add_argument(
        "--data",
        metavar="PATH",
        help=f"folder of the four MNIST IDX files (.gz or raw) or a Keras-style mnist.npz; "
        f"if not given: ${DATA_ENV}, else Keras' download",
    )
