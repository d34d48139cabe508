"""Both scripts end to end, run as a user runs them: outputs, reproducibility, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import ROOT, assert_one_line_error, run_script, script_env, train_one_epoch, write_mnist_folder
from PIL import Image

from mnist_pipeline.backend import import_keras
from mnist_pipeline.data import load_mnist, preprocess

PNGS = ("training_curves.png", "confusion_matrix.png", "misclassified.png", "roc_curves.png")
PNGS += ("precision_recall_curves.png",)


# --- a user's first run ------------------------------------------------------
@pytest.mark.parametrize("script", ["model.py", "mnist_classification.py"])
def test_help_answers_without_importing_tensorflow(script):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / script), "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--data" in result.stdout and "--output-dir" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert "numpy" in imported  # the import log is being read
    assert not any(name.startswith(("tensorflow", "keras")) for name in imported)


def test_every_output_file_is_written(trained):
    names = {path.name for path in trained.iterdir()}
    assert {"model.keras", "history.json", "metrics.json", *PNGS} <= names
    assert not [name for name in names if name.startswith(".")], "temporary files left behind"


@pytest.mark.parametrize("name", PNGS)
def test_plots_are_valid_pngs_of_sensible_size(trained, name):
    with Image.open(trained / name) as image:
        assert image.format == "PNG"
        image.verify()
    with Image.open(trained / name) as image:
        width, height = image.size
        assert 400 <= width <= 2500 and 300 <= height <= 2500
        assert len(np.unique(np.asarray(image.convert("L")))) > 10  # something was drawn


def test_history_records_epochs_and_settings(trained):
    history = json.loads((trained / "history.json").read_text())
    assert history["epochs"] == [1] and len(history["loss"]) == len(history["accuracy"]) == 1
    assert history["settings"]["n_train"] == 600 and history["settings"]["batch_size"] == 32
    assert history["settings"]["seed"] == 42 and "IDX files" in history["settings"]["data_source"]
    assert history["training_seconds"] > 0


def test_metrics_are_consistent(trained, tiny_mnist):
    metrics = json.loads((trained / "metrics.json").read_text())
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == metrics["n_test"] == 200
    assert metrics["test_accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert matrix.sum(axis=1).tolist() == [20] * 10  # true-label rows match the data's labels
    for digit, stats in metrics["per_class"].items():
        assert stats["support"] == matrix[int(digit)].sum()
        assert stats["recall"] == pytest.approx(matrix[int(digit), int(digit)] / stats["support"])
        assert 0 <= stats["roc_auc"] <= 1 and 0 <= stats["average_precision"] <= 1
    assert metrics["test_loss"] > 0 and str(tiny_mnist) in metrics["data_source"]


def test_printed_report_matches_metrics_json(trained, tiny_mnist, tmp_path):
    result = run_script(
        "mnist_classification.py",
        "--data",
        tiny_mnist,
        "--model",
        trained / "model.keras",
        "--output-dir",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert f"Test accuracy: {metrics['test_accuracy']:.4f}" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines() if line[:5].strip().isdigit()]
    assert [row[0] for row in rows] == [str(digit) for digit in range(10)]
    for digit, precision, recall, f1, roc_auc, average_precision, support in rows:
        stats = metrics["per_class"][digit]
        assert [precision, recall, f1, roc_auc, average_precision] == [
            f"{stats[key]:.4f}" for key in ("precision", "recall", "f1", "roc_auc", "average_precision")
        ]
        assert int(support.replace(",", "")) == stats["support"]


def test_saved_model_reloads_and_reproduces_the_reported_accuracy(trained, tiny_mnist):
    """The contract: plain load_model (safe mode), then evaluate, gives metrics.json's numbers."""
    keras = import_keras()
    model = keras.saving.load_model(trained / "model.keras", safe_mode=True)
    data = load_mnist(tiny_mnist)
    loss, accuracy = model.evaluate(preprocess(data.x_test), data.y_test, verbose=0)
    metrics = json.loads((trained / "metrics.json").read_text())
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert loss == pytest.approx(metrics["test_loss"], rel=1e-4)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


# --- reproducibility ---------------------------------------------------------------
def train_once(data, output, seed):
    train_one_epoch(data, output, "--seed", seed)
    keras = import_keras()
    weights = keras.saving.load_model(output / "model.keras").get_weights()
    return json.loads((output / "history.json").read_text()), weights


def test_same_seed_gives_identical_results_and_another_seed_does_not(tmp_path, tiny_mnist):
    history_a, weights_a = train_once(tiny_mnist, tmp_path / "a", 7)
    history_b, weights_b = train_once(tiny_mnist, tmp_path / "b", 7)
    history_c, weights_c = train_once(tiny_mnist, tmp_path / "c", 8)
    assert history_a["loss"] == history_b["loss"] and history_a["accuracy"] == history_b["accuracy"]
    assert all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b, strict=True))
    assert history_a["loss"] != history_c["loss"]
    assert not np.array_equal(weights_a[0], weights_c[0])


