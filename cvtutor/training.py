"""Training and evaluation: seeding, compiling for logits, fitting on the data pipeline, timing.

The chapters train every model the same way::

    set_seed(0)
    model = compile_model(build_cnn())
    result = fit(model, (x_train, y_train), (x_test, y_test), epochs=profile.epochs(10))
    result.test_accuracy, result.train_seconds, result.params

:class:`TrainResult` is the small record the chapters tabulate and compare.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time

import numpy as np


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and the Keras backend, so that a run can be repeated.

    Args:
        seed: a non-negative integer.
        deterministic: also ask TensorFlow for deterministic kernels (slower;
            needed only for bit-identical training on one machine).
    """
    import keras

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    keras.utils.set_random_seed(int(seed))
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def compile_model(model, learning_rate: float = 1e-3, optimizer=None, **kwargs):
    """Compile ``model`` (whose outputs are logits) with the loss that expects logits.

    The source article paired a softmax output with ``from_logits=True``; the
    models here output logits, so ``from_logits=True`` is right.

    Args:
        model: a ``keras.Model`` returning (N, num_classes) logits.
        learning_rate: for the default Adam optimizer.
        optimizer: an optimizer instance to use instead of Adam.
        **kwargs: passed on to ``model.compile`` (e.g. ``jit_compile``).

    Returns:
        the same model, compiled.
    """
    import keras

    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        **kwargs,
    )
    return model


