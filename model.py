"""Train the classic 784-100-50-25-10 MNIST classifier and save it.

    python model.py                      # MNIST via Keras' download (cached)
    python model.py --data ../shared/mnist   # offline: a folder of IDX files or an mnist.npz

This file has one section per concern, read top to bottom:
data (find, validate and preprocess MNIST), network (the Keras model),
training (a compiled loop that runs many optimizer steps per call), the
compile cache (that loop kept between runs), saving (every output written
atomically) and the command line.
`mnist_classification.py` imports the data loading and saving helpers from here.
TensorFlow is imported only inside functions, so `--help` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import itertools
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------------------
# Settings: the recipe and its defaults
# ---------------------------------------------------------------------------
IMAGE_SIDE = 28
INPUT_SIZE = IMAGE_SIDE * IMAGE_SIDE  # 784 pixels per flattened image
NUM_CLASSES = 10
HIDDEN_UNITS = (100, 50, 25)  # 784-100-50-25-10, 85,085 parameters in all

EPOCHS = 5
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
SEED = 42
OUTPUT_DIR = Path("artifacts")
MODEL_FILE = "model.keras"
DATA_ENV = "MNIST_DATA"  # environment variable naming an offline copy of MNIST
CACHE_ENV = "MNIST_COMPILE_CACHE"  # where compiled training loops are kept between runs

# Progress-bar updates per epoch. Each update ends one compiled call and waits for
# it: four show the epoch moving; ten took about 0.05 s longer per run on 2 cores.
PROGRESS_UPDATES_PER_EPOCH = 4

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
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


class PipelineError(Exception):
    """A problem with the user's input or setup, reported as one line (exit code 2)."""


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


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
            if shape[0] > MAX_IMAGES or int(np.prod(shape[1:], dtype=np.int64)) > INPUT_SIZE:
                raise DataError(f"{path}: implausible IDX shape {shape}")
            expected = int(np.prod(shape, dtype=np.int64))
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


# ---------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------
def import_keras():
    """Import Keras (and TensorFlow) quietly; the first import takes a few seconds.

    TensorFlow's C++ start-up notes (oneDNN, missing CUDA, CPU features) go to the
    process's stderr before any logging setting applies, so stderr is muted while
    it loads. Run with TF_CPP_MIN_LOG_LEVEL=0 to see all of TensorFlow's messages.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"]
    show_everything = os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["XLA_FLAGS"] = xla_flags()
    with contextlib.nullcontext() if show_everything else muted_stderr(), without_module("sklearn"):
        import keras
        import tensorflow as tf

        tf.get_logger().setLevel("INFO" if show_everything else "ERROR")
    return keras


def xla_flags() -> str:
    """XLA_FLAGS as the user set them, plus this project's default."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" in flags:
        return flags
    # One small network: XLA's single-threaded CPU matmuls beat threaded ones here.
    return f"{flags} --xla_cpu_multi_thread_eigen=false".strip()


@contextlib.contextmanager
def without_module(name: str) -> Iterator[None]:
    """Make `import name` fail for the duration, unless it is already imported.

    Keras imports scikit-learn (half a second) only for its optional scikit-learn
    wrappers, which this project never uses; training needs none of it.
    """
    if name in sys.modules:
        yield
        return
    sys.modules[name] = None  # type: ignore[assignment]  # Python's marker for "cannot import"
    try:
        yield
    finally:
        del sys.modules[name]


