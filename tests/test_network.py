"""The network: the recipe's layers, parameter count, optimizer and loss; and one training step."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_pipeline.backend import import_keras
from mnist_pipeline.training import train
from model import build_model

keras = import_keras()


@pytest.fixture(scope="module")
def model():
    return build_model()


def test_layer_widths_and_activations(model):
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [100, 50, 25, 10]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "relu", "softmax"]
    assert tuple(model.input_shape) == (None, 784)
    assert tuple(model.output_shape) == (None, 10)


def test_parameter_count(model):
    # (784*100 + 100) + (100*50 + 50) + (50*25 + 25) + (25*10 + 10)
    assert model.count_params() == 85_085


def test_optimizer_loss_and_metric(model):
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert "accuracy" in [str(m) for m in model._compile_config.config["metrics"]]


def test_train_updates_weights_and_reports_each_epoch():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (100, 28, 28), dtype=np.uint8)  # 3 full batches of 32 and one of 4
    y = rng.integers(0, 10, 100)
    model = build_model()
    before = [w.numpy().copy() for w in model.trainable_variables]
    history = train(model, images, y, epochs=2, batch_size=32, seed=0, verbose=False)
    assert len(history["loss"]) == len(history["accuracy"]) == 2
    assert all(np.isfinite(history["loss"])) and all(0 <= a <= 1 for a in history["accuracy"])
    assert all(
        not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_variables, strict=True)
    )
    # 4 optimizer steps per epoch, the short last batch included, as `fit` would take
    assert int(model.optimizer.iterations.numpy()) == 8


def test_training_lowers_the_loss_on_learnable_data():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 640)
    bands = np.arange(784) // 78 == y[:, None]  # the label lights one band of pixels
    images = (255 * bands).astype(np.uint8).reshape(-1, 28, 28)
    model = build_model()
    history = train(model, images, y, epochs=5, batch_size=32, seed=0, verbose=False)
    assert history["loss"][-1] < history["loss"][0] / 2
    assert history["accuracy"][-1] > 0.9


def test_layer_outputs_match_keras_on_the_recipe_and_on_other_models(model):
    """The recipe's Dense stack is computed in numpy; any other model through Keras. Both
    give every layer's output as Keras does."""
    from mnist_pipeline.saved_model import LayerOutputs

    pixels = np.random.default_rng(0).random((7, 784), dtype=np.float32)
    other = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(10, "softmax"),
        ]
    )
    for network, numpy_path in ((model, True), (other, False)):
        layers = LayerOutputs(network)
        assert (layers.dense is not None) == numpy_path
        expected = keras.Model(network.inputs[0], [layer.output for layer in network.layers])(pixels)
        got = layers(pixels)
        assert len(got) == len(expected) == len(layers.names)
        for mine, theirs in zip(got, expected, strict=True):
            assert mine.dtype == np.float32
            np.testing.assert_allclose(mine, np.asarray(theirs), atol=1e-5)
        assert np.allclose(got[-1].sum(axis=1), 1, atol=1e-5)
