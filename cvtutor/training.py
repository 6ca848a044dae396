"""Training and evaluation: seeding, compiling for logits, fitting on the data pipeline, timing.

The chapters train every model the same way::

    set_seed(0)
    model = compile_model(build_cnn())
    result = fit(model, (x_train, y_train), (x_test, y_test), epochs=profile.epochs(10))
    result.test_accuracy, result.train_seconds, result.params

:class:`TrainResult` is the small record the chapters tabulate and compare.

Checkpoints and resuming live here too, so that a notebook, a script and the
command line resume the same way. ``fit(..., backup_dir="runs/cnn")`` backs
the run up after every epoch (Keras' ``BackupAndRestore``, made atomic by
:func:`backup_and_restore`); run the same cell again after a crash and it
continues. :func:`train_to_file` is the whole life of a run that ends in a
``.keras`` file (what ``cvtutor train`` calls)::

    run = train_to_file("pets.keras", build, train, test, epochs=10,
                        settings={"model": "cnn", "seed": 0}, resume=True)

a checkpoint after every epoch, resuming after a kill in any stage (e.g. a new
head, then fine-tuning), resuming a *finished* run to more epochs from the
finished model, and the file written atomically only when the run is done.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import os
import platform
import time
from pathlib import Path

import numpy as np

from cvtutor import checks
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
        train_seconds: wall time of ``model.fit`` (seconds), compilation included, and of the
            batch-norm re-estimate after it (see :func:`fit`).
        test_loss, test_accuracy: on the test images given to :func:`fit` (accuracy in 0..1),
            measured once, after training.
        train_size, test_size: examples trained on and tested on.
        history: per-epoch metrics from Keras (``loss``, ``accuracy``, ``val_loss``, ...).
        test_accuracy_flip: test accuracy with test-time flipping, where measured.
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
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}

    def to_json(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_dict` as JSON to ``path``, atomically (:func:`cvtutor.files.atomic_write`).

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
            epoch (:func:`backup_and_restore`, Keras' ``BackupAndRestore``):
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


def predict_logits(model, images, batch_size: int = 512, verbose: int = 0, flip: bool = False,
                   translate: int = 0) -> np.ndarray:
    """Logits (N, num_classes) for uint8 images (N, H, W, C), optionally averaged over test-time augmentations.

    Args:
        flip: average the logits of each image and of its mirror image (left-right),
            which costs a second forward pass.
        translate: also average over the image shifted by this many pixels (0: not), up-left
            and down-right, its border filled by reflection, as airbench's test-time
            augmentation does (Jordan 2024, arXiv:2404.00498): half the weight on the image
            (with its mirror if ``flip``), a quarter on each shift (with its mirror if ``flip``).
            Costs two (``flip``: four) more forward passes.

    Raises:
        TypeError: ``translate`` is not an integer.
        ValueError: ``translate`` is negative or not smaller than the images' height and width.
    """
    from cvtutor.data import make_dataset

    images = np.asarray(images)
    if not checks.is_int(translate):
        raise TypeError(f"translate must be a whole number of pixels, got {checks.describe(translate)}")
    if translate < 0 or (translate and translate >= min(images.shape[1:3])):
        raise ValueError(f"translate must be a whole number of pixels from 0 to below the images' size "
                         f"{images.shape[1:3]}, got {translate!r}")

    views = [images]  # the image, then its shifts; each followed by its mirror image if flip
    if translate:
        views += [shift_images(images, d, d) for d in (-translate, translate)]
    if flip:
        views = [v for view in views for v in (view, np.ascontiguousarray(view[:, :, ::-1]))]
    # One pass of Keras's predict loop over every view, not one per view.
    stacked = views[0] if len(views) == 1 else np.concatenate(views)
    logits = np.asarray(model.predict(make_dataset(stacked, batch_size=batch_size), verbose=verbose))
    per_view = logits.reshape(len(views), len(images), -1)
    if flip:
        per_view = (per_view[0::2] + per_view[1::2]) / 2
    if translate:
        return per_view[0] / 2 + (per_view[1] + per_view[2]) / 4
    return per_view[0]


def shift_images(images, dy: int, dx: int) -> np.ndarray:
    """``images`` (N, H, W, C) with their content moved ``dy`` pixels down and ``dx`` right, the
    uncovered border filled by reflecting the image (``numpy.pad(mode="reflect")``); same shape and dtype."""
    images = np.asarray(images)
    pad_y, pad_x = abs(int(dy)), abs(int(dx))
    padded = np.pad(images, ((0, 0), (pad_y, pad_y), (pad_x, pad_x), (0, 0)), mode="reflect")
    height, width = images.shape[1:3]
    top, left = pad_y - int(dy), pad_x - int(dx)
    return np.ascontiguousarray(padded[:, top:top + height, left:left + width])


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


def flip_accuracy(model, test, batch_size: int = 512, translate: int = 0) -> float:
    """Test accuracy (0..1) with test-time flipping, and shifts of ``translate`` pixels if above 0
    (see :func:`predict_logits`).

    Raises:
        TypeError: ``test`` is not a pair, or ``translate`` or ``batch_size`` not an integer.
        ValueError: images that are not uint8 (N, H, W, C), labels that are not (N,), or a
            ``translate`` out of range (as :func:`predict_logits`).
    """
    x, y = images_and_labels("test", test)
    return float(np.mean(predict_logits(model, x, batch_size, flip=True, translate=translate).argmax(axis=-1) == y))


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


def cpu_features() -> list[str]:
    """The CPU's vector-instruction flags that decide how fast it trains (``avx2``, ``fma``,
    ``avx512*``, ``amx*``; e.g. ``avx512_bf16`` for bfloat16 arithmetic), sorted; read from
    ``/proc/cpuinfo`` (Linux), an empty list where that is not available."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return sorted(f for f in set(flags) if f.startswith(("avx512", "amx", "avx2", "fma")))


