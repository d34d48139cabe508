"""Faults and hostile input: killed runs, full disks, Ctrl-C, unwritable folders, models
that carry code or bombs, odd paths, and thousands of user images. Nothing breaks and
nothing is lost."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from conftest import (
    ROOT,
    assert_one_line_error,
    make_photo,
    run_script,
    script_env,
    write_mnist_folder,
)
from PIL import Image

import model
from mnist_pipeline.backend import import_keras

OUTPUTS = ("model.keras", "history.json", "training_curves.png", "digit_check.npz")  # in writing order
TRAIN_ARGS = ("--epochs", "1", "--quiet")


@pytest.fixture(scope="module")
def previous_outputs(trained) -> dict[str, bytes]:
    """What a finished run saved (the suite's own run, seed 42): the outputs each fault
    below must leave as they were. Each test writes a copy into its own folder."""
    assert not [p for p in trained.iterdir() if p.name.startswith(".")]  # no temporary file left
    return {name: (trained / name).read_bytes() for name in OUTPUTS}


def with_outputs(folder, outputs: dict[str, bytes]) -> dict[str, bytes]:
    """`folder` holding `outputs`, as a finished run would have left it."""
    for name, content in outputs.items():
        (folder / name).write_bytes(content)
    return outputs


def assert_outputs_whole(output) -> None:
    """Every output under its final name is complete: the model loads, the JSON parses, the PNG decodes."""
    import_keras().saving.load_model(output / "model.keras")
    json.loads((output / "history.json").read_text())
    with Image.open(output / "training_curves.png") as image:
        image.verify()
    with np.load(output / "digit_check.npz", allow_pickle=False) as check:
        assert check["threshold"].shape == ()
    assert {p.name for p in output.iterdir() if not p.name.startswith(".")} == set(OUTPUTS)


# --- SIGKILL while saving ------------------------------------------------------------
# model.py run in a child process that kills itself (SIGKILL, no clean-up of any kind)
# at one moment of saving; the patch only decides when, the saving code is the real one.
KILLER = """
import os, signal, sys, zipfile
sys.path.insert(0, {root!r})
import model

point = {point!r}
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if point == "while writing model.keras":  # its metadata and config are in the zip, the weights not yet
    zipfile.ZipFile.writestr = zipfile.ZipFile.write = die
else:  # just before `name` is renamed into place, its temporary file complete
    name = point.split()[-1]
    real_replace = os.replace
    def replace(source, target):
        if str(target).endswith(name):
            die()
        return real_replace(source, target)
    os.replace = replace
model.main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    "point",
    [
        "while writing model.keras",
        "before renaming model.keras",
        "before renaming history.json",
        "before renaming training_curves.png",
        "before renaming digit_check.npz",
    ],
)
def test_killed_while_saving_leaves_the_previous_outputs_whole(tmp_path, raw_mnist, previous_outputs, point):
    before = with_outputs(tmp_path, previous_outputs)
    launcher = [sys.executable, "-c", KILLER.format(root=str(ROOT), point=point)]
    options = ["--data", str(raw_mnist), *TRAIN_ARGS, "--seed", "2", "--output-dir", str(tmp_path)]
    killed = subprocess.run(
        [*launcher, *options],
        capture_output=True,
        env=script_env(),
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL
    assert_outputs_whole(tmp_path)
    # The file being written is still the previous one; files renamed before the kill are the new ones.
    written_first = OUTPUTS.index(point.split()[-1])
    for name in OUTPUTS[written_first:]:
        assert (tmp_path / name).read_bytes() == before[name], name
    for name in OUTPUTS[:written_first]:
        assert (tmp_path / name).read_bytes() != before[name], name


# --- disk full ---------------------------------------------------------------------------
@pytest.mark.parametrize("failing_write", [1, 2, 3, 4], ids=OUTPUTS)
def test_disk_full_is_one_line_and_keeps_the_previous_outputs(
    tmp_path, raw_mnist, previous_outputs, monkeypatch, capsys, failing_write
):
    before = with_outputs(tmp_path, previous_outputs)
    real_fsync, calls = os.fsync, []

    def fsync_on_a_full_disk(fd):  # each output is synced once, just before its rename
        calls.append(fd)
        if len(calls) == failing_write:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_on_a_full_disk)
    args = ["--data", str(raw_mnist), *TRAIN_ARGS, "--seed", "3", "--output-dir", str(tmp_path)]
    assert model.main(args) == 2
    error = capsys.readouterr().err.strip()
    assert (
        error.count("\n") == 0 and "No space left on device" in error and OUTPUTS[failing_write - 1] in error
    )
    for name in OUTPUTS[failing_write - 1 :]:
        assert (tmp_path / name).read_bytes() == before[name]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary file left behind"


