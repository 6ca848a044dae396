"""Resuming (cvtutor.backups, cvtutor.resume): BackupAndRestore with atomic backups, and runs that end in a model file."""

import json

import keras
import numpy as np
import pytest

from cvtutor.contract import Contract, attach_contract, contract_layer
from cvtutor.modelfiles import load_model
from cvtutor.backups import backup_and_restore, read_backup
from cvtutor.resume import Stage, checkpoint_dir, checkpoint_progress, train_to_file
from cvtutor.training import compile_model, fit, set_seed
from cvtutor.transfer import unfreeze

N, BATCH = 96, 32
STEPS = N // BATCH
SETTINGS = {"model": "tiny", "seed": 0}


class Interrupt(Exception):
    """Stands for a kill: raised from inside fit, so Keras never reaches on_train_end."""


class InterruptAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Interrupt(f"interrupted at epoch {epoch}")


class InterruptAtTrainEnd(keras.callbacks.Callback):
    """A kill right after a stage's last epoch was backed up, before the next stage began."""

    def on_train_end(self, logs=None):
        raise Interrupt("interrupted after the stage's last epoch")


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (N, 8, 8, 3), dtype=np.uint8)
    y = (x[:, :, :, 0].mean(axis=(1, 2)) > 127).astype(np.int64) + (x[:, :, :, 1].mean(axis=(1, 2)) > 127)
    return (x, y), (x[:32], y[:32])


def tiny_model(contract=True):
    set_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="logits")(x), name="tiny")
    if contract:
        model = attach_contract(model, Contract(("a", "b", "c"), (8, 8)))
    return compile_model(model)


def iterations(model):
    return int(np.asarray(model.optimizer.iterations))


# --- fit(backup_dir=...): Keras' BackupAndRestore, made atomic -----------------------------------


def test_fit_with_a_backup_dir_resumes_after_an_interruption(tmp_path):
    train, test = data()
    backup = tmp_path / "backup"
    with pytest.raises(Interrupt):
        fit(tiny_model(), train, test, epochs=4, batch_size=BATCH, verbose=0, backup_dir=backup,
            callbacks=[InterruptAt(2)])
    saved = read_backup(backup)
    assert saved["epoch"] == 2 and sorted(p.name for p in backup.iterdir()) == ["epoch-2.weights.h5",
                                                                               "training_metadata.json"]
    model = tiny_model()  # rebuilt and recompiled, as after a restart
    result = fit(model, train, test, epochs=4, batch_size=BATCH, verbose=0, backup_dir=backup)
    assert len(result.history["loss"]) == 2, "only epochs 3 and 4 are left"
    assert iterations(model) == 4 * STEPS and not backup.exists()


def test_a_backup_of_another_run_is_refused(tmp_path):
    train, test = data()
    model = tiny_model()
    model.fit(train[0] / 255, train[1], epochs=1, verbose=0, callbacks=[backup_and_restore(tmp_path / "b", run={"seed": 0},
                                                                                               delete_checkpoint=False)])
    assert read_backup(tmp_path / "b")["run"] == {"seed": 0}
    with pytest.raises(ValueError, match=r"belongs to another run \(\{\"seed\": 0\}\), not \{\"seed\": 1\}"):
        model.fit(train[0] / 255, train[1], epochs=2, verbose=0,
                  callbacks=[backup_and_restore(tmp_path / "b", run={"seed": 1})])


# --- train_to_file: a run that ends in a model file ------------------------------------------------


def run(output, epochs, resume=False, callbacks=None, settings=SETTINGS, stages=None, notes=None):
    train, test = data()
    return train_to_file(output, tiny_model, train, test, epochs=epochs, settings=settings, resume=resume,
                         batch_size=BATCH, verbose=0, callbacks=callbacks, stages=stages,
                         note=(notes.append if notes is not None else None))


def test_resume_after_finishing_continues_from_the_finished_model(tmp_path):
    """The failing case: train 2 epochs, then --resume with 3 printed 'nothing to resume' and started over."""
    output = tmp_path / "m.keras"
    first = run(output, 2)
    assert first.started_from == "new" and first.epochs == 2 and not checkpoint_dir(output).exists()
    record = contract_layer(load_model(output)).metadata["run"]
    assert record == {"settings": SETTINGS, "epochs_done": 2, "stage": 0}
    finished_bytes = output.read_bytes()
    finished_weights = load_model(output).get_weights()

    # Killed while training on to 3: the finished file is untouched, the checkpoint remembers where it was.
    with pytest.raises(Interrupt):
        run(output, 4, resume=True, callbacks=[InterruptAt(3)])
    assert output.read_bytes() == finished_bytes
    assert checkpoint_progress(output) == {"settings": SETTINGS, "stage": 0, "epochs_done": 3}

    notes = []
    more = run(output, 4, resume=True, notes=notes)
    assert more.started_from == "checkpoint" and more.resumed_after_epoch == 3 and more.epochs == 4
    assert len(more.history["loss"]) == 1 and "after epoch 3" in notes[0]
    model = load_model(output)
    assert iterations(model) == 4 * STEPS, "continued from the finished model's optimizer state, not from scratch"
    assert contract_layer(model).metadata["run"]["epochs_done"] == 4
    assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), finished_weights))