@dataclasses.dataclass
class TrainResult:
    """What one training run produced.

    Attributes:
        name: the model's name.
        params: trainable and non-trainable parameters.
        epochs: epochs trained.
        train_seconds: wall time of ``model.fit`` (seconds), compilation included.
        test_loss, test_accuracy: on the test images given to :func:`fit` (accuracy in 0..1).
        train_size, test_size: examples used.
        history: per-epoch metrics from Keras (``loss``, ``accuracy``, ``val_loss``, ...).
        test_accuracy_flip: test accuracy with test-time flipping, where measured.
        model: the trained model, where the recipe built it (not serialized).
    """

    name: str
    params: int
    epochs: int
    train_seconds: float
    test_loss: float
    test_accuracy: float
    train_size: int
    test_size: int
    history: dict = dataclasses.field(default_factory=dict)
    test_accuracy_flip: float | None = None
    model: object = dataclasses.field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}

    def to_json(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_dict` as JSON to ``path``, atomically (:func:`cvtutor.files.atomic_write`)."""
        from cvtutor.files import atomic_write

        with atomic_write(path, "w") as f:
            json.dump(self.to_dict(), f, indent=2)


def _check_split(name, split):
    try:
        x, y = split
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (images, labels), got {type(split).__name__}") from None
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 4 or x.dtype != np.uint8:
        raise ValueError(f"{name} images must be uint8 (N, H, W, C) as load_cifar10 returns, got {x.dtype} {x.shape}")
    if y.shape != (len(x),):
        raise ValueError(f"{name} labels must have shape ({len(x)},), got {y.shape}")
    return x, y


def fit(
    model,
    train,
    test,
    *,
    epochs: int,
    batch_size: int = 64,
    augment: bool = False,
    seed: int = 0,
    verbose: int = 2,
    callbacks=None,
    initial_epoch: int = 0,
    validation_size: int | None = None,
) -> TrainResult:
    """Train a compiled model on uint8 images and evaluate it on the test set.

    The test set doubles as the validation data shown per epoch, as in the
    TensorFlow CNN tutorial; no choice in the book is tuned on it.

    Args:
        model: a compiled ``keras.Model`` (see :func:`compile_model`).
        train, test: ``(images, labels)``; images uint8 (N, 32, 32, 3), labels (N,).
        epochs: passes over the training set.
        batch_size: examples per step.
        augment: random flips and shifts of the training images.
        seed: shuffling and augmentation seed.
        verbose: Keras' verbosity (2 prints one line per epoch).
        callbacks: more Keras callbacks.
        initial_epoch: epochs already done (when resuming a run); training
            continues up to ``epochs`` in total.
        validation_size: validate after each epoch on only the first this
            many test images (the ``val_`` entries of the history), to save
            time; the final test loss and accuracy always use every test image.
            ``None``: all of them.

    Returns:
        a :class:`TrainResult`.
    """
    from cvtutor.data import make_dataset

    x_train, y_train = _check_split("train", train)
    x_test, y_test = _check_split("test", test)
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if validation_size is not None and (
        isinstance(validation_size, bool)
        or not isinstance(validation_size, (int, np.integer))
        or not 1 <= validation_size <= len(x_test)
    ):
        raise ValueError(
            f"validation_size must be None or an integer from 1 to the {len(x_test)} test images, "
            f"got {validation_size!r}"
        )
    train_ds = make_dataset(x_train, y_train, batch_size, shuffle=True, augment=augment, seed=seed)
    test_ds = make_dataset(x_test, y_test, 512)
    validation_ds = test_ds
    if validation_size is not None:
        validation_ds = make_dataset(x_test[:validation_size], y_test[:validation_size], 512)
    start = time.perf_counter()
    # The dataset reshuffles itself every epoch; shuffle=False stops Keras warning about it.
    history = model.fit(
        train_ds,
        epochs=int(epochs),
        initial_epoch=int(initial_epoch),
        validation_data=validation_ds,
        verbose=verbose,
        callbacks=callbacks,
        shuffle=False,
    )
    seconds = time.perf_counter() - start
    test_loss, test_accuracy = (float(v) for v in model.evaluate(test_ds, verbose=0)[:2])
    return TrainResult(
        name=model.name,
        params=int(model.count_params()),
        epochs=int(epochs),
        train_seconds=seconds,
        test_loss=float(test_loss),
        test_accuracy=float(test_accuracy),
        train_size=len(x_train),
        test_size=len(x_test),
        history={k: [float(v) for v in vs] for k, vs in history.history.items()},
    )


def predict_logits(model, images, batch_size: int = 512, verbose: int = 0, flip: bool = False) -> np.ndarray:
    """Logits (N, num_classes) for uint8 images (N, H, W, C).

    Args:
        flip: test-time augmentation: average the logits of each image and of
            its mirror image (left-right), which costs a second forward pass.
    """
    from cvtutor.data import make_dataset

    images = np.asarray(images)
    logits = np.asarray(model.predict(make_dataset(images, batch_size=batch_size), verbose=verbose))
    if flip:
        mirrored = np.ascontiguousarray(images[:, :, ::-1])
        logits = (logits + np.asarray(model.predict(make_dataset(mirrored, batch_size=batch_size), verbose=verbose))) / 2
    return logits


def evaluate(model, test, batch_size: int = 512) -> tuple[float, float]:
    """``(loss, accuracy)`` of a compiled model on ``test = (uint8 images, labels)``."""
    from cvtutor.data import make_dataset

    x, y = _check_split("test", test)
    loss, accuracy = model.evaluate(make_dataset(x, y, batch_size), verbose=0)[:2]
    return float(loss), float(accuracy)


def flip_accuracy(model, test, batch_size: int = 512) -> float:
    """Test accuracy (0..1) with test-time flipping (see :func:`predict_logits`)."""
    x, y = _check_split("test", test)
    return float(np.mean(predict_logits(model, x, batch_size, flip=True).argmax(axis=-1) == y))


def warmup_cosine_schedule(steps: int, peak_learning_rate: float, warmup_fraction: float = 0.1):
    """A learning rate that rises linearly from 0 to ``peak_learning_rate``, then falls to 0 along a cosine.

    Keras' ``CosineDecay`` with a warm-up: the first ``warmup_fraction`` of
    ``steps`` climb, the rest follow half a cosine (a one-cycle schedule).

    Args:
        steps: optimizer steps of the whole run (epochs x batches per epoch).
        peak_learning_rate: the schedule's top, reached at the end of the warm-up.
        warmup_fraction: share of ``steps`` spent warming up, in [0, 1).

    Returns:
        a ``keras.optimizers.schedules.LearningRateSchedule``.
    """
    import keras

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not 0.0 <= warmup_fraction < 1.0:
        raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction!r}")
    if not peak_learning_rate > 0:
        raise ValueError(f"peak_learning_rate must be positive, got {peak_learning_rate!r}")
    warmup = int(steps * warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=max(int(steps) - warmup, 1), warmup_target=float(peak_learning_rate), warmup_steps=warmup)


def warmup_cosine_adam(steps: int, peak_learning_rate: float = 2e-3, warmup_fraction: float = 0.1):
    """Adam on a :func:`warmup_cosine_schedule`: what the book's attention and RNN recipes train with.

    The warm-up keeps the first, large steps from meeting random weights
    (attention models are unstable there); the cosine lets the run settle.
    """
    import keras

    return keras.optimizers.Adam(warmup_cosine_schedule(steps, peak_learning_rate, warmup_fraction))


def compile_fast_cnn(model, steps: int, peak_learning_rate: float = 0.2, warmup_fraction: float = 0.25,
                     label_smoothing: float = 0.2, weight_decay: float = 5e-4):
    """Compile ``model`` with the fast CNN recipe's optimizer and loss.

    SGD with Nesterov momentum 0.9 and weight decay; the learning rate rises
    linearly from 0 to ``peak_learning_rate`` over the first
    ``warmup_fraction`` of ``steps`` and falls back to 0 along a cosine
    (:func:`warmup_cosine_schedule`); labels smoothed
    by ``label_smoothing`` (:class:`cvtutor.losses.SmoothedSparseCrossentropy`).

    Args:
        model: a ``keras.Model`` returning logits.
        steps: optimizer steps of the whole run (epochs x batches per epoch).
        peak_learning_rate: the schedule's top.
        warmup_fraction: share of ``steps`` spent warming up, in [0, 1).
        label_smoothing: in [0, 1).
        weight_decay: decoupled decay per step, times the learning rate.

    Returns:
        the same model, compiled.
    """
    import keras

    from cvtutor.losses import SmoothedSparseCrossentropy

    schedule = warmup_cosine_schedule(steps, peak_learning_rate, warmup_fraction)
    model.compile(
        optimizer=keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=weight_decay),
        loss=SmoothedSparseCrossentropy(label_smoothing),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def fit_fast_cnn(train, test, *, num_classes: int = 10, epochs: int = 7, width: int = 8, blocks=(1, 0, 1),
                 batch_size: int = 128, peak_learning_rate: float = 0.1, label_smoothing: float = 0.2, seed: int = 0,
                 verbose: int = 2, callbacks=None) -> TrainResult:
    """The book's fast CNN recipe: build, compile and train it, test with flips.

    The defaults are the ``fast-cnn`` benchmark's (sized to train in about 10
    minutes on a 2-core CPU; see the results appendix).

    :func:`cvtutor.models.build_resnet` (batch norm, residual blocks), random
    flips and shifts of the training images, label smoothing, a one-cycle
    learning-rate schedule (:func:`compile_fast_cnn`) and test-time flipping.

    Args:
        train, test: ``(uint8 images (N, H, W, C), labels (N,))``.
        num_classes: labels are 0 .. num_classes - 1.
        epochs, batch_size: length of the run.
        width, blocks: the model's size (see ``build_resnet``).
        peak_learning_rate, label_smoothing: see :func:`compile_fast_cnn`.
        seed: weights, shuffling and augmentation.
        verbose, callbacks: passed to Keras' ``fit``.

    Returns:
        a :class:`TrainResult`; ``test_accuracy`` is the plain one,
        ``test_accuracy_flip`` the one with test-time flipping.
    """
    from cvtutor.models import build_resnet

    x_train, y_train = _check_split("train", train)
    x_test, y_test = _check_split("test", test)
    for name, y in (("train", y_train), ("test", y_test)):
        if len(y) and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{name} labels must be in 0..{num_classes - 1}, got {y.min()}..{y.max()}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    set_seed(seed)
    model = build_resnet(input_shape=x_train.shape[1:], num_classes=num_classes, width=width, blocks=blocks)
    steps = int(epochs) * -(-len(x_train) // int(batch_size))
    compile_fast_cnn(model, steps, peak_learning_rate=peak_learning_rate, label_smoothing=label_smoothing)
    result = fit(model, train, test, epochs=epochs, batch_size=batch_size, augment=True, seed=seed,
                 verbose=verbose, callbacks=callbacks)
    result.test_accuracy_flip = flip_accuracy(model, test)
    result.model = model
    return result


def hardware() -> str:
    """A one-line description of this machine, for stating where numbers were measured."""
    import keras

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"Keras {keras.__version__} on {keras.backend.backend()}"
    )
