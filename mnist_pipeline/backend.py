"""TensorFlow and Keras, imported quietly and only when needed.

The first import takes a few seconds, so the scripts call `import_keras()` after
reading their arguments (`--help` answers at once). TensorFlow's C++ start-up notes
(oneDNN, missing CUDA, CPU features) go to the process's stderr before any logging
setting applies, so stderr is muted while it loads. Run with TF_CPP_MIN_LOG_LEVEL=0
to see all of TensorFlow's messages.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


def import_keras():
    """Import Keras (and TensorFlow) quietly, with this project's XLA flags; returns `keras`."""
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


def device_name() -> str:
    """'GPU' when TensorFlow sees one (and so trains there), else 'CPU'."""
    import tensorflow as tf

    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"


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


def one_blas_thread() -> None:
    """NumPy's matrix products on one thread, for the rest of the process. Reading pictures
    multiplies small matrices (a few dozen 28x28s at a time): one thread does that as fast
    as two, and two fight over the cores whenever anything else runs (another request,
    another worker)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