def test_resume_of_a_finished_run_without_interruption(tmp_path):
    output = tmp_path / "m.keras"
    run(output, 2)
    notes = []
    more = run(output, 3, resume=True, notes=notes)
    assert (more.started_from, more.resumed_after_epoch, more.epochs) == ("finished", 2, 3)
    assert "finished 2 epochs; training it on to 3" in notes[0]
    assert iterations(load_model(output)) == 3 * STEPS


def test_resume_to_as_many_epochs_is_a_no_op_and_to_fewer_an_error(tmp_path):
    output = tmp_path / "m.keras"
    run(output, 2)
    before = output.read_bytes()
    same = run(output, 2, resume=True)
    assert same.started_from == "finished" and same.train_seconds == 0 and output.read_bytes() == before
    with pytest.raises(ValueError, match=r"trained for 2 epochs already, more than the 1 asked for"):
        run(output, 1, resume=True)
    assert output.read_bytes() == before


def test_other_settings_and_an_ignored_checkpoint_are_refused(tmp_path):
    output = tmp_path / "m.keras"
    run(output, 1)
    with pytest.raises(ValueError, match=r"cannot resume .*m.keras: it was trained with seed=0, not seed=1"):
        run(output, 2, resume=True, settings={"model": "tiny", "seed": 1})
    with pytest.raises(Interrupt):
        run(output, 3, resume=True, callbacks=[InterruptAt(1)])
    with pytest.raises(ValueError, match=r"has its checkpoint in .*m.keras.partial: resume it"):
        run(output, 3)  # without resume: the checkpoint is neither used nor overwritten
    assert checkpoint_progress(output)["epochs_done"] == 1
    with pytest.raises(ValueError, match="the checkpoint in .* was trained with seed=0, not seed=1"):
        run(output, 3, resume=True, settings={"model": "tiny", "seed": 1})


def test_a_foreign_checkpoint_state_is_refused_in_one_line(tmp_path):
    folder = checkpoint_dir(tmp_path / "m.keras")
    folder.mkdir()
    (folder / "state.json").write_text(json.dumps({"model": "cnn", "epochs": 5, "epochs_done": 1}))
    with pytest.raises(ValueError, match="not a checkpoint of this version of cvtutor; delete the folder"):
        run(tmp_path / "m.keras", 2, resume=True)


def test_a_model_without_contract_is_refused(tmp_path):
    train, test = data()
    with pytest.raises(ValueError, match="carries no contract"):
        train_to_file(tmp_path / "m.keras", lambda: tiny_model(contract=False), train, test, epochs=1,
                      settings=SETTINGS, verbose=0)


def unfreeze_and_compile(model):
    return compile_model(unfreeze(model), learning_rate=1e-4)


def frozen_tiny():
    model = tiny_model()
    model.get_layer("conv").trainable = False
    return compile_model(model)


@pytest.mark.parametrize("interrupt_at", ["end of head", 1, 2])
def test_stages_resume_in_the_stage_they_were_in(tmp_path, interrupt_at):
    """Head on frozen layers until epoch 1, then everything; killed at the boundary or inside the second stage."""
    output = tmp_path / "m.keras"
    train, test = data()
    stages = [Stage("head", until=1), Stage("fine-tune", prepare=unfreeze_and_compile)]

    def go(**kwargs):
        return train_to_file(output, frozen_tiny, train, test, epochs=3, settings=SETTINGS, stages=stages,
                             batch_size=BATCH, verbose=0, **kwargs)

    with pytest.raises(Interrupt):
        go(callbacks=[InterruptAtTrainEnd() if interrupt_at == "end of head" else InterruptAt(interrupt_at)])
    epochs_done = 1 if interrupt_at == "end of head" else interrupt_at
    progress = checkpoint_progress(output)
    assert progress["epochs_done"] == epochs_done and progress["stage"] == (interrupt_at != "end of head")
    done = go(resume=True)
    assert done.resumed_after_epoch == epochs_done and done.epochs == 3
    model = load_model(output)
    assert model.get_layer("conv").trainable, "the fine-tuning stage unfroze the reused layers"
    assert np.isclose(float(np.asarray(model.optimizer.learning_rate)), 1e-4)
    assert contract_layer(model).metadata["run"]["stage"] == 1
    # The weights of a run never interrupted: in particular the fine-tuning started from the trained
    # head. Killed between stages, the resumed run draws the same batches (the fine-tuning's fit is
    # seeded with seed + 1 either way): equal up to float rounding. Killed inside the fine-tuning,
    # its last epoch is reshuffled (seed + 2), which moves weights by ~1e-5 at this learning rate.
    train_to_file(tmp_path / "straight.keras", frozen_tiny, train, test, epochs=3, settings=SETTINGS,
                  stages=stages, batch_size=BATCH, verbose=0)
    tolerance = 1e-4 if interrupt_at == 2 else 1e-6
    for a, b in zip(model.get_weights(), load_model(tmp_path / "straight.keras").get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=tolerance)
    # The fine-tuning stage's optimizer counted only its own steps, the head's were counted before.
    assert iterations(model) == 2 * STEPS