# --- folders that cannot be written -----------------------------------------------------
def unwritable_folder(tmp_path):
    """A folder this process cannot write to, also when it runs as root."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        (folder / "keep.txt").write_text("keep me")
        folder.chmod(0o555)
        return folder
    if os.path.isdir("/sys/kernel"):  # sysfs refuses new files even to root
        return "/sys/kernel"
    pytest.skip("no folder here that root cannot write to")


@pytest.mark.parametrize("script", ["model.py", "mnist_classification.py"])
def test_unwritable_output_folder(tmp_path, raw_mnist, script):
    folder = unwritable_folder(tmp_path)
    result = run_script(script, "--data", raw_mnist, "--output-dir", folder)
    assert_one_line_error(result)
    assert result.stderr.startswith(f"error: {folder}: output folder is not writable")


@pytest.mark.parametrize("script", ["model.py", "mnist_classification.py"])
def test_a_file_where_the_output_folder_should_be(tmp_path, raw_mnist, script):
    blocker = tmp_path / "outputs"
    blocker.write_text("my notes")
    for output in (blocker, blocker / "sub"):
        result = run_script(script, "--data", raw_mnist, "--output-dir", output)
        assert_one_line_error(result)
        assert "file" in result.stderr and str(output) in result.stderr
    assert blocker.read_text() == "my notes"


# --- Ctrl-C ---------------------------------------------------------------------------
def test_ctrl_c_during_training_stops_cleanly(tmp_path, raw_mnist, previous_outputs):
    before = with_outputs(tmp_path, previous_outputs)
    options = ["--data", str(raw_mnist), "--epochs", "100000", "--output-dir", str(tmp_path)]
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "model.py"), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=script_env(PYTHONUNBUFFERED="1"),
    )
    assert child.stdout.readline().startswith("Training")  # past the imports, about to train
    assert child.stdout.readline().startswith("Epoch 1/")
    time.sleep(1)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130
    assert stderr.strip().startswith("interrupted") and stderr.count("\n") == 1 and "Traceback" not in stderr
    assert {name: (tmp_path / name).read_bytes() for name in OUTPUTS} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# --- hostile model files ---------------------------------------------------------------------
def evaluate_model_file(path, data):
    return run_script("mnist_classification.py", "--model", path, "--data", data, "--output-dir", path.parent)


def test_model_with_a_lambda_layer_is_refused_by_safe_mode(tmp_path, raw_mnist):
    keras = import_keras()
    path = tmp_path / "model.keras"
    code = keras.layers.Lambda(lambda x: x * 2)  # arbitrary Python, which safe mode must not run
    keras.Sequential([keras.Input((784,)), code, keras.layers.Dense(10, activation="softmax")]).save(path)
    result = evaluate_model_file(path, raw_mnist)
    assert_one_line_error(result)
    assert "safe mode" in result.stderr and "Lambda" in result.stderr


def test_zip_bomb_model_is_refused_before_unpacking(tmp_path, raw_mnist):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", "{}")
        with archive.open("config.json", "w", force_zip64=True) as member:
            block = b" " * (1 << 24)
            for _ in range(33):  # 528 MiB of spaces, about half a megabyte on disk
                member.write(block)
    assert path.stat().st_size < 5_000_000
    result = evaluate_model_file(path, raw_mnist)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "unpacks to" in result.stderr and "refusing" in result.stderr


# --- paths with spaces and non-ASCII characters -------------------------------------------
def test_paths_with_spaces_and_non_ascii_characters_work_everywhere(tmp_path):
    home = tmp_path / "Données de Zoë ✓"
    data = write_mnist_folder(home / "mnist data", n_train=96, n_test=20, gz=True)
    output = home / "résultats 2026"
    assert (
        run_script("model.py", "--data", data, "--epochs", "1", "--quiet", "--output-dir", output).returncode
        == 0
    )
    result = run_script(
        "mnist_classification.py", "--data", data, "--model", output / "model.keras", "--output-dir", output
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((output / "metrics.json").read_text())["n_test"] == 20
    picture = home / "mon chiffre ✍.png"
    make_photo(
        np.zeros((28, 28), np.uint8) + np.eye(28, dtype=np.uint8) * 255, np.random.default_rng(0)
    ).save(picture)
    result = run_script(
        "mnist_classification.py", "--model", output / "model.keras", "--image", picture, "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["file"] == str(picture)


# --- load: thousands of user images ---------------------------------------------------------
def test_two_thousand_images_in_flat_memory_with_a_bad_one_among_them(tmp_path, trained):
    rng = np.random.default_rng(0)
    folders = {count: tmp_path / f"{count} images" for count in (200, 2000)}
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255  # a "1"
    for count, folder in folders.items():
        folder.mkdir()
        for i in range(count):
            shade = int(rng.integers(0, 60))
            Image.fromarray(
                np.where(np.kron(digit, np.ones((8, 8), np.uint8)) > 0, shade, 230).astype(np.uint8)
            ).save(folder / f"{i:04d}.png")
        (folder / "0100.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")  # one bad file in the middle
    peaks = {}
    for count, folder in folders.items():
        command = [
            sys.executable,
            str(ROOT / "mnist_classification.py"),
            "--model",
            str(trained / "model.keras"),
        ]
        with open(tmp_path / "out.txt", "w+") as stdout, open(tmp_path / "err.txt", "w+") as stderr:
            child = subprocess.Popen(
                [*command, "--image", str(folder)], stdout=stdout, stderr=stderr, env=script_env()
            )
            _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
            stdout.seek(0), stderr.seek(0)
            answers, errors = stdout.read(), stderr.read()
        assert os.waitstatus_to_exitcode(status) == 2
        assert answers.count(".png: ") == count - 1, errors[-500:]  # a digit, or "not a digit"
        assert "0100.png" in errors and f"1 of {count} image(s) could not be classified" in errors
        peaks[count] = usage.ru_maxrss / 1024
    assert peaks[2000] < peaks[200] + 50, peaks  # MiB: ten times the files, about the same memory
