"""The compile cache: a rerun loads the compiled training loop instead of compiling it,
gets exactly the same model, and a broken or unwritable cache never breaks a run."""

from __future__ import annotations

import shutil
import zipfile

import pytest
from conftest import script_env, train_one_epoch

from mnist_pipeline import compile_cache
from mnist_pipeline.files import file_digest


def train(data, output, cache, *extra: str):
    """model.py for one epoch with its cache in `cache`; returns (stderr, saved weights)."""
    result = train_one_epoch(data, output, *extra, env=script_env(MNIST_COMPILE_CACHE=str(cache)))
    with zipfile.ZipFile(output / "model.keras") as archive:
        return result.stderr, archive.read("model.weights.h5")


def entries(cache):
    """The kept compiled loops (each with its checksum beside it)."""
    found = sorted(entry for entry in cache.glob("xla-*/*.pb") if not entry.name.startswith("."))
    assert sorted(cache.glob("xla-*/*.sha256")) == [entry.with_suffix(".sha256") for entry in found]
    return found


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, raw_mnist):
    """The compile cache one run leaves, and the weights it trained: made once."""
    folder = tmp_path_factory.mktemp("first_run")
    _, weights = train(raw_mnist, folder / "out", folder / "cache")
    return folder / "cache", weights


def after_first_run(first_run, tmp_path):
    """A copy of the first run's cache in `tmp_path`, and the weights that run trained."""
    cache, weights = first_run
    shutil.copytree(cache, tmp_path / "cache")
    return tmp_path / "cache", weights


def test_a_rerun_loads_the_loop_and_trains_the_same_model(tmp_path, raw_mnist, first_run):
    cache, first = after_first_run(first_run, tmp_path)
    kept = entries(cache)
    assert len(kept) == 1  # 96 images, batch 32: one batch-matrix shape, one compiled loop
    stamps = [entry.stat().st_mtime_ns for entry in kept]

    _, second = train(raw_mnist, tmp_path / "b", cache)
    assert entries(cache) == kept  # nothing new compiled: the kept loop was loaded
    assert [entry.stat().st_mtime_ns for entry in kept] == stamps
    _, uncached = train(raw_mnist, tmp_path / "c", tmp_path / "unused", "--no-compile-cache")
    assert not (tmp_path / "unused").exists()
    assert first == second == uncached


@pytest.mark.parametrize("damage", ["truncated", "one byte changed", "checksum missing"])
def test_a_damaged_entry_is_never_loaded(tmp_path, raw_mnist, first_run, damage):
    """TensorFlow would fail on a truncated entry and run a changed one; the checksum stops both."""
    cache, expected = after_first_run(first_run, tmp_path)
    [entry] = entries(cache)
    damaged = bytearray(entry.read_bytes())
    if damage == "truncated":
        del damaged[len(damaged) // 2 :]
    elif damage == "one byte changed":
        damaged[len(damaged) // 2] ^= 0xFF
    else:  # as a run killed between writing the entry and its checksum leaves it
        entry.with_suffix(".sha256").unlink()
    entry.write_bytes(damaged)
    (entry.parent / f".{entry.stem}-x1y2z3.pb").write_bytes(damaged)  # a killed run's temporary file

    stderr, weights = train(raw_mnist, tmp_path / "b", cache)
    assert "damaged" in stderr and weights == expected
    assert entries(cache) == [entry]  # compiled afresh and kept again, with its checksum
    assert file_digest(entry, "sha256") == entry.with_suffix(".sha256").read_text().strip()
    stderr, _ = train(raw_mnist, tmp_path / "c", cache)
    assert "compile cache" not in stderr


def test_an_entry_tensorflow_refuses_costs_a_warning_and_a_compile(tmp_path, raw_mnist, first_run):
    """An intact file TensorFlow cannot use (here: cut short, with a checksum to match)."""
    cache, expected = after_first_run(first_run, tmp_path)
    [entry] = entries(cache)
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    entry.with_suffix(".sha256").write_text(file_digest(entry, "sha256"))

    stderr, weights = train(raw_mnist, tmp_path / "b", cache)
    assert "could not be used" in stderr and "compiling afresh" in stderr
    assert weights == expected
    assert entries(cache) == []  # the refused entry is gone
    stderr, weights = train(raw_mnist, tmp_path / "c", cache)  # and the next run is clean and kept again
    assert "compile cache" not in stderr and weights == expected
    assert len(entries(cache)) == 1


def test_an_unwritable_cache_folder_only_warns(tmp_path, raw_mnist):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    stderr, weights = train(raw_mnist, tmp_path / "a", blocker)
    assert "compile cache" in stderr and "not updated" in stderr
    _, expected = train(raw_mnist, tmp_path / "b", tmp_path / "cache", "--no-compile-cache")
    assert weights == expected


def test_no_scratch_folders_are_left_behind(tmp_path, raw_mnist):
    temp = tmp_path / "temp"
    temp.mkdir()
    env = script_env(MNIST_COMPILE_CACHE=str(tmp_path / "cache"), TMPDIR=str(temp))
    train_one_epoch(raw_mnist, tmp_path / "out", env=env)
    assert len(entries(tmp_path / "cache")) == 1  # the cache was in use, so a scratch folder was made
    assert list(temp.iterdir()) == []


def test_entries_are_kept_apart_by_xla_flags(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    default = compile_cache.machine_fingerprint()
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")
    assert compile_cache.machine_fingerprint() != default
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    assert compile_cache.machine_fingerprint() == default


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_COMPILE_CACHE", str(tmp_path / "here"))
    assert compile_cache.default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("MNIST_COMPILE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compile_cache.default_cache_dir() == tmp_path / "xdg" / "mnist-mlp"