def hardware() -> str:
    """A one-line description of this machine, for stating where numbers were measured
    (``"x86_64, 2 CPU cores, Keras 3.15.1 on tensorflow"``; in both languages:
    :func:`cvtutor.verdicts.this_machine`)."""
    from cvtutor.verdicts import this_machine

    return this_machine().en


# --- checkpoints and resuming -------------------------------------------------------------------
#
# Built on Keras' BackupAndRestore callback (https://keras.io/api/callbacks/backup_and_restore/):
# after every epoch it backs up the model's weights, the optimizer's variables and the epoch
# number; at the start of the next ``fit`` with the same backup folder it restores them, so
# training continues where it stopped. ``train_to_file`` adds what a run that ends in a model
# file needs on top: the file is written atomically, a run can be resumed after it finished
# (to more epochs), and a run in several stages (new head, then fine-tuning) resumes in the
# right stage.

_BACKUP_CLASS = None


def _backup_class():
    """The ``keras.callbacks.BackupAndRestore`` subclass (made on first use: Keras is imported lazily here)."""
    global _BACKUP_CLASS
    if _BACKUP_CLASS is not None:
        return _BACKUP_CLASS
    import keras

    from cvtutor.files import atomic_path, atomic_write, ensure_room

    class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
        """Keras' ``BackupAndRestore`` whose backups are written atomically and say which run they belong to.

        Keras writes ``latest.weights.h5`` and then ``training_metadata.json``
        in place: a process killed while writing leaves a damaged file, or
        weights of one epoch with the epoch number of the one before. Here each
        epoch's weights go to a new file, ``epoch-<n>.weights.h5``, and the
        metadata, written last, names it; both through
        :func:`cvtutor.files.atomic_path`. The metadata also holds ``run``
        (the run's settings), and a backup of a different run is refused
        rather than restored into the wrong model.
        """

        def __init__(self, backup_dir, run=None, delete_checkpoint=True):
            super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=delete_checkpoint)
            self.run = json.loads(json.dumps(run)) if run is not None else None

        def _load_model(self):
            restore_backup(self.model, self.backup_dir, self.run)

        def _save_model(self):
            from cvtutor.modelfiles import saved_bytes

            name = f"epoch-{self._current_epoch}.weights.h5"
            ensure_room(os.path.join(self.backup_dir, name), saved_bytes(self.model))  # h5py fails badly on a full disk
            with atomic_path(os.path.join(self.backup_dir, name), suffix=".weights.h5") as tmp:
                self.model.save_weights(str(tmp), overwrite=True)
            with atomic_write(self._training_metadata_path, "w") as f:
                json.dump({"epoch": self._current_epoch, "batch": 0, "weights": name, "run": self.run}, f)
            for old in os.listdir(self.backup_dir):  # earlier epochs' weights, no longer named by the metadata
                if old.startswith("epoch-") and old.endswith(".weights.h5") and old != name:
                    os.remove(os.path.join(self.backup_dir, old))

    _BACKUP_CLASS = AtomicBackupAndRestore
    return _BACKUP_CLASS


