"""Input-pipeline throughput: ``cvtutor.data.make_dataset`` against a per-image map, in the same run.

    python -m benchmarks.pipeline --data-dir ../shared/data

``make_dataset`` batches first and then scales and augments whole batches.
The baseline is the usual ``tf.data`` layout it replaced: a ``map`` over
single images (``tf.image`` flips and crops), then ``batch``. Both run over
the same uint8 training images, shuffled, with and without augmentation, and
each is timed over whole passes with no model attached (images per second of
the pipeline alone, the most it can feed a model). One JSON record per run
goes to ``benchmarks/results/pipeline/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from cvtutor.records import write_record

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "pipeline"


def per_image_dataset(x, y, batch_size, *, augment, seed=0, pad=4):
    """The baseline: scale (and flip and shift) one image per ``map`` call, then batch."""
    import numpy as np
    import tensorflow as tf

    height, width, channels = x.shape[1:]

    def prepare(image, label):
        image = tf.cast(image, tf.float32) / 255.0
        if augment:
            image = tf.image.random_flip_left_right(image, seed=seed)
            image = tf.image.pad_to_bounding_box(image, pad, pad, height + 2 * pad, width + 2 * pad)
            image = tf.image.random_crop(image, (height, width, channels), seed=seed)
        return image, label

    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32))).shuffle(len(x), seed=seed)
    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def images_per_second(dataset, passes: int) -> float:
    """Best of ``passes`` full passes over ``dataset`` (after one warm-up batch), in images/s."""
    for _ in dataset.take(1):
        pass
    best = 0.0
    for _ in range(passes):
        start, count = time.perf_counter(), 0
        for _, labels in dataset:
            count += int(labels.shape[0])
        best = max(best, count / (time.perf_counter() - start))
    return best


def measure(x, y, batch_sizes, passes: int) -> list[dict]:
    """One row per (augment, batch size): both pipelines' images/s and their ratio."""
    from cvtutor.data import make_dataset

    rows = []
    for augment in (False, True):
        for batch_size in batch_sizes:
            baseline = images_per_second(per_image_dataset(x, y, batch_size, augment=augment), passes)
            batched = images_per_second(make_dataset(x, y, batch_size, shuffle=True, augment=augment, seed=0), passes)
            rows.append({"augment": augment, "batch_size": batch_size, "per_image_map": baseline,
                         "make_dataset": batched, "speedup": batched / baseline})
            print(f"augment={augment} batch {batch_size}: per-image map {baseline:,.0f} images/s, "
                  f"make_dataset {batched:,.0f} images/s ({batched / baseline:.1f}x)", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="CIFAR-10 copy (default: $CVTUTOR_DATA or the Keras cache)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--passes", type=int, default=2, help="timed passes per pipeline (the best counts)")
    parser.add_argument("--train-size", type=int, help="use only the first N training images")
    parser.add_argument("--out", default=str(RESULTS), help="folder for the JSON record")
    args = parser.parse_args(argv)
    if args.passes < 1 or any(b < 1 for b in args.batch_sizes):
        parser.error(f"--passes and --batch-sizes must be positive, got {args.passes} and {args.batch_sizes}")

    import keras
    import numpy as np

    from cvtutor.data import find_cifar10, load_cifar10
    from cvtutor.machine import hardware

    source = find_cifar10(args.data_dir)
    (x, y), _ = load_cifar10(args.data_dir)
    x, y = x[: args.train_size], y[: args.train_size]
    rows = measure(x, y, args.batch_sizes, args.passes)
    record = {
        "benchmark": "input-pipeline",
        "images": len(x),
        "data_source": source.describe(),
        "rows": rows,
        "hardware": hardware(),
        "load_average": os.getloadavg()[0],
        "versions": {"python": sys.version.split()[0], "keras": keras.__version__, "numpy": np.__version__},
        "command": "python -m benchmarks.pipeline " + " ".join(sys.argv[1:] if argv is None else argv),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    print(write_record(record, args.out, "pipeline", data_dir=args.data_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
