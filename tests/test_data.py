"""The MNIST loader: formats it reads, everything it refuses, and the checksum warning."""

from __future__ import annotations

import gzip
import io
import shutil
import zipfile

import numpy as np
import pytest
from conftest import make_split, write_idx, write_mnist_folder

from mnist_pipeline.data import DATA_ENV, DataError, load_mnist, preprocess, read_idx

IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def write_npz(path, **overrides):
    (x_train, y_train), (x_test, y_test) = make_split(50, 1), make_split(20, 2)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test} | overrides
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


# --- what loads -------------------------------------------------------------
@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "raw"])
def test_idx_folder_loads_both_splits(tmp_path, gz):
    folder = write_mnist_folder(tmp_path, n_train=60, n_test=30, gz=gz)
    data = load_mnist(folder)
    assert data.x_train.shape == (60, 28, 28) and data.x_train.dtype == np.uint8
    assert data.y_train.shape == (60,) and data.x_test.shape == (30, 28, 28) and data.y_test.shape == (30,)
    np.testing.assert_array_equal(data.x_test, make_split(30, 2)[0])
    np.testing.assert_array_equal(data.y_train, make_split(60, 1)[1])
    assert str(folder) in data.source


def test_npz_loads(tmp_path):
    data = load_mnist(write_npz(tmp_path / "mnist.npz"))
    assert data.x_train.shape == (50, 28, 28) and data.y_test.shape == (20,)
    np.testing.assert_array_equal(data.y_train, make_split(50, 1)[1])


def test_environment_variable_is_used_when_no_path_given(tmp_path, monkeypatch):
    folder = write_mnist_folder(tmp_path, n_train=20, n_test=10)
    monkeypatch.setenv(DATA_ENV, str(folder))
    assert len(load_mnist().x_train) == 20


def test_explicit_path_beats_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "nowhere"))
    assert len(load_mnist(write_npz(tmp_path / "mnist.npz")).x_test) == 20


def test_preprocess_gives_float32_vectors_in_unit_range():
    images = np.array([[[0] * 28] * 28, [[255] * 28] * 28], dtype=np.uint8)
    x = preprocess(images)
    assert x.shape == (2, 784) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0 and x[1].min() == 1.0


# --- checksums ----------------------------------------------------------------
def test_checksum_mismatch_is_one_warning_per_file_not_an_error(tmp_path, capsys):
    load_mnist(write_mnist_folder(tmp_path, n_train=20, n_test=10, gz=True))
    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == 4  # our generated files are not the official ones
    assert all(line.startswith("warning: ") and "MD5" in line for line in warnings)


def test_raw_files_carry_no_official_checksum(tmp_path, capsys):
    load_mnist(write_mnist_folder(tmp_path, n_train=20, n_test=10, gz=False))
    assert capsys.readouterr().err == ""


def test_npz_checksum_mismatch_warns(tmp_path, capsys):
    load_mnist(write_npz(tmp_path / "mnist.npz"))
    assert "SHA-256 mismatch" in capsys.readouterr().err


# --- what is refused, with a message naming the file -------------------------
def refuse(path, match: str):
    with pytest.raises(DataError, match=match) as caught:
        load_mnist(path)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_missing_folder_or_file(tmp_path):
    refuse(tmp_path / "nowhere", "no such file or folder")
    folder = write_mnist_folder(tmp_path / "data", n_train=20, n_test=10)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    assert "t10k-labels-idx1-ubyte" in refuse(folder, "file not found")


def test_truncated_body(tmp_path):
    folder = write_mnist_folder(tmp_path, n_train=20, n_test=10, gz=False)
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    assert str(path) in refuse(folder, "truncated")


def test_truncated_header(tmp_path):
    folder = write_mnist_folder(tmp_path, n_train=20, n_test=10, gz=False)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"\0\0\x08")
    refuse(folder, "truncated IDX header")


def test_trailing_data(tmp_path):
    folder = write_mnist_folder(tmp_path, n_train=20, n_test=10, gz=False)
    path = folder / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"extra")
    refuse(folder, "unexpected data after")


def test_bad_gzip(tmp_path):
    folder = write_mnist_folder(tmp_path, n_train=20, n_test=10)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"this is not gzip at all")
    assert "train-labels-idx1-ubyte.gz" in refuse(folder, "cannot read")


