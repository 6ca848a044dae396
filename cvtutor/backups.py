"""Epoch backups: Keras' ``BackupAndRestore`` callback, made atomic and tied to its run.

After every epoch the callback (https://keras.io/api/callbacks/backup_and_restore/) backs up the
model's weights, the optimizer's variables and the epoch number; at the start of the next ``fit``
with the same backup folder it restores them, so training continues where it stopped.
``cvtutor.training.fit(..., backup_dir=...)`` uses it; :func:`cvtutor.resume.train_to_file`
builds a whole run that ends in a model file on top of it.
"""

from __future__ import annotations

import json
import os


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

    Pass it to ``model.fit`` (or use :func:`cvtutor.training.fit`'s ``backup_dir``). After each
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