@contextlib.contextmanager
def muted_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (C++ code writes there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def build_model(learning_rate: float = LEARNING_RATE):
    """The 784-100-50-25-10 network, compiled with Adam and sparse cross-entropy."""
    keras = import_keras()
    model = keras.Sequential(
        [keras.Input(shape=(INPUT_SIZE,), name="pixels")]
        + [keras.layers.Dense(units, activation="relu") for units in HIDDEN_UNITS]
        + [keras.layers.Dense(NUM_CLASSES, activation="softmax")],
        name="mnist_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return model


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------
def make_train_steps(model, images, labels) -> Callable:
    """A compiled function that runs optimizer steps `start`..`stop` of one epoch.

    This is the same update `model.fit` makes (forward, loss, gradients, Adam),
    but `fit` returns to Python after every batch of 32, which costs far more
    than this small network's arithmetic. Here XLA compiles a loop over many
    batches, so one call does a whole slice of the epoch. `images` (uint8,
    n x 784) and `labels` are the whole training set, already on the device;
    `batches` lists each step's image indices. It returns the summed loss and
    the number of correct answers.
    """
    import tensorflow as tf

    loss_fn = model.loss
    optimizer = model.optimizer
    weights = model.trainable_variables
    optimizer.build(weights)  # Adam's moment variables now, so tracing below runs once
    pixel_values = tf.constant(PIXEL_VALUES)

    @tf.function(jit_compile=True, autograph=False)
    def train_steps(batches, start, stop):
        def one_step(step, loss_sum, correct):
            index = batches[step]
            # Bytes become floats batch by batch: 4x less memory than a float copy of the set.
            x_batch = tf.gather(pixel_values, tf.cast(tf.gather(images, index), tf.int32))
            y_batch = tf.gather(labels, index)
            with tf.GradientTape() as tape:
                probabilities = model(x_batch, training=True)
                loss = loss_fn(y_batch, probabilities)
            optimizer.apply(tape.gradient(loss, weights), weights)
            predicted = tf.argmax(probabilities, axis=1, output_type=tf.int32)
            hits = tf.reduce_sum(tf.cast(predicted == y_batch, tf.float32))
            batch = tf.cast(tf.size(index), tf.float32)
            return step + 1, loss_sum + loss * batch, correct + hits

        zero = tf.constant(0.0)
        _, loss_sum, correct = tf.while_loop(lambda step, *_: step < stop, one_step, (start, zero, zero))
        return loss_sum, correct

    return train_steps


def train(
    model,
    images: np.ndarray,
    labels: np.ndarray,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
    seed: int = SEED,
    verbose: bool = True,
    compile_cache: CompileCache | None = None,
) -> dict[str, list[float]]:
    """Train `model` in place on all `images` (uint8, as loaded), reshuffled every epoch.

    Returns the per-epoch training loss and accuracy (means over the epoch's
    batches, as `fit` reports them). The test set is not touched here.
    """
    import tensorflow as tf

    keras = import_keras()
    n = len(images)
    full_steps, leftover = divmod(n, batch_size)
    shapes = [(full_steps, batch_size)] + ([(1, leftover)] if leftover else [])
    train_steps = compiled_train_steps(
        model,
        tf.constant(images.reshape(n, INPUT_SIZE)),
        tf.constant(labels, dtype=tf.int32),
        shapes,
        compile_cache,
    )
    shuffle = np.random.default_rng(seed)
    updates = PROGRESS_UPDATES_PER_EPOCH if verbose else 1
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for epoch in range(epochs):
        order = shuffle.permutation(n).astype(np.int32)
        # Full batches in one matrix; a short last batch (as in `fit`) on its own.
        parts = [order[: full_steps * batch_size].reshape(full_steps, batch_size)]
        if leftover:
            parts.append(order[full_steps * batch_size :].reshape(1, leftover))
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
        progress = keras.utils.Progbar(
            full_steps + bool(leftover), verbose=int(verbose), stateful_metrics=["loss", "accuracy"]
        )
        loss_sum = correct = 0.0
        done = 0
        for part in parts:
            bounds = np.linspace(0, len(part), min(updates, len(part)) + 1).astype(np.int32)
            batches = tf.constant(part)
            for start, stop in itertools.pairwise(bounds):
                part_loss, part_correct = train_steps(batches, tf.constant(start), tf.constant(stop))
                loss_sum += float(part_loss)
                correct += float(part_correct)
                done += int(stop - start)
                seen = min(done * batch_size, n)
                progress.update(done, [("loss", loss_sum / seen), ("accuracy", correct / seen)])
        history["loss"].append(loss_sum / n)
        history["accuracy"].append(correct / n)
    return history


def compiled_train_steps(model, images, labels, shapes, compile_cache: CompileCache | None) -> Callable:
    """`make_train_steps`, compiled now for each batch-matrix shape (or loaded from the cache).

    A call that runs no steps compiles the loop without changing the model, so the
    progress bar times only training. If a cached entry cannot be used, the cache is
    cleared and the loop compiled afresh: a broken cache costs a warning, never the run.
    """
    import tensorflow as tf

    def compile_all() -> Callable:
        train_steps = make_train_steps(model, images, labels)
        for shape in shapes:
            no_step = tf.constant(0)
            train_steps(tf.zeros(shape, tf.int32), no_step, no_step)
        return train_steps

    try:
        train_steps = compile_all()
    except tf.errors.OpError as error:
        if compile_cache is None:
            raise
        compile_cache.clear(reason=error.message.splitlines()[0])
        train_steps = compile_all()  # a new function, so TensorFlow looks for a new cache entry
    if compile_cache is not None:
        compile_cache.keep_new_entries()
    return train_steps


# ---------------------------------------------------------------------------
# Compile cache: compiling the training loop takes about half a second on a
# 2-core CPU; a rerun with the same batch size loads the compiled loop instead.
# ---------------------------------------------------------------------------
MAX_CACHE_ENTRIES = 16  # about 0.5 MB each; the oldest go first


def default_cache_dir() -> Path:
    """$MNIST_COMPILE_CACHE, else the user's cache folder (~/.cache/mnist-mlp)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mnist-mlp"


def machine_fingerprint() -> str:
    """What compiled code depends on: TensorFlow's version, XLA's flags and the CPU."""
    from importlib.metadata import version

    cpu = f"{platform.machine()} {platform.processor()}"
    with contextlib.suppress(OSError):  # Linux: model name and instruction-set flags
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu += "".join(sorted({line for line in lines if line.startswith(("model name", "flags"))}))
    key = f"{version('tensorflow')}|{xla_flags()}|{cpu}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class CompileCache:
    """TensorFlow's persistent XLA cache, used so that a broken cache never breaks a run.

    TensorFlow (TF_XLA_FLAGS=--tf_xla_persistent_cache_directory) writes entries in
    place, fails the run if it cannot write one, fails every later run if one is
    truncated, and runs whatever machine code an entry holds. So TensorFlow works in
    a private scratch folder, seeded only with kept entries whose SHA-256 matches the
    one recorded beside them; entries it adds are kept atomically, checksum last.
    Entries are kept per `machine_fingerprint()`. Create this before TensorFlow is
    imported: it reads the flag once.
    """

    def __init__(self, root: Path, scratch: Path) -> None:
        self.folder = root / f"xla-{machine_fingerprint()}"
        self.scratch = scratch
        self.known: set[str] = set()
        self.cleared = False
        for entry in self.entries(self.folder):
            try:
                intact = entry.with_suffix(".sha256").read_text().strip() == file_digest(entry, "sha256")
                if intact:
                    shutil.copyfile(entry, self.scratch / entry.name)
                    self.known.add(entry.name)
            except OSError:  # unreadable, or killed before its checksum was written
                intact = False
            if not intact:
                warn(f"compile cache entry {entry} is damaged; compiling afresh")
        flags = os.environ.get("TF_XLA_FLAGS", "")
        os.environ["TF_XLA_FLAGS"] = f"{flags} --tf_xla_persistent_cache_directory={self.scratch}".strip()

    def keep_new_entries(self) -> None:
        """Copy entries TensorFlow has just written into the kept folder; drop the oldest."""
        if self.cleared:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for entry in self.entries(self.scratch):
                if entry.name in self.known:
                    continue
                kept = self.folder / entry.name
                with atomic_path(kept) as temporary:
                    shutil.copyfile(entry, temporary)
                    digest = file_digest(temporary, "sha256")
                with atomic_path(kept.with_suffix(".sha256")) as temporary:
                    temporary.write_text(digest + "\n")
                self.known.add(entry.name)
            oldest_first = sorted(self.entries(self.folder), key=lambda entry: entry.stat().st_mtime)
            for entry in oldest_first[:-MAX_CACHE_ENTRIES]:
                entry.with_suffix(".sha256").unlink(missing_ok=True)
                entry.unlink()
        except (OSError, PipelineError) as error:
            warn(f"compile cache {self.folder} not updated ({error}); the run is unaffected")

    @staticmethod
    def entries(folder: Path) -> list[Path]:
        """The entries in `folder`, without hidden temporary files a killed run may leave."""
        try:
            return sorted(entry for entry in folder.glob("*.pb") if not entry.name.startswith("."))
        except OSError:
            return []

    def clear(self, reason: str) -> None:
        """Empty the cache; this run keeps nothing (its retry's entry would never be looked up)."""
        warn(f"compile cache {self.folder} could not be used ({reason}); compiling afresh")
        for folder in (self.folder, self.scratch):
            for entry in [*folder.glob("*.pb"), *folder.glob("*.sha256")]:
                with contextlib.suppress(OSError):
                    entry.unlink()
        self.cleared = True

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def open_compile_cache(root: Path) -> CompileCache | None:
    """A CompileCache kept in `root`, or None where TensorFlow could not be given one."""
    if "tensorflow" in sys.modules:  # too late: TensorFlow has read its flags
        return None
    try:
        scratch = Path(tempfile.mkdtemp(prefix="mnist-xla-"))
    except OSError:
        return None
    if any(character.isspace() for character in str(scratch)):  # TF_XLA_FLAGS is split on spaces
        scratch.rmdir()
        return None
    return CompileCache(root, scratch)


# ---------------------------------------------------------------------------
# Saving: every file is written beside its final name, then renamed into place,
# so an interrupted run leaves the previous file intact and never a broken one.
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path in `final`'s folder; move it to `final` on success.

    A failed write (disk full, no permission) becomes one PipelineError line and
    leaves `final` as it was.
    """
    try:
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.stem}-", suffix=final.suffix)
    except OSError as error:
        raise PipelineError(f"{final.parent}: cannot write files there ({error.strerror or error})") from None
    os.close(fd)
    temporary = Path(name)
    try:
        temporary.chmod(0o666 & ~current_umask())  # mkstemp's private 0600 would stick otherwise
        yield temporary
        with temporary.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(temporary, final)
    except OSError as error:
        raise PipelineError(
            f"{final}: could not be written ({error.strerror or error}); left as it was"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def save_figure(figure, path: Path) -> None:
    """Save a matplotlib figure atomically as PNG, then free it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def save_model(model, path: Path) -> None:
    with atomic_path(path) as temporary:
        model.save(temporary)


def plot_training_curves(history: dict[str, list[float]], path: Path) -> None:
    """Training loss and accuracy per epoch, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["loss"]) + 1)
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(9, 3.5))
    loss_axis.plot(epochs, history["loss"], marker="o")
    loss_axis.set(title="Training loss", xlabel="Epoch", ylabel="Sparse categorical cross-entropy")
    accuracy_axis.plot(epochs, history["accuracy"], marker="o", color="tab:green")
    accuracy_axis.set(title="Training accuracy", xlabel="Epoch", ylabel="Accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.set_xticks(list(epochs))
        axis.grid(alpha=0.3)
    figure.suptitle("Means over each epoch's training batches (the test set is not used)", fontsize=9)
    save_figure(figure, path)


def prepare_output_dir(folder: Path) -> Path:
    """Create the output folder, or explain in one line why it cannot be used."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise PipelineError(f"{folder}: is a file, not a folder") from None
    except NotADirectoryError:
        raise PipelineError(f"{folder}: part of this path is a file, not a folder") from None
    except OSError as error:
        raise PipelineError(f"{folder}: cannot create the output folder ({error.strerror})") from None
    try:  # a real write, since permission bits do not tell the whole story (root, read-only disks)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PipelineError(f"{folder}: output folder is not writable ({error.strerror})") from None
    return folder


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show each option's default in --help, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """argparse with defaults in --help, and a usage mistake reported in one line (exit 2)."""

    def __init__(self, description: str) -> None:
        super().__init__(description=description, formatter_class=DefaultsHelpFormatter)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        metavar="PATH",
        help=f"folder of the four MNIST IDX files (.gz or raw) or a Keras-style mnist.npz; "
        f"if not given: ${DATA_ENV}, else Keras' download",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser("Train the 784-100-50-25-10 MNIST classifier and save it.")
    add_data_argument(parser)
    parser.add_argument("--epochs", type=positive_int, default=EPOCHS, help="passes over the training set")
    parser.add_argument(
        "--batch-size", type=positive_int, default=BATCH_SIZE, help="images per optimizer step"
    )
    parser.add_argument(
        "--learning-rate", type=positive_float, default=LEARNING_RATE, help="Adam's learning rate"
    )
    parser.add_argument("--seed", type=int, default=SEED, help="seed for weights and shuffling")
    parser.add_argument(
        "--output-dir", type=Path, default=OUTPUT_DIR, help="where to write the model and plots"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        help=f"compile the training loop afresh and keep nothing; by default it is kept in "
        f"${CACHE_ENV}, else ~/.cache/mnist-mlp, so a rerun skips compiling",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    output_dir = prepare_output_dir(args.output_dir)
    # Before anything imports TensorFlow (Keras' download does), which reads the cache's flag.
    compile_cache = None if args.no_compile_cache else open_compile_cache(default_cache_dir())
    try:
        train_and_save(args, output_dir, compile_cache)
    finally:
        if compile_cache is not None:
            compile_cache.close()


def train_and_save(args: argparse.Namespace, output_dir: Path, compile_cache: CompileCache | None) -> None:
    data = load_mnist(args.data)
    keras = import_keras()
    keras.utils.set_random_seed(args.seed)  # same seed, same initial weights
    model = build_model(args.learning_rate)
    print(
        f"Training {model.count_params():,}-parameter network on {len(data.x_train):,} images "
        f"({args.epochs} epochs, batch {args.batch_size}) from {data.source}"
    )
    started = time.perf_counter()
    history = train(
        model,
        data.x_train,
        data.y_train,
        args.epochs,
        args.batch_size,
        args.seed,
        verbose=not args.quiet,
        compile_cache=compile_cache,
    )
    seconds = time.perf_counter() - started

    model_path = output_dir / MODEL_FILE
    save_model(model, model_path)
    record = {
        "epochs": list(range(1, args.epochs + 1)),
        "loss": history["loss"],
        "accuracy": history["accuracy"],
        "metrics_computed_on": "training batches (mean over each epoch)",
        "settings": {
            "seed": args.seed,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "n_train": len(data.x_train),
            "data_source": data.source,
        },
        "training_seconds": round(seconds, 3),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {device_name()}",
    }
    write_json(output_dir / "history.json", record)
    plot_training_curves(history, output_dir / "training_curves.png")
    print(
        f"Trained in {seconds:.1f} s: final training accuracy {history['accuracy'][-1]:.4f}. "
        f"Saved {model_path}, history.json and training_curves.png in {output_dir}/"
    )


def device_name() -> str:
    """'GPU' when TensorFlow sees one (and so trains there), else 'CPU'."""
    import tensorflow as tf

    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"


def run_command(command: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Run a script's work; a user's mistake or Ctrl-C ends in one line, not a traceback."""
    try:
        command(args)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: files are only replaced once complete, so earlier outputs are intact",
            file=sys.stderr,
        )
        return 130
    return 0


def exit_now(code: int) -> None:
    """End the process without Python's interpreter teardown.

    With TensorFlow loaded, that teardown takes most of a second and does nothing a
    finished run needs: every output file is already closed, synced and in place.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv))


if __name__ == "__main__":
    exit_now(main())