def test_gzip_cut_short(tmp_path):
    folder = write_mnist_folder(tmp_path, n_train=20, n_test=10)
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    assert "train-images-idx3-ubyte.gz" in refuse(folder, "cannot read|truncated")


def test_wrong_magic(tmp_path):
    folder = write_mnist_folder(tmp_path, n_train=20, n_test=10, gz=False)
    labels_path, images_path = folder / "train-labels-idx1-ubyte", folder / "train-images-idx3-ubyte"
    shutil.copy(labels_path, images_path)  # a labels file where images belong
    assert str(images_path) in refuse(folder, "wrong IDX magic")


def test_images_not_28_by_28(tmp_path):
    folder = write_mnist_folder(tmp_path, n_train=20, n_test=10, gz=False)
    write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((10, 28, 27), np.uint8))
    refuse(folder, r"shape \(10, 28, 27\)")


def test_image_and_label_counts_disagree(tmp_path):
    folder = write_mnist_folder(tmp_path, n_train=20, n_test=10, gz=False)
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(19, np.uint8))
    refuse(folder, "20 images but 19 labels")


def test_label_outside_0_to_9(tmp_path):
    folder = write_mnist_folder(tmp_path, n_train=20, n_test=10, gz=False)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.full(10, 10, np.uint8))
    refuse(folder, "label 10 is outside 0-9")


def test_lying_header_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes((0x803).to_bytes(4, "big") + (10**9).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
    with pytest.raises(DataError, match="implausible"):
        read_idx(path, ndim=3)


def test_header_whose_sides_multiply_past_64_bits_is_refused(tmp_path):
    """Found by the fuzz test: 0x87000000 x 0xf3000000 wrapped around in int64 arithmetic
    to a negative size, which passed the check and then failed the read."""
    path = tmp_path / "wrap-idx3-ubyte"
    path.write_bytes(bytes.fromhex("00000803 00000002 87000000 f3000000".replace(" ", "")))
    with pytest.raises(DataError, match="implausible"):
        read_idx(path, ndim=3)


def test_gzip_bomb_is_not_decompressed_past_its_header(tmp_path):
    header = (0x803).to_bytes(4, "big") + (1000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    path = tmp_path / "bomb-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:  # 1,000 images declared, 200 MB of zeros delivered
        f.write(header)
        for _ in range(200):
            f.write(bytes(1 << 20))
    with pytest.raises(DataError, match="unexpected data after"):
        read_idx(path, ndim=3)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"x_train": np.zeros((50, 28, 28), np.float32)}, "x_train has dtype float32"),
        ({"x_test": np.zeros((20, 784), np.uint8)}, r"shape \(20, 784\)"),
        ({"y_test": np.zeros(19, np.uint8)}, "20 images but 19 labels"),
        ({"y_train": np.full(50, 12, np.uint8)}, "label 12"),
        ({"y_test": None}, "missing array"),
    ],
    ids=["dtype", "shape", "count", "label", "missing-key"],
)
def test_bad_npz(tmp_path, override, match):
    refuse(write_npz(tmp_path / "mnist.npz", **override), match)


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "mnist.npz"
    objects = np.empty(50, dtype=object)
    objects[:] = [{"label": 1}] * 50
    np.savez(path, x_train=objects, y_train=objects, x_test=objects, y_test=objects)
    refuse(path, "Python objects, which are never unpickled")


def test_npz_member_whose_header_claims_more_than_it_holds(tmp_path):
    """A .npy header claiming 10 GB in a member of a few bytes is refused before any allocation."""
    path = tmp_path / "mnist.npz"
    (x_train, y_train), (_, y_test) = make_split(50, 1), make_split(20, 2)
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in (("x_train", x_train), ("y_train", y_train), ("y_test", y_test)):
            member = io.BytesIO()
            np.save(member, array)
            archive.writestr(f"{name}.npy", member.getvalue())
        lying = io.BytesIO()
        header = {"descr": "|u1", "fortran_order": False, "shape": (1, 100_000, 100_000)}
        np.lib.format.write_array_header_1_0(lying, header)
        archive.writestr("x_test.npy", lying.getvalue() + bytes(100))
    refuse(path, "x_test")


def test_npz_that_is_not_a_zip(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"\x00" * 64)
    refuse(path, "npz")
