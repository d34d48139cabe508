"""The saved model: written atomically, loaded safely, checked before use.

`model.keras` is a zip archive that Keras reads; it is checked as a zip (and for
zip bombs) before Keras opens it, and Keras' safe mode stays on, so a file that
carries Python code (a Lambda layer) is refused rather than run.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from mnist_pipeline.backend import import_keras
from mnist_pipeline.cli import PipelineError
from mnist_pipeline.data import INPUT_SIZE, NUM_CLASSES
from mnist_pipeline.files import atomic_path

MODEL_FILE = "model.keras"
MAX_MODEL_BYTES = 512 * 1024 * 1024  # a .keras archive that unpacks to more is refused (zip bombs)


def save_model(model, path: Path) -> None:
    with atomic_path(path) as temporary:
        model.save(temporary)


def load_classifier(path: Path):
    """Load a saved Keras model (safe mode on) and check it maps 784 pixels to 10 classes."""
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
    if not path.is_file():
        raise PipelineError(f"{path}: no model here; run `python model.py` first to train one")
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


class LayerOutputs:
    """The model called directly, a few images at a time, returning every layer's output.

    Keras' `model.predict` builds a data pipeline on each call (tens of milliseconds
    for one image). A plain stack of Dense layers, as the recipe's network is, is four
    matrix products: numpy does them, from the model's own weights, in a tenth of a
    millisecond (a TensorFlow call costs about one, and a number is read in two). Any
    other model is called through a traced TensorFlow function. Either way every
    layer's output comes back: the drawing page shows the hidden layers' activations.
    """

    def __init__(self, model) -> None:
        self.names = [layer.name for layer in model.layers]
        self.dense = dense_stack(model)
        if self.dense is not None:
            return
        import tensorflow as tf

        keras = import_keras()
        try:  # a Sequential or functional model: every layer's output
            every_layer = keras.Model(model.inputs, [layer.output for layer in model.layers])
        except (AttributeError, ValueError):  # any other model that maps 784 to 10: the output alone
            self.names, every_layer = [model.name], keras.Model(model.inputs, [model.outputs[0]])
        signature = [tf.TensorSpec([None, INPUT_SIZE], tf.float32)]
        self.call = tf.function(lambda pixels: every_layer(pixels, training=False), input_signature=signature)
        self.call(tf.zeros([1, INPUT_SIZE]))  # traced now, not on the first request

    def __call__(self, pixels: np.ndarray) -> list[np.ndarray]:
        """float32 (n, 784) in [0, 1] -> one (n, units) array per layer, the last the probabilities."""
        if self.dense is None:
            return [output.numpy() for output in self.call(pixels)]
        outputs = []
        for kernel, bias, activation in self.dense:
            pixels = ACTIVATIONS[activation](pixels @ kernel + bias)
            outputs.append(pixels)
        return outputs


def softmax(logits: np.ndarray) -> np.ndarray:
    exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exponentials / exponentials.sum(axis=1, keepdims=True)


ACTIVATIONS = {"relu": lambda x: np.maximum(x, 0), "softmax": softmax, "linear": lambda x: x}


def dense_stack(model) -> list[tuple[np.ndarray, np.ndarray, str]] | None:
    """(kernel, bias, activation) of each layer when the model is only Dense layers with
    the activations above (the recipe's network), else None."""
    keras = import_keras()
    layers = []
    for layer in model.layers:
        config = layer.get_config()
        if type(layer) is not keras.layers.Dense or config.get("activation") not in ACTIVATIONS:
            return None
        if not config.get("use_bias", True):
            return None
        kernel, bias = (np.asarray(weight, np.float32) for weight in layer.get_weights())
        layers.append((kernel, bias, config["activation"]))
    return layers or None
