"""Training: the same updates as `model.fit`, in a compiled loop of many steps per call.

`fit` returns to Python after every batch of 32, which costs far more than this
small network's arithmetic. Here XLA compiles a loop over a slice of an epoch, so a
handful of calls train a whole epoch. The recipe's values (epochs, batch size, seed)
come from the caller; nothing here has defaults of its own for them.
"""

from __future__ import annotations

import itertools
import os
import platform
import sys
import time
from collections.abc import Callable

import numpy as np

from mnist_pipeline.backend import device_name, import_keras
from mnist_pipeline.compile_cache import CompileCache
from mnist_pipeline.data import INPUT_SIZE, PIXEL_VALUES

# Progress-bar updates per epoch. Each update ends one compiled call and waits for
# it: four show the epoch moving; ten took about 0.05 s longer per run on 2 cores.
PROGRESS_UPDATES_PER_EPOCH = 4


def make_train_steps(model, images, labels) -> Callable:
    """A compiled function that runs optimizer steps `start`..`stop` of one epoch.

    Each step is the update `model.fit` makes (forward, loss, gradients, Adam).
    `images` (uint8, n x 784) and `labels` are the whole training set, already on
    the device; `batches` lists each step's image indices. It returns the summed
    loss and the number of correct answers.
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
    epochs: int,
    batch_size: int,
    seed: int,
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
    # A terminal gets Keras' live progress bar; a file or a CI log (whose escape codes
    # and carriage returns would be noise there) gets one plain line per epoch.
    live = verbose and sys.stdout.isatty()
    updates = PROGRESS_UPDATES_PER_EPOCH if live else 1
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for epoch in range(epochs):
        order = shuffle.permutation(n).astype(np.int32)
        # Full batches in one matrix; a short last batch (as in `fit`) on its own.
        parts = [order[: full_steps * batch_size].reshape(full_steps, batch_size)]
        if leftover:
            parts.append(order[full_steps * batch_size :].reshape(1, leftover))
        if live:
            print(f"Epoch {epoch + 1}/{epochs}")
        progress = keras.utils.Progbar(
            full_steps + bool(leftover), verbose=int(live), stateful_metrics=["loss", "accuracy"]
        )
        started = time.perf_counter()
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
        if verbose and not live:
            seconds = time.perf_counter() - started
            loss, accuracy = history["loss"][-1], history["accuracy"][-1]
            print(f"Epoch {epoch + 1}/{epochs}: loss {loss:.4f}, accuracy {accuracy:.4f}, {seconds:.1f} s")
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


def training_record(history: dict[str, list[float]], settings: dict, seconds: float) -> dict:
    """What history.json holds: per-epoch means, the run's settings, time and machine."""
    return {
        "epochs": list(range(1, len(history["loss"]) + 1)),
        "loss": history["loss"],
        "accuracy": history["accuracy"],
        "metrics_computed_on": "training batches (mean over each epoch)",
        "settings": settings,
        "training_seconds": round(seconds, 3),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {device_name()}",
    }