def backup_and_restore(backup_dir: str | os.PathLike, run: dict | None = None, delete_checkpoint: bool = True):
    """A ``keras.callbacks.BackupAndRestore`` callback with atomic backups that know their run.

    Pass it to ``model.fit`` (or use ``fit(..., backup_dir=...)``). After each
    epoch it backs up the weights, the optimizer's variables and the number
    of epochs done into ``backup_dir``; when ``fit`` starts again with the
    same folder (after a crash, a kill, a closed notebook), it restores them
    and training continues from the next epoch, as Keras' callback does
    (https://keras.io/api/callbacks/backup_and_restore/). Rebuild and compile
    the model the same way before resuming: only the weights and the
    optimizer's state are backed up, not the architecture.

    Args:
        backup_dir: a folder for this run's backups only.
        run: a JSON-serializable dict describing the run (its settings); a
            backup written with another ``run`` is refused, not restored.
        delete_checkpoint: delete the folder when ``fit`` completes (Keras'
            default); ``False`` keeps it, for a caller that deletes it later.

    Returns:
        the callback.

    Raises:
        ValueError: at the start of ``fit``, if the backup belongs to another
            run or does not fit the model (one line naming the folder).
    """
    return _backup_class()(backup_dir, run=run, delete_checkpoint=delete_checkpoint)


