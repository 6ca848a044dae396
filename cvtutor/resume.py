"""A run that ends in a ``.keras`` file: a checkpoint after every epoch, resuming after a kill.

:func:`train_to_file` is the whole life of such a run (what ``cvtutor train`` calls)::

    run = train_to_file("pets.keras", build, train, test, epochs=10,
                        settings={"model": "cnn", "seed": 0}, resume=True)

a checkpoint after every epoch (:mod:`cvtutor.backups`), resuming after a kill in any stage
(e.g. a new head, then fine-tuning), resuming a *finished* run to more epochs from the finished
model, the file written atomically only when the run is done, a run that diverges stopped
(Keras' ``TerminateOnNaN``) with nothing saved, and one run at a time per file (a lock).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time

from cvtutor import checks
from cvtutor.backups import backup_and_restore, read_backup, restore_backup
from cvtutor.training import evaluate, fit, set_seed


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
            of them for per-epoch validation (see :func:`cvtutor.training.fit`).
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
    :func:`cvtutor.backups.backup_and_restore` backs it up into :func:`checkpoint_dir`
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
            for :func:`cvtutor.training.fit` (per-epoch validation on ``validation``, else on a fixed split of
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
