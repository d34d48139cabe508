"""The plain-Keras recipe as a whole script, for the whole-process comparison in process_speed.py.

    python benchmarks/plain_recipe.py DATA [OUTPUT_DIR]

This is what most tutorials write, unchanged but for where the data comes from
(they call `keras.datasets.mnist.load_data()`, which needs the internet) and a
timer around `fit`, whose result is the last line printed ("fit seconds: ...").
train_speed.py builds its "plain" network from `plain_model` here too.
"""

import sys
import time
from pathlib import Path

import keras

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mnist_pipeline.data import load_mnist  # only to read an offline copy of MNIST


def plain_model() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(50, activation="relu"),
            keras.layers.Dense(25, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    data = load_mnist(sys.argv[1] if len(sys.argv) > 1 else None)
    x_train = data.x_train.reshape(-1, 784) / 255.0
    x_test = data.x_test.reshape(-1, 784) / 255.0
    model = plain_model()
    started = time.perf_counter()
    model.fit(x_train, data.y_train, epochs=5, batch_size=32, validation_data=(x_test, data.y_test))
    fit_seconds = time.perf_counter() - started
    model.save(Path(sys.argv[2] if len(sys.argv) > 2 else ".") / "plain_model.keras")
    print(f"fit seconds: {fit_seconds:.3f}")


if __name__ == "__main__":
    main()