def read_backup(backup_dir: str | os.PathLike) -> dict | None:
    """What a :func:`backup_and_restore` folder holds: ``{"epoch", "weights", "run", ...}``, or None if empty.

    ``epoch`` is the number of epochs done (the next ``fit`` starts there).

    Raises:
        ValueError: the metadata file is not what this callback writes (the message names it).
    """
    path = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            metadata = json.load(f)
        int(metadata["epoch"]), str(metadata["weights"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a checkpoint written by cvtutor ({type(e).__name__}: {e})") from None
    return metadata


def restore_backup(model, backup_dir: str | os.PathLike, run: dict | None = None) -> int | None:
    """Load the weights and optimizer state of a :func:`backup_and_restore` folder into ``model``.

    What the callback does when ``fit`` starts; callable directly, e.g. to
    look at a half-trained model.

    Args:
        model: built the same way as the model that was backed up (and
            compiled the same way, for its optimizer's state).
        backup_dir: the callback's folder.
        run: if given, the backup must have been written with this ``run``.

    Returns:
        the number of epochs the restored state had done, or None (an empty
        folder: nothing restored). Also set as the model's next ``fit``'s
        initial epoch, as Keras' callback does.

    Raises:
        ValueError: the backup belongs to another run, or does not fit the model.
    """
    metadata = read_backup(backup_dir)
    if metadata is None:
        return None
    if run is not None and metadata.get("run") != json.loads(json.dumps(run)):
        raise ValueError(f"the checkpoint in {backup_dir} belongs to another run "
                         f"({json.dumps(metadata.get('run'))}), not {json.dumps(run)}")
    if not model.built:
        raise ValueError(f"model '{model.name}' must be built before its checkpoint can be restored")
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # as Keras does: variables to load the state into
    weights = os.path.join(backup_dir, metadata["weights"])
    try:
        model.load_weights(weights)
    except Exception as e:  # Keras raises many kinds for a file that does not fit the model
        raise ValueError(f"{weights}: cannot be restored into model '{model.name}' "
                         f"({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''})") from None
    model._initial_epoch = int(metadata["epoch"])  # what Keras' BackupAndRestore sets for the next fit
    return int(metadata["epoch"])


@dataclasses.dataclass(frozen=True)
class Stage:
    """A stretch of a run trained in one compiled configuration (see :func:`train_to_file`).

    Attributes:
        name: for messages and the record, e.g. ``"head"``, ``"fine-tune"``.
        until: the run's epoch count at which this stage ends; ``None`` for
            the run's last stage (it ends at the run's ``epochs``).
        prepare: called with the model when the run enters this stage (not
            for the first stage): change what is trainable, compile again, and
            return the model. ``None``: keep the model as it is.
    """

    name: str
    until: int | None = None
    prepare: object = None


class RunInProgress(RuntimeError):
    """Another process is training into the same model file right now."""


def _lock_run(folder, output):
    """Take the run's lock (``<checkpoint folder>/lock``, ``fcntl.flock``, POSIX only): the open lock
    file, or None where file locks are not available.

    Raises:
        RunInProgress: another process holds it; the message names that process.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; a second run is not detected
        return None
    folder.mkdir(parents=True, exist_ok=True)
    lock = open(folder / "lock", "a+", encoding="utf-8")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "a process"
        lock.close()
        raise RunInProgress(f"another run ({holder}) is training into {output} right now: wait for it to "
                            f"finish, or train into another file") from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"process {os.getpid()} on {platform.node()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
    lock.flush()
    return lock


def _unlock_run(lock, folder) -> None:
    """Release the run's lock; a checkpoint folder that holds nothing else goes too."""
    if lock is None:
        return
    lock.close()
    if folder.is_dir() and [p.name for p in folder.iterdir()] == ["lock"]:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


class TrainingDiverged(ValueError):
    """The training loss became NaN or infinite: the run stopped there and saved nothing."""


def _divergence_watch():
    """A Keras ``TerminateOnNaN`` that also remembers where the loss stopped being finite."""
    import math

    import keras

    class StopAtNonFiniteLoss(keras.callbacks.TerminateOnNaN):
        """Stops training at the first batch whose loss is NaN or infinite (Keras' ``TerminateOnNaN``,
        https://keras.io/api/callbacks/terminate_on_nan/) and keeps ``stopped``: the epoch and step
        (both counted from 1) and the loss, or None."""

        def __init__(self):
            super().__init__()
            self.epoch, self.stopped = 0, None

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)) and self.stopped is None:
                self.stopped = {"epoch": self.epoch + 1, "step": batch + 1, "loss": float(loss)}
                self.model.stop_training = True

    return StopAtNonFiniteLoss()


@dataclasses.dataclass
class FileRun:
    """What :func:`train_to_file` did.

    Attributes:
        output: the model file written (or left as it was).
        model: the trained model, compiled, carrying its contract.
        epochs: epochs the model has been trained in total.
        resumed_after_epoch: epochs done before this call (0 for a new run).
        started_from: ``"new"``, ``"checkpoint"`` (an interrupted run) or
            ``"finished"`` (a finished model file, trained further).
        test_loss, test_accuracy: on the test images, after training.
        train_seconds: wall time of the ``fit`` calls made here (0 if none).
        history: per-epoch metrics of the epochs trained here, all stages joined.
        train_size, validation_size: the training images trained on, and those held out
            of them for per-epoch validation (see :func:`fit`).
    """

    output: object
    model: object
    epochs: int
    resumed_after_epoch: int
    started_from: str
    test_loss: float
    test_accuracy: float
    train_seconds: float
    history: dict
    train_size: int = 0
    validation_size: int = 0


def checkpoint_dir(output: str | os.PathLike):
    """The folder holding the checkpoints of a run that writes ``output``: ``<output>.partial``
    (its name shortened where ``output``'s is near the file-name limit: :func:`cvtutor.files.fitting_name`)."""
    from pathlib import Path

    from cvtutor.files import fitting_name

    output = Path(output)
    return output.with_name(fitting_name(output.name, len(".partial")) + ".partial")


