"""Train a named recipe on CIFAR-10 and write a JSON record of how long it took to get how good.

    python -m benchmarks.run tf-tutorial article-cnn-pipeline --seeds 0 1 2

Wall time runs from the start of each recipe, data loading included, to its
final test accuracy; test accuracy is also measured after every epoch (with
the wall time at that point) so time-to-accuracy can be read off
(:func:`cvtutor.records.time_to_accuracy`). All records of one invocation
share a ``run_id``, so a recipe is compared with the baseline measured in the
same run (:func:`cvtutor.records.summarize`); the book's results appendix
reads them from ``benchmarks/results/``. Records go
to ``benchmarks/results/<recipe>-seed<k>-<time>.json`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import resource
import sys
import time
from pathlib import Path

from cvtutor.recipes import RECIPES, TARGETS
from cvtutor.records import write_record

RESULTS = Path(__file__).resolve().parent / "results"

def _versions() -> dict:
    import keras
    import numpy

    versions = {"python": platform.python_version(), "keras": keras.__version__, "numpy": numpy.__version__}
    try:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    except ImportError:
        pass
    return versions


def run_recipe(name: str, seed: int, train_size: int | None = None, test_size: int | None = None,
               epochs: int | None = None, data_dir: str | None = None) -> dict:
    """Train recipe ``name`` once and return its record (see the module docstring)."""
    start = time.perf_counter()
    load_average_start = os.getloadavg()
    import keras

    from cvtutor.data import find_cifar10, load_cifar10, make_dataset
    from cvtutor.recipes import start_run
    from cvtutor.prediction import flip_accuracy
    from cvtutor.training import fit

    recipe = RECIPES[name]
    source = find_cifar10(data_dir)
    (x_train, y_train), (x_test, y_test) = load_cifar10(data_dir)
    x_train, y_train = x_train[:train_size], y_train[:train_size]
    x_test, y_test = x_test[:test_size], y_test[:test_size]
    # The one start of a recipe's run, as in the chapters and `cvtutor train --recipe`: a tenth of
    # each class held out for validation, the model adapted to and compiled for the rest.
    run = start_run(recipe, (x_train, y_train), seed=seed, epochs=epochs, num_classes=10)
    epochs = run.epochs
    model = run.build_model()
    test_ds = make_dataset(x_test, y_test, 512)
    curve = []

    class TestAccuracy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            accuracy = float(self.model.evaluate(test_ds, verbose=0)[1])
            curve.append({"epoch": epoch + 1, "seconds": time.perf_counter() - start, "test_accuracy": accuracy})
            print(f"{name} seed {seed}: epoch {epoch + 1}/{epochs} test accuracy {accuracy:.4f} "
                  f"at {curve[-1]['seconds']:.1f} s", flush=True)

    load_seconds = time.perf_counter() - start
    # fit as everywhere: per-epoch validation, batch-norm statistics re-estimated at the end.
    result = fit(model, run.train, (x_test, y_test), epochs=epochs, batch_size=recipe.batch_size,
                 augment=recipe.augment, seed=seed, verbose=0, callbacks=[TestAccuracy()],
                 validation=run.validation, pipeline=recipe.pipeline)
    fit_seconds = result.train_seconds
    plain_accuracy = result.test_accuracy  # after the batch-norm re-estimate (the curve's last point is before it)
    final_accuracy = (flip_accuracy(model, (x_test, y_test), translate=recipe.test_time_shift)
                      if recipe.test_time_flip else plain_accuracy)
    wall_seconds = time.perf_counter() - start
    # Measured outside the wall time, whatever the recipe reports: the same model with flips only,
    # and with flips and 1-pixel shifts (airbench's test-time augmentation), to compare them.
    flip_only, translate_accuracy = None, None
    if recipe.test_time_flip:
        flip_only = final_accuracy if not recipe.test_time_shift else flip_accuracy(model, (x_test, y_test))
        translate_accuracy = (final_accuracy if recipe.test_time_shift == 1
                              else flip_accuracy(model, (x_test, y_test), translate=1))
    # Per-epoch evaluations are part of the measured time; they are also how a user sees progress.
    return {
        "recipe": name,
        "description": recipe.description,
        "settings": dataclasses.asdict(recipe),  # every hyperparameter, as cvtutor.recipes defined it
        "seed": seed,
        "epochs": epochs,
        "batch_size": recipe.batch_size,
        **run.describe_data(),  # which images trained and which validated
        "test_images": len(x_test),
        "data_source": source.describe(),
        "wall_seconds": wall_seconds,
        "load_seconds": load_seconds,
        "fit_seconds": fit_seconds,
        "images_per_second": len(run.train[1]) * epochs / fit_seconds,
        "validation_accuracy": result.validation_accuracy,
        "batchnorm_batches": result.batchnorm_batches,
        # With the recipe's test-time augmentation (flips, and shifts where it says); the curve holds
        # plain accuracies.
        "test_accuracy": final_accuracy,
        "test_accuracy_plain": plain_accuracy,
        "flip": recipe.test_time_flip,
        "shift": recipe.test_time_shift,
        # The same model with flips only, and with flips and 1-pixel shifts (predict_logits).
        "test_accuracy_flip": flip_only,
        "test_accuracy_flip_translate": translate_accuracy,
        "target": TARGETS[name].to_record() if name in TARGETS else None,
        "curve": curve,
        "params": int(model.count_params()),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "backend": keras.backend.backend(),
        "hardware": {"machine": platform.machine(), "processor": platform.processor(), "cpus": os.cpu_count()},
        # Other work on the machine slows a run down; the 1-minute load average says how busy it was.
        "load_average_start": load_average_start[0],
        "load_average_end": os.getloadavg()[0],
        "versions": _versions(),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.run", *sys.argv[1:]]),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("recipes", nargs="+", choices=sorted(RECIPES), metavar="RECIPE",
                        help=f"one or more of {', '.join(sorted(RECIPES))}")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--train-size", type=int, help="use only this many training images (for smoke tests)")
    parser.add_argument("--test-size", type=int, help="use only this many test images")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--data-dir", help="CIFAR-10 location (default $CVTUTOR_DATA, else Keras)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"folder for the JSON records (default {RESULTS})")
    parser.add_argument("--run-id", help="group these records with an earlier invocation's, run right before it on "
                        "the same machine (e.g. more seeds of one recipe after the baseline); default: a new run")
    args = parser.parse_args(argv)
    # A recipe is timed on the backend it names (the fastest measured for its model); importing
    # Keras here fixes the backend for this process.
    import keras

    other = [f"{name} runs on {RECIPES[name].backend}" for name in args.recipes
             if RECIPES[name].backend != keras.backend.backend()]
    if other:
        parser.error(f"{'; '.join(other)}, but Keras runs on {keras.backend.backend()} here: "
                     f"set KERAS_BACKEND (one backend per invocation)")
    # Pairs every recipe with the baseline measured in the same run.
    run_id = args.run_id or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for seed in args.seeds:
        for name in args.recipes:
            record = run_recipe(name, seed, args.train_size, args.test_size, args.epochs, args.data_dir)
            record["run_id"] = run_id
            path = write_record(record, args.out, f"{name}-seed{seed}", data_dir=args.data_dir)
            print(f"wrote {path}: {record['test_accuracy']:.4f} in {record['wall_seconds']:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
