"""The training loop: seeding, compiling for logits, fitting on the data pipeline, evaluating.

The chapters train every model the same way::

    set_seed(0)
    model = compile_model(build_cnn())
    result = fit(model, (x_train, y_train), (x_test, y_test), epochs=profile.epochs(10))
    result.test_accuracy, result.train_seconds, result.params

:class:`TrainResult` is the small record the chapters tabulate and compare. What surrounds
the loop lives beside it, each in a module named for its job:

- :mod:`cvtutor.backups`: Keras' ``BackupAndRestore`` made atomic (``fit(..., backup_dir=...)``);
- :mod:`cvtutor.resume`: a run that ends in a ``.keras`` file and resumes after a kill
  (:func:`cvtutor.resume.train_to_file`, what ``cvtutor train`` calls);
- :mod:`cvtutor.prediction`: logits, with test-time flips and shifts;
- :mod:`cvtutor.machine`: the machine a number was measured on.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import os
import time

from cvtutor import checks
from cvtutor.backups import backup_and_restore
from cvtutor.checks import images_and_labels


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and the Keras backend, so that a run can be repeated.

    Args:
        seed: a non-negative integer.
        deterministic: also ask TensorFlow for deterministic kernels (slower;
            needed only for bit-identical training on one machine).

    Raises:
        TypeError: ``seed`` is not an integer.
        ValueError: ``seed`` is negative.
    """
    import keras

    seed = checks.scalar("seed", seed, numbers.Integral, minimum=0)
    keras.utils.set_random_seed(seed)
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def compile_model(model, learning_rate: float = 1e-3, optimizer=None, loss=None, **kwargs):
    """Compile ``model`` (whose outputs are logits) with the loss that expects logits.

    The source article paired a softmax output with ``from_logits=True``; the
    models here output logits, so ``from_logits=True`` is right. Every model the
    package trains is compiled here, a recipe's too (:meth:`cvtutor.recipes.Recipe.compile`
    chooses the optimizer and loss, then calls this).

    Args:
        model: a ``keras.Model`` returning (N, num_classes) logits.
        learning_rate: for the default Adam optimizer.
        optimizer: an optimizer instance to use instead of Adam.
        loss: a loss on logits to use instead of sparse categorical cross-entropy (e.g.
            :class:`cvtutor.losses.SmoothedSparseCrossentropy`).
        **kwargs: passed on to ``model.compile`` (e.g. ``jit_compile``).

    Returns:
        the same model, compiled, with the metric ``accuracy``.
    """
    import keras

    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(learning_rate),
        loss=loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True),
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
        train_seconds: wall time of ``model.fit`` (seconds), compilation included, and of the
            batch-norm re-estimate after it (see :func:`fit`).
        test_loss, test_accuracy: on the test images given to :func:`fit` (accuracy in 0..1),
            measured once, after training.
        train_size, test_size: examples trained on and tested on.
        history: per-epoch metrics from Keras (``loss``, ``accuracy``, ``val_loss``, ...).
        test_accuracy_flip: test accuracy with test-time augmentation, where measured: flips, and the
            shifts of a recipe's ``test_time_shift`` (:func:`cvtutor.prediction.flip_accuracy`).
        batchnorm_batches: training batches whose statistics replaced the batch-norm
            layers' running averages after training (0: none, or no batch norm).
        validation_size: examples held out of the training data for per-epoch validation (0: none).
        validation_loss, validation_accuracy: the final model on them (``None`` without validation);
            what a choice between runs (a learning rate, a size) should be made on.
        model: the trained model, where :func:`cvtutor.recipes.train_recipe` built it (not serialized).
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
    batchnorm_batches: int = 0
    validation_size: int = 0
    validation_loss: float | None = None
    validation_accuracy: float | None = None
    model: object = dataclasses.field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """The result as a JSON-serializable dict (every field but ``model``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}

    def to_json(self, path: str | os.PathLike) -> None:
        """Write :meth:`cvtutor.training.TrainResult.to_dict` as JSON to ``path``, atomically (:func:`cvtutor.files.atomic_write`).

        Raises:
            OSError: the file cannot be written (no partial file is left).
        """
        from cvtutor.files import atomic_write

        with atomic_write(path, "w") as f:
            json.dump(self.to_dict(), f, indent=2)


#: At most this many training batches re-estimate the batch-norm statistics after :func:`fit`
#: (about 100 batches suffice: Wu and Johnson, "Rethinking 'Batch' in BatchNorm", 2021).
BATCHNORM_BATCHES = 100


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
    validation_split: float | None = None,
    validation=None,
    backup_dir: str | os.PathLike | None = None,
    batchnorm_statistics: str = "recompute",
    pipeline: str = "tf.data",
) -> TrainResult:
    """Train a compiled model on uint8 images, validating on held-out training images, then test it once.

    Per-epoch monitoring (the ``val_`` entries of the history) uses a
    validation set carved from ``train``: a fixed, stratified
    :data:`cvtutor.data.VALIDATION_SPLIT` of each class
    (:func:`cvtutor.data.split_validation`), the same for every seed. The
    model trains on the rest. ``test`` is evaluated once, after training, and
    never shown to the model or to any choice made during training (the
    TensorFlow CNN tutorial validates on its test set; the book does not).
    Batch-norm statistics are re-estimated after training (see
    ``batchnorm_statistics``), so a short run is not judged with running
    averages that lag its weights.

    Args:
        model: a compiled ``keras.Model`` (see :func:`compile_model`).
        train, test: ``(images, labels)``; images uint8 (N, H, W, C), e.g.
            (N, 32, 32, 3) for CIFAR-10, labels (N,).
        epochs: passes over the training set (in total, counting ``initial_epoch``).
        batch_size: examples per step.
        augment: random flips and shifts of the training images.
        seed: shuffling and augmentation seed.
        verbose: Keras' verbosity (2 prints one line per epoch).
        callbacks: more Keras callbacks.
        initial_epoch: epochs already done (when resuming a run); training
            continues up to ``epochs`` in total.
        validation_split: fraction of each class of ``train`` held out for
            validation, from 0 to below 1; ``None``:
            :data:`cvtutor.data.VALIDATION_SPLIT` (0.1); 0: no validation
            (no ``val_`` history). Ignored when ``validation`` is given.
        validation: ``(images, labels)`` to validate on instead of a split of
            ``train`` (e.g. a folder's held-out images); ``train`` is then
            used whole.
        backup_dir: back up the training state into this folder after every
            epoch (:func:`cvtutor.backups.backup_and_restore`, Keras' ``BackupAndRestore``):
            if the run is interrupted, the same call with the same, rebuilt
            and recompiled model continues from the last completed epoch.
            The folder is removed when training completes. ``None``: no backups.
        batchnorm_statistics: what the model's ``BatchNormalization`` layers use
            at test time. ``"recompute"`` (the default): after training, their
            moving mean and variance are set to the mean of their batch statistics
            over up to :data:`BATCHNORM_BATCHES` training batches
            (:func:`cvtutor.batchnorm.recompute_batchnorm_statistics`), so that
            they match the final weights even after a short run; the per-epoch
            ``val_`` entries still use the running averages of the moment.
            ``"moving"``: Keras's running averages as training left them. Models
            without batch norm are not affected.
        pipeline: how the training images are fed: ``"tf.data"``
            (:func:`cvtutor.data.make_dataset`, shuffled and augmented there) or ``"arrays"``
            (float arrays in [0, 1] in memory, batched and shuffled by Keras, as the TensorFlow
            CNN tutorial does; no augmentation). A recipe's ``pipeline`` field.

    Returns:
        a :class:`TrainResult`: ``train_size`` counts the images trained on,
        ``validation_*`` the final model on the validation set, ``test_*`` on ``test``.

    Raises:
        TypeError: ``train``, ``test`` or ``validation`` is not a pair, ``epochs`` is not an
            integer, ``validation_split`` not a number, or ``batchnorm_statistics`` or
            ``pipeline`` not a string.
        ValueError: a bad ``epochs``, ``validation_split``, ``batchnorm_statistics`` or
            ``pipeline`` (or ``augment`` with ``"arrays"``), or images and labels that do not match.
    """
    from cvtutor.batchnorm import recompute_batchnorm_statistics
    from cvtutor.data import VALIDATION_SPLIT, make_dataset, split_validation

    x_train, y_train = images_and_labels("train", train)
    x_test, y_test = images_and_labels("test", test)
    epochs = checks.positive_int("epochs", epochs)
    checks.one_of("batchnorm_statistics", batchnorm_statistics, ("recompute", "moving"))
    checks.one_of("pipeline", pipeline, ("tf.data", "arrays"))
    if pipeline == "arrays" and augment:
        raise ValueError("augment needs pipeline='tf.data' (the 'arrays' pipeline feeds the images as they are)")
    if validation is not None:
        x_val, y_val = images_and_labels("validation", validation)
    else:
        split = VALIDATION_SPLIT if validation_split is None else validation_split
        (x_train, y_train), (x_val, y_val) = split_validation(x_train, y_train, split)
    if pipeline == "arrays":  # Keras batches and shuffles the arrays itself
        train_data = {"x": x_train.astype("float32") / 255.0, "y": y_train, "batch_size": int(batch_size), "shuffle": True}
    else:  # the dataset reshuffles itself every epoch; shuffle=False stops Keras warning about it
        train_data = {"x": make_dataset(x_train, y_train, batch_size, shuffle=True, augment=augment, seed=seed),
                      "shuffle": False}
    test_ds = make_dataset(x_test, y_test, 512)
    validation_ds = make_dataset(x_val, y_val, 512) if len(x_val) else None
    if backup_dir is not None:
        callbacks = [backup_and_restore(backup_dir), *(callbacks or [])]
    start = time.perf_counter()
    history = model.fit(
        **train_data,
        epochs=int(epochs),
        initial_epoch=int(initial_epoch),
        validation_data=validation_ds,
        verbose=verbose,
        callbacks=callbacks,
    )
    batchnorm_batches = 0
    if batchnorm_statistics == "recompute":
        batchnorm_batches = recompute_batchnorm_statistics(model, x_train, batch_size=int(batch_size),
                                                           max_batches=BATCHNORM_BATCHES)
    seconds = time.perf_counter() - start
    validation_loss = validation_accuracy = None
    if validation_ds is not None:
        validation_loss, validation_accuracy = (float(v) for v in model.evaluate(validation_ds, verbose=0)[:2])
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
        batchnorm_batches=batchnorm_batches,
        validation_size=len(x_val),
        validation_loss=validation_loss,
        validation_accuracy=validation_accuracy,
    )


def evaluate(model, test, batch_size: int = 512) -> tuple[float, float]:
    """``(loss, accuracy)`` of a compiled model on ``test = (uint8 images, labels)``.

    Raises:
        TypeError: ``test`` is not a pair, or ``batch_size`` not an integer.
        ValueError: images that are not uint8 (N, H, W, C), labels that are not (N,), or a
            ``batch_size`` below 1.
    """
    from cvtutor.data import make_dataset

    x, y = images_and_labels("test", test)
    loss, accuracy = model.evaluate(make_dataset(x, y, batch_size), verbose=0)[:2]
    return float(loss), float(accuracy)


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

    Raises:
        TypeError: ``steps`` is not an integer, or ``peak_learning_rate`` or ``warmup_fraction``
            not a number.
        ValueError: ``steps`` below 1, ``peak_learning_rate`` not positive, or
            ``warmup_fraction`` outside [0, 1).
    """
    import keras

    steps = checks.positive_int("steps", steps)
    warmup_fraction = checks.rate("warmup_fraction", warmup_fraction)
    peak_learning_rate = checks.scalar("peak_learning_rate", peak_learning_rate, minimum=0, include_minimum=False)
    warmup = int(steps * warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=max(int(steps) - warmup, 1), warmup_target=float(peak_learning_rate), warmup_steps=warmup)


def warmup_cosine_adam(steps: int, peak_learning_rate: float = 2e-3, warmup_fraction: float = 0.1):
    """Adam on a :func:`warmup_cosine_schedule`: what the book's attention and RNN recipes train with.

    The warm-up keeps the first, large steps from meeting random weights
    (attention models are unstable there); the cosine lets the run settle.

    Raises:
        TypeError, ValueError: as :func:`warmup_cosine_schedule`.
    """
    import keras

    return keras.optimizers.Adam(warmup_cosine_schedule(steps, peak_learning_rate, warmup_fraction))
