"""The GPU recipe: ResNet-9 trained with Keras on JAX, bf16, XLA, data resident on the device.

    KERAS_BACKEND=jax python -m benchmarks.gpu --seeds 0 1 2

The whole training set sits on the accelerator as uint8; each step gathers
its batch, flips and shifts it and runs forward, backward and the optimizer
in one XLA-compiled function, so nothing crosses the host link during
training. Compilation is timed apart from training (``compile_seconds``).
Every hyperparameter is the ``gpu-resnet9`` recipe's
(:data:`cvtutor.recipes.RECIPES`): :func:`cvtutor.models.build_resnet` at
``width=64, blocks=(1, 0, 1)`` (Page's ResNet-9), the loss
:class:`cvtutor.losses.SmoothedSparseCrossentropy`, one-cycle SGD; the
options override it. It runs on a CPU too, slowly; the tests do that on a
tiny subset. Records go to ``benchmarks/results/`` like ``benchmarks.run``'s.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import datetime as dt  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _augment(jax, jnp, images, key, pad=4):
    """Random left-right flips and shifts of up to ``pad`` pixels (reflected borders) of a (B, H, W, C) batch."""
    batch, height, width, channels = images.shape
    flip_key, shift_key = jax.random.split(key)
    flip = jax.random.bernoulli(flip_key, 0.5, (batch, 1, 1, 1))
    images = jnp.where(flip, images[:, :, ::-1], images)
    padded = jnp.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    shifts = jax.random.randint(shift_key, (batch, 2), 0, 2 * pad + 1)

    def crop(image, shift):
        return jax.lax.dynamic_slice(image, (shift[0], shift[1], 0), (height, width, channels))

    return jax.vmap(crop)(padded, shifts)


def train(seed: int, recipe, train_size=None, test_size=None, data_dir=None, precision="mixed_bfloat16"):
    """Train ``recipe`` (a :class:`cvtutor.recipes.Recipe`, e.g. ``gpu-resnet9``) once; return the record."""
    start = time.perf_counter()
    import jax
    import jax.numpy as jnp
    import keras
    import numpy as np

    from cvtutor.data import find_cifar10, load_cifar10
    from cvtutor.recipes import TARGETS

    if keras.backend.backend() != recipe.backend:
        raise RuntimeError(f"benchmarks.gpu times recipe {recipe.name!r} on {recipe.backend}: set "
                           f"KERAS_BACKEND={recipe.backend} (Keras runs on {keras.backend.backend()!r})")
    source = find_cifar10(data_dir)
    (x_train, y_train), (x_test, y_test) = load_cifar10(data_dir)
    x_train, y_train = x_train[:train_size], y_train[:train_size]
    x_test, y_test = x_test[:test_size], y_test[:test_size]
    epochs, batch_size, width = recipe.epochs, recipe.batch_size, recipe.model_kwargs.get("width")
    steps_per_epoch = len(x_train) // batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"batch_size {batch_size} is larger than the {len(x_train)} training images")
    keras.utils.set_random_seed(seed)
    keras.config.set_dtype_policy(precision)
    try:
        model = recipe.build()
    finally:
        keras.config.set_dtype_policy("float32")
    # The recipe's optimizer and loss, driven by the jitted step below.
    recipe.compile(model, epochs * steps_per_epoch)
    optimizer, loss_fn = model.optimizer, model.loss
    optimizer.build(model.trainable_variables)

    device = jax.devices()[0]
    images = jax.device_put(x_train, device)  # uint8: a quarter of float32's bytes
    labels = jax.device_put(y_train.astype("int32"), device)
    test_images = jax.device_put(x_test, device)
    mean = jnp.asarray([0.4914, 0.4822, 0.4465]) * 255  # CIFAR-10 channel statistics
    std = jnp.asarray([0.2470, 0.2435, 0.2616]) * 255

    def normalize(batch):
        # build_resnet has no input scaling; the [0, 1] convention of the other recipes
        # would cost accuracy here, so the GPU recipe standardises channels instead.
        return ((batch.astype("float32") - mean) / std).astype(model.compute_dtype)

    def loss_and_state(trainable, non_trainable, x, y):
        logits, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        return loss_fn(y, logits), non_trainable

    gradient = jax.value_and_grad(loss_and_state, has_aux=True)

    def train_step(state, order, step, key):
        trainable, non_trainable, optimizer_vars = state
        index = jax.lax.dynamic_slice_in_dim(order, step * batch_size, batch_size)
        x = _augment(jax, jnp, normalize(images[index]), key)
        (loss, non_trainable), grads = gradient(trainable, non_trainable, x, labels[index])
        trainable, optimizer_vars = optimizer.stateless_apply(optimizer_vars, grads, trainable)
        return (trainable, non_trainable, optimizer_vars), loss

    def predict(trainable, non_trainable, x):
        x = normalize(x)
        plain, _ = model.stateless_call(trainable, non_trainable, x, training=False)
        mirrored, _ = model.stateless_call(trainable, non_trainable, x[:, :, ::-1], training=False)
        return plain.astype("float32"), (plain.astype("float32") + mirrored.astype("float32")) / 2

    state = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables])
    key = jax.random.PRNGKey(seed)
    order = jax.random.permutation(key, len(x_train))
    compile_start = time.perf_counter()
    step_fn = jax.jit(train_step, donate_argnums=0).lower(state, order, 0, key).compile()
    test_batch = jax.ShapeDtypeStruct((1000, *x_test.shape[1:]), test_images.dtype)
    predict_fn = jax.jit(predict).lower(state[0], state[1], test_batch).compile()
    compile_seconds = time.perf_counter() - compile_start

    def accuracy(state):
        correct_plain = correct_flip = 0
        for lo in range(0, len(x_test), 1000):
            batch = test_images[lo:lo + 1000]
            if batch.shape[0] != 1000:  # the compiled function has one batch shape; pad the last batch
                batch = jnp.concatenate([batch, jnp.zeros((1000 - batch.shape[0], *batch.shape[1:]), batch.dtype)])
            plain, flipped = predict_fn(state[0], state[1], batch)
            n = min(1000, len(x_test) - lo)
            correct_plain += int((np.asarray(plain[:n]).argmax(1) == y_test[lo:lo + n]).sum())
            correct_flip += int((np.asarray(flipped[:n]).argmax(1) == y_test[lo:lo + n]).sum())
        return correct_plain / len(x_test), correct_flip / len(x_test)

    load_seconds = compile_start - start
    train_seconds, curve = 0.0, []
    for epoch in range(epochs):
        key, order_key = jax.random.split(key)
        order = jax.random.permutation(order_key, len(x_train))
        epoch_start = time.perf_counter()
        for step in range(steps_per_epoch):
            key, step_key = jax.random.split(key)
            state, loss = step_fn(state, order, step, step_key)
        jax.block_until_ready(state)
        train_seconds += time.perf_counter() - epoch_start
        plain, flipped = accuracy(state)
        curve.append({"epoch": epoch + 1, "seconds": time.perf_counter() - start, "train_seconds": train_seconds,
                      "test_accuracy": plain, "test_accuracy_flip": flipped, "loss": float(loss)})
        print(f"gpu seed {seed}: epoch {epoch + 1}/{epochs} test accuracy {plain:.4f} (flip {flipped:.4f}), "
              f"training {train_seconds:.1f} s", flush=True)
    return {
        "recipe": "gpu-resnet9",
        "description": f"build_resnet(width={width}) on JAX, {precision}, XLA, data on the device, batch {batch_size}",
        "settings": dataclasses.asdict(recipe),
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "train_images": len(x_train),
        "test_images": len(x_test),
        "data_source": source.describe(),
        "wall_seconds": time.perf_counter() - start,
        "load_seconds": load_seconds,
        "compile_seconds": compile_seconds,
        "train_seconds": train_seconds,
        "fit_seconds": train_seconds,
        "images_per_second": len(x_train) * epochs / train_seconds,
        "test_accuracy": curve[-1]["test_accuracy_flip"],
        "test_accuracy_plain": curve[-1]["test_accuracy"],
        "flip": True,
        "target": TARGETS["gpu-resnet9"].to_record(),
        "target_clock": TARGETS["gpu-resnet9"].clock,
        "curve": curve,
        "params": int(model.count_params()),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "backend": keras.backend.backend(),
        "precision": precision,
        "hardware": {"machine": platform.machine(), "device": str(device.device_kind), "platform": device.platform,
                     "cpus": os.cpu_count()},
        "load_average_start": None,
        "versions": {"python": platform.python_version(), "keras": keras.__version__, "jax": jax.__version__},
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.gpu", *sys.argv[1:]]),
    }


def main(argv=None) -> int:
    from cvtutor.records import write_record

    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, help="override the gpu-resnet9 recipe's epochs")
    parser.add_argument("--batch-size", type=int, help="override its batch size")
    parser.add_argument("--width", type=int, help="override build_resnet's width (the recipe's 64 is ResNet-9)")
    parser.add_argument("--precision", default="mixed_bfloat16", choices=["mixed_bfloat16", "float32"])
    parser.add_argument("--train-size", type=int)
    parser.add_argument("--test-size", type=int)
    parser.add_argument("--data-dir")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from cvtutor.recipes import get_recipe

    recipe = get_recipe("gpu-resnet9")
    changes = {"epochs": args.epochs, "batch_size": args.batch_size}
    recipe = recipe.replace(**{k: v for k, v in changes.items() if v is not None})
    if args.width is not None:
        recipe = recipe.replace(model_args={**recipe.model_kwargs, "width": args.width})
    run_id = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for seed in args.seeds:
        record = train(seed, recipe, args.train_size, args.test_size, args.data_dir, precision=args.precision)
        record["run_id"] = run_id
        path = write_record(record, args.out, f"gpu-resnet9-seed{seed}", data_dir=args.data_dir)
        print(f"wrote {path}: {record['test_accuracy']:.4f}, training {record['train_seconds']:.1f} s, "
              f"compile {record['compile_seconds']:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
