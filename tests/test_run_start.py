"""One start of a run (cvtutor.recipes.start_run): a recipe trains the same way in a chapter
(train_recipe), on the command line (cvtutor train --recipe) and in the benchmarks (benchmarks/run.py)."""

import keras
import numpy as np
import pytest
from cifar_fakes import official_batches, write_batches_dir
from test_cli import run

import cvtutor.resume as resume
import cvtutor.training as training
from cvtutor.data import held_out_count, load_cifar10, split_validation
from cvtutor.recipes import get_recipe, start_run, train_recipe


class _FirstStep(keras.callbacks.Callback):
    def __init__(self, seen):
        super().__init__()
        self.seen = seen

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0 and "loss" not in self.seen:
            self.seen["loss"] = float(logs["loss"])


@pytest.fixture()
def door_log(monkeypatch):
    """What each call of cvtutor.training.fit was given (also where cvtutor.resume calls it), and its
    first step's loss."""
    calls, real_fit = [], training.fit

    def watched_fit(model, train, test, **kwargs):
        seen = {"train": len(train[1]), "validation": None if kwargs.get("validation") is None
                else len(kwargs["validation"][1]), "batchnorm": kwargs.get("batchnorm_statistics", "recompute"),
                "pipeline": kwargs.get("pipeline", "tf.data")}
        names = [layer.name for layer in model.layers]
        seen["whitening"] = (keras.ops.convert_to_numpy(model.get_layer("stem_whiten").kernel)
                             if "stem_whiten" in names else None)
        calls.append(seen)
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), _FirstStep(seen)]
        result = real_fit(model, train, test, **kwargs)
        seen["batchnorm_batches"] = result.batchnorm_batches
        return result

    monkeypatch.setattr(training, "fit", watched_fit)
    monkeypatch.setattr(resume, "fit", watched_fit)
    return calls


# Not in CI's JAX pass (marker backend): which doors a recipe goes through does not depend on the
# backend, and a recipe training on JAX is tests/test_benchmarks.py's GPU-recipe test; on JAX this
# test took 167 s of CI's CPU beside the book build.
@pytest.mark.slow
def test_a_recipe_trains_the_same_way_through_all_three_doors(tmp_path, door_log):
    from benchmarks.run import run_recipe

    data = write_batches_dir(tmp_path / "data", official_batches(per_batch=60))  # 300 training images
    train, test = load_cifar10(data)
    recipe = "fast-cnn"  # batch norm, augmentation, label smoothing, a schedule over the run's steps
    train_recipe(recipe, train, test, epochs=1, verbose=0)
    result = run("train", "--recipe", recipe, "--epochs", "1", "--data-dir", data, "-o", tmp_path / "m.keras", "--quiet")
    assert result.returncode == 0, result.stderr
    record = run_recipe(recipe, seed=0, epochs=1, data_dir=str(data))
    chapter, command_line, benchmark = door_log
    held_out = held_out_count(train[1])
    assert held_out == 30
    for door in door_log:
        assert (door["train"], door["validation"]) == (len(train[1]) - held_out, held_out), door
        assert door["batchnorm"] == "recompute" and door["batchnorm_batches"] > 0, door
    # The patch-whitening stem fitted to the same images in every door (the command line's in its
    # own process, so compared through the record's first step below).
    assert chapter["whitening"] is not None
    np.testing.assert_array_equal(chapter["whitening"], benchmark["whitening"])
    # The same weights and batches; the augmentation's random ops take TensorFlow's per-op seeds, which
    # depend on how many ops the process made before, so the first step's loss agrees to about a
    # percent, not exactly: a process's first run and its later ones measured 2.4688 and 2.4490 with
    # the whitened stem (2.3589 and 2.3563 with the 3x3 stem). Batch norm in training mode hides most
    # differences of the inputs at the first step (unscaled pixels or unfitted whitening filters moved
    # it by 0.2% here), so the exact checks are the split, the batch-norm treatment and the filters.
    assert chapter["loss"] == pytest.approx(command_line["loss"], rel=1.5e-2)
    assert chapter["loss"] == pytest.approx(benchmark["loss"], rel=1.5e-2)
    assert (record["train_images"], record["validation_images"]) == (270, 30)


def test_the_split_is_made_once_and_the_schedule_counts_the_images_that_train():
    x = np.zeros((50, 8, 8, 3), np.uint8)
    y = np.arange(50) % 5
    start = start_run(get_recipe("cnn-adam").replace(batch_size=10), (x, y), epochs=3, num_classes=5)
    (expected, _), (held_out, _) = split_validation(x, y)
    assert len(start.train[0]) == len(expected) == 45 and len(start.validation[0]) == len(held_out) == 5
    assert start.epochs == 3 and start.steps == 3 * 5
    assert start.describe_data()["train_images"] == 45
    none_held = start_run("cnn-adam", (x, y), validation_split=0, num_classes=5)
    assert len(none_held.validation[1]) == 0 and len(none_held.train[1]) == 50
    with pytest.raises(ValueError, match="train labels must be in 0..3"):
        start_run("cnn-adam", (x, y), num_classes=4)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        start_run("cnn-adam", (x, y), epochs=0)