def checkpoint_progress(output: str | os.PathLike) -> dict | None:
    """Where an interrupted run writing ``output`` stands: ``{"settings", "stage", "epochs_done"}``, or None.

    Raises:
        ValueError: the checkpoint folder holds files this module did not write.
    """
    folder = checkpoint_dir(output)
    state = _read_state(folder)
    if state is None:
        return None
    backup = read_backup(folder / "epochs")
    done = int(state["initial_epoch"])
    if backup is not None and backup.get("run", {}).get("stage") == state["stage"]:
        done = max(done, int(backup["epoch"]))
    return {"settings": state["settings"], "stage": state["stage"], "epochs_done": done}


def saved_run_settings(output: str | os.PathLike) -> dict | None:
    """The settings a run writing ``output`` was started with: from its checkpoint, else from the finished file.

    For a caller that derives a default from them when resuming (the command
    line keeps a fine-tuning run's ``head_epochs`` when ``--epochs`` grows).

    Returns:
        the ``settings`` given to :func:`train_to_file`, or None (no
        checkpoint, no file, or a file that records no run).

    Raises:
        ValueError: a checkpoint or model file that cannot be read (one line naming it).
    """
    from pathlib import Path

    from cvtutor.contract import contract_layer
    from cvtutor.modelfiles import load_model

    state = _read_state(checkpoint_dir(output))
    if state is not None:
        return state["settings"]
    if not Path(output).is_file():
        return None
    layer = contract_layer(load_model(output, compile=False))
    return (layer.metadata.get("run") or {}).get("settings") if layer is not None else None