# --- bad input: one clear line, exit code 2 ---------------------------------------------
def test_training_log_in_a_file_is_one_plain_line_per_epoch(tmp_path, tiny_mnist):
    """Output to a file or a CI log (a pipe here) gets no progress bar: no escape codes,
    no carriage-return redraws, one line per epoch."""
    result = run_script(
        "model.py", "--data", tiny_mnist, "--epochs", "2", "--output-dir", tmp_path, "--skip-digit-check"
    )
    assert result.returncode == 0, result.stderr
    assert not any(code in result.stdout for code in ("\x1b", "\r", "\b"))
    epochs = [line for line in result.stdout.splitlines() if line.startswith("Epoch")]
    assert [line.split(":")[0] for line in epochs] == ["Epoch 1/2", "Epoch 2/2"]
    history = json.loads((tmp_path / "history.json").read_text())
    assert epochs[-1].split(": ")[1].startswith(f"loss {history['loss'][-1]:.4f}, accuracy")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_training_in_a_terminal_keeps_the_live_progress_bar(tmp_path, tiny_mnist):
    import pty

    command = [sys.executable, str(ROOT / "model.py"), "--data", str(tiny_mnist), "--epochs", "1"]
    output = bytearray()

    def read(fd: int) -> bytes:
        data = os.read(fd, 4096)
        output.extend(data)
        return data

    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal on stdout, as in an interactive shell
        os.chdir(tmp_path)
        os.execve(sys.executable, [*command, "--output-dir", str(tmp_path)], script_env())
    while True:
        try:
            if not read(fd):
                break
        except OSError:  # the terminal closes when the child exits
            break
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output.decode(errors="replace")
    assert b"\r" in output and b"1/1" in output.replace(b"\x1b[1m", b"").replace(b"\x1b[0m", b"")


def test_training_without_data_offline(tmp_path):
    home = tmp_path / "home"  # an empty Keras cache, and no network to fill it
    result = run_script(
        "model.py", "--output-dir", tmp_path, env=script_env(HOME=str(home), KERAS_HOME=str(home))
    )
    assert_one_line_error(result, "--data", "MNIST_DATA")


def test_training_with_missing_data(tmp_path):
    assert_one_line_error(run_script("model.py", "--data", tmp_path / "nowhere"), "nowhere")


def test_training_with_corrupt_data(tmp_path):
    folder = write_mnist_folder(tmp_path / "data", n_train=20, n_test=10, gz=False)
    (folder / "train-images-idx3-ubyte").write_bytes(b"\0\0\x08\x03garbage")
    assert_one_line_error(run_script("model.py", "--data", folder), "train-images-idx3-ubyte")


def test_training_with_bad_option():
    assert_one_line_error(run_script("model.py", "--batch-size", "0"), "--batch-size")


def test_training_into_a_file_instead_of_a_folder(tmp_path, raw_mnist):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("keep me")
    assert_one_line_error(
        run_script("model.py", "--data", raw_mnist, "--output-dir", blocker), "not a folder"
    )
    assert blocker.read_text() == "keep me"


def test_evaluation_without_a_model(tmp_path, raw_mnist):
    result = run_script("mnist_classification.py", "--data", raw_mnist, "--model", tmp_path / "model.keras")
    assert_one_line_error(result, "python model.py")


@pytest.mark.parametrize("content", [b"", os.urandom(4096)], ids=["empty", "random-bytes"])
def test_evaluation_of_a_file_that_is_not_a_model(tmp_path, raw_mnist, content):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    result = run_script("mnist_classification.py", "--data", raw_mnist, "--model", path)
    assert_one_line_error(result, "not a Keras model")


def test_evaluation_of_a_zip_that_is_not_a_model(tmp_path, raw_mnist):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a model")
    result = run_script("mnist_classification.py", "--data", raw_mnist, "--model", path)
    assert_one_line_error(result, "not a Keras model file")


@pytest.mark.parametrize(("inputs", "outputs"), [(10, 10), (784, 3)], ids=["input-10", "output-3"])
def test_evaluation_of_a_model_with_the_wrong_shape(tmp_path, raw_mnist, inputs, outputs):
    keras = import_keras()
    path = tmp_path / "model.keras"
    keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(outputs, activation="softmax")]).save(path)
    result = run_script("mnist_classification.py", "--data", raw_mnist, "--model", path)
    assert_one_line_error(result, "784", "10")


def test_evaluation_with_missing_data(tmp_path, trained):
    result = run_script(
        "mnist_classification.py", "--model", trained / "model.keras", "--data", tmp_path / "none"
    )
    assert_one_line_error(result, "none")
