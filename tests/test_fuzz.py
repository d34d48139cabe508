"""Property-based tests: whatever bytes the readers get, they return valid arrays or raise
the project's own DataError; never another exception, never a hang, never a huge allocation."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_pipeline.data import DataError, load_mnist, read_idx

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def idx_header(magic_type: int, ndim: int, dims: list[int]) -> bytes:
    return bytes([0, 0, magic_type, ndim]) + b"".join(d.to_bytes(4, "big") for d in dims)


# Bytes that look like IDX often enough to get past the first checks.
idx_like = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda t, n, dims, body: idx_header(t, n, dims) + body,
        st.sampled_from([0x08, 0x09, 0x0D]),
        st.integers(0, 4),
        st.lists(st.one_of(st.integers(0, 40), st.integers(0, 2**32 - 1)), min_size=0, max_size=4),
        st.binary(max_size=3000),
    ),
)


def check_idx(path, ndim: int) -> None:
    try:
        array = read_idx(path, ndim=ndim)
    except DataError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)
        return
    assert array.dtype == np.uint8 and array.ndim == ndim


@FUZZ
@given(content=idx_like, ndim=st.sampled_from([1, 3]), gz=st.booleans())
def test_idx_reader_takes_any_bytes(tmp_path_factory, content, ndim, gz):
    path = tmp_path_factory.mktemp("idx") / ("file.gz" if gz else "file")
    path.write_bytes(gzip.compress(content) if gz and content[:1] != b"!" else content)
    tracemalloc.start()
    try:
        check_idx(path, ndim)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000  # a lying header must not make it allocate what it claims


def npz_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


arrays = st.one_of(
    st.builds(lambda n: np.zeros((n, 28, 28), np.uint8), st.integers(0, 3)),
    st.builds(lambda n, v: np.full(n, v, np.uint8), st.integers(0, 3), st.integers(0, 255)),
    st.builds(lambda n: np.zeros((n, 28, 28), np.float32), st.integers(0, 3)),
    st.builds(lambda n: np.array([{"x": 1}] * n, dtype=object), st.integers(1, 3)),
    st.builds(lambda n: np.zeros((n, 784), np.uint8), st.integers(0, 3)),
)
member = st.one_of(arrays.map(npy_bytes), st.binary(max_size=300), arrays.map(lambda a: npy_bytes(a)[:40]))
npz_like = st.one_of(
    st.binary(max_size=400),
    st.dictionaries(
        st.sampled_from(["x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy", "z"]), member
    ).map(npz_bytes),
    st.builds(lambda b, cut: npz_bytes({"x_train.npy": b})[:cut], member, st.integers(0, 500)),
)


@FUZZ
@given(content=npz_like)
def test_npz_reader_takes_any_bytes(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("npz") / "mnist.npz"
    path.write_bytes(content)
    try:
        data = load_mnist(path)
    except DataError as error:
        assert str(path) in str(error) and "\n" not in str(error)
        return
    for images, labels in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        assert images.dtype == labels.dtype == np.uint8
        assert images.shape[1:] == (28, 28) and labels.shape == (len(images),)