def _read_state(folder):
    """The run's ``state.json`` in its checkpoint folder, or None; ValueError for a file this module did not write."""
    path = folder / "state.json"
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        int(state["stage"]), int(state["initial_epoch"]), str(state["model_file"]), dict(state["settings"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ValueError(f"cannot resume from {folder}: its state.json is not a checkpoint of this version of "
                         f"cvtutor; delete the folder to start over") from None
    return state


def _refuse_other_settings(output, where, saved, settings):
    if saved != settings:
        changed = sorted(k for k in set(saved or {}) | set(settings) if (saved or {}).get(k) != settings.get(k))
        raise ValueError(
            f"cannot resume {output}: {where} was trained with "
            + ", ".join(f"{k}={(saved or {}).get(k)!r}" for k in changed)
            + ", not " + ", ".join(f"{k}={settings.get(k)!r}" for k in changed)
        )


def train_to_file(output, build, train, test, *, epochs: int, settings: dict, resume: bool = False,
                  stages=None, batch_size: int = 64, augment: bool = False, seed: int = 0, verbose: int = 2,
                  callbacks=None, note=None, validation_split: float | None = None, validation=None,
                  pipeline: str = "tf.data") -> FileRun:
    """Train a model into a ``.keras`` file, with a checkpoint after every epoch and resuming.

    The model (which must carry a :mod:`cvtutor.contract`) is trained in
    ``stages`` up to ``epochs`` epochs in total; after each epoch
    :func:`backup_and_restore` backs it up into :func:`checkpoint_dir`
    (``<output>.partial``). At the end the model is written to ``output``
    atomically, with ``settings``, the epochs done and the stage recorded in
    its contract's metadata, and only then is the checkpoint folder removed.

    With ``resume=True``:

    - an interrupted run (a checkpoint folder) continues from its last
      completed epoch, in the stage it was in;
    - a finished run (``output`` exists, no checkpoint) is trained further,
      from the finished model, to the new ``epochs``: the finished file is
      replaced only when the longer run has finished. Asking for as many
      epochs as it has is a no-op; for fewer, an error;
    - with neither, the run starts from epoch 0 (``note`` says so).

    Either way ``settings`` must equal the ones the run was started with
    (``epochs`` may differ: it is not part of ``settings``).
    Without ``resume``, a checkpoint of an interrupted run is never
    overwritten: that is an error, so no work is lost by a repeated command.

    Each ``fit`` reshuffles with ``seed + epochs done``, so a resumed run
    repeats what an uninterrupted one would have drawn only in distribution.

    Args:
        output: the ``.keras`` file to write.
        build: called with no arguments for a new run; returns the model,
            compiled, carrying a contract (:func:`cvtutor.contract.attach_contract`).
        train, test: ``(uint8 images (N, H, W, C), labels (N,))``.
        epochs: epochs in total, counted from the run's start.
        settings: a JSON-serializable dict of everything that defines the run
            but ``epochs`` (model, data, seed, learning rate, ...).
        resume: continue an interrupted or finished run (see above).
        stages: :class:`Stage` list; default one stage. E.g. a new head on
            frozen layers until epoch 3, then everything unfrozen:
            ``[Stage("head", until=3), Stage("fine-tune", prepare=unfreeze_and_compile)]``.
        batch_size, augment, seed, verbose, callbacks, validation_split, validation, pipeline: as
            for :func:`fit` (per-epoch validation on ``validation``, else on a fixed split of
            ``train``; ``test`` is evaluated at the end). A recipe's run passes the split that
            :func:`cvtutor.recipes.start_run` made as ``validation``.
        note: called with one-line messages (what was resumed, ...); default: none.

    Returns:
        a :class:`FileRun`.

    A run whose training loss becomes NaN or infinite stops at that step (Keras' ``TerminateOnNaN``),
    leaves ``output`` as it was and removes its checkpoint: :class:`TrainingDiverged`. Two runs never
    train into one file at once: the second stops with :class:`RunInProgress` naming the first (a
    lock in the checkpoint folder, where the system has file locks).

    Raises:
        TrainingDiverged: (a ``ValueError``) the loss stopped being finite; the message names the
            epoch and step, and what to try.
        RunInProgress: another process is training into ``output`` now.
        ValueError: a checkpoint exists but ``resume`` is False; the run was
            started with other settings; the finished model has more epochs
            than asked for, or records no run; the model has no contract (all
            one line, naming the file or folder).
    """
    import shutil
    from pathlib import Path

    from cvtutor.contract import contract_layer
    from cvtutor.files import atomic_write
    from cvtutor.modelfiles import load_model, save_model

    note = note or (lambda message: None)
    output = Path(output)
    settings = json.loads(json.dumps(settings))
    epochs = checks.positive_int("epochs", epochs)
    stages = list(stages or [Stage("train")])
    ends = [min(int(s.until), epochs) if s.until is not None else epochs for s in stages[:-1]] + [int(epochs)]
    folder = checkpoint_dir(output)
    lock = _lock_run(folder, output)
    try:
        state = _read_state(folder)

        if state is not None:
            if not resume:
                raise ValueError(f"an interrupted run of {output} has its checkpoint in {folder}: resume it "
                                 f"(--resume), or delete that folder to start over")
            _refuse_other_settings(output, f"the checkpoint in {folder}", state["settings"], settings)
            model = load_model(folder / state["model_file"])
            stage, done = int(state["stage"]), int(state["initial_epoch"])
            backup = read_backup(folder / "epochs")
            if backup is not None and backup.get("run", {}).get("stage") == stage:
                # The last completed epoch's state, restored now: a run killed right at the end of a
                # stage prepares the next stage from it.
                done = max(done, restore_backup(model, folder / "epochs", {"settings": settings, "stage": stage}))
            elif backup is not None:  # left over from the stage before (killed as this one began)
                shutil.rmtree(folder / "epochs", ignore_errors=True)
            started_from = "checkpoint"
            note(f"resuming {output} from its checkpoint after epoch {done} (stage '{stages[stage].name}')")
        elif resume and output.is_file():
            model = load_model(output)
            layer = contract_layer(model)
            run = (layer.metadata.get("run") if layer is not None else None) or {}
            if "epochs_done" not in run:
                raise ValueError(f"cannot resume {output}: it records no run of cvtutor's (train without resume "
                                 f"into another file)")
            _refuse_other_settings(output, "it", run.get("settings"), settings)
            done, stage = int(run["epochs_done"]), int(run.get("stage", len(stages) - 1))
            if done > epochs:
                raise ValueError(f"cannot resume {output}: it has been trained for {done} epochs already, more than "
                                 f"the {epochs} asked for")
            started_from = "finished"
            note(f"{output} finished {done} epochs; " + (f"training it on to {epochs}" if done < epochs
                                                        else "nothing more to do"))
        else:
            if resume:
                note(f"nothing to resume at {folder} or {output}; starting from epoch 0")
            model, stage, done, started_from = build(), 0, 0, "new"
        if contract_layer(model) is None:
            raise ValueError(f"the model to be trained into {output} carries no contract "
                             f"(cvtutor.contract.attach_contract): its file would not say what its outputs mean")
        resumed_after = done

        history, seconds, result = {}, 0.0, None
        while done < epochs:
            current = next(i for i, end in enumerate(ends) if end > done)
            fresh_stage = state is None or int(state["stage"]) != current or stage != current
            for k in range(stage + 1, current + 1):
                if stages[k].prepare is not None:
                    model = stages[k].prepare(model)
            stage = current
            if fresh_stage:  # the stage's starting model: what a kill during this stage resumes from
                if model.optimizer is not None and not model.optimizer.built:
                    model.optimizer.build(model.trainable_variables)  # saved with its state, loaded without warnings
                model_file = f"stage-{stage}.keras"
                save_model(model, folder / model_file)
                state = {"settings": settings, "stage": stage, "model_file": model_file, "initial_epoch": done}
                with atomic_write(folder / "state.json", "w") as f:
                    json.dump(state, f, indent=2)
                for old in folder.iterdir():
                    if old.name.startswith("stage-") and old.name != model_file:
                        old.unlink()
                shutil.rmtree(folder / "epochs", ignore_errors=True)
            set_seed(seed + done)
            backup = backup_and_restore(folder / "epochs", run={"settings": settings, "stage": stage},
                                        delete_checkpoint=False)
            watch = _divergence_watch()
            result = fit(model, train, test, epochs=ends[stage], initial_epoch=done, batch_size=batch_size,
                         augment=augment, seed=seed + done, verbose=verbose,
                         callbacks=[watch, backup, *(callbacks or [])], validation_split=validation_split,
                         validation=validation, pipeline=pipeline)
            if watch.stopped is not None:  # nothing of a run that diverged is kept: its checkpoint holds NaN weights
                shutil.rmtree(folder, ignore_errors=True)
                rate = settings.get("learning_rate") or settings.get("fine_tune_learning_rate")
                kept = f"{output} was left as it was" if output.exists() else f"nothing was saved to {output}"
                raise TrainingDiverged(
                    f"training diverged: the loss became {watch.stopped['loss']} at epoch {watch.stopped['epoch']}, "
                    f"step {watch.stopped['step']}; {kept}. Try a lower learning rate"
                    + (f" than {rate:g}" if isinstance(rate, (int, float)) else "") + " (--learning-rate)")
            seconds += result.train_seconds
            for key, values in result.history.items():
                history.setdefault(key, []).extend(values)
            done = ends[stage]

        if result is None:
            test_loss, test_accuracy = evaluate(model, test)
        else:
            test_loss, test_accuracy = result.test_loss, result.test_accuracy
        if started_from != "finished" or resumed_after < done:
            layer = contract_layer(model)
            layer.metadata = {**layer.metadata, "run": {"settings": settings, "epochs_done": done, "stage": stage}}
            save_model(model, output)
        shutil.rmtree(folder, ignore_errors=True)
        from cvtutor.data import held_out_count, trained_count

        if validation is not None:
            sizes = {"train_size": len(train[1]), "validation_size": len(validation[1])}
        else:
            sizes = {"train_size": trained_count(train[1], validation_split),
                     "validation_size": held_out_count(train[1], validation_split)}
        return FileRun(output, model, done, resumed_after, started_from, test_loss, test_accuracy, seconds, history,
                       **sizes)
    finally:
        _unlock_run(lock, folder)
