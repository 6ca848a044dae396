"""Data-parallel training with ``tf.distribute`` (TensorFlow backend only).

``MirroredStrategy`` keeps a copy of the model on each device; every step,
each copy takes its share of the global batch, and the gradients are summed
across copies before one identical update. With the loss averaged over the
global batch this is the same computation as one device on the whole batch,
up to the order of float additions. A laptop shows it by splitting its CPU
into logical devices (call :func:`logical_cpus` first, in a fresh process)::

    logical_cpus(2)
    model, result = fit_distributed(build_cnn, train, test, epochs=1, batch_size=64, strategy=strategy())

``MultiWorkerMirroredStrategy`` is the same algorithm across processes or
machines: each worker runs the same program with ``TF_CONFIG`` naming the
cluster and its own role. :func:`train_worker` is such a program
(``python -m cvtutor.distribute worker``) and :func:`run_workers` starts
several on one machine; with Keras 3 it trains with a custom loop, because
``model.fit`` (so :func:`fit_distributed`) fails under a multi-worker
strategy (see :func:`train_worker`). :func:`train_data_parallel` does the
same on JAX with ``keras.distribution.DataParallel``.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from cvtutor import checks

__all__ = [
    "logical_cpus", "strategy", "fit_distributed",
    "read_tf_config", "train_worker", "free_ports", "run_workers", "WorkerError",
    "train_data_parallel", "data_parallel_losses", "main",
]


def logical_cpus(n):
    """Split the host CPU into ``n`` logical devices, to try multi-device code on one machine.

    TensorFlow fixes its devices when it first uses them, so call this first
    thing in a fresh process (before any tensor, dataset or model is made).

    Args:
        n: number of logical CPU devices, a positive integer.

    Returns:
        the logical device names, e.g. ``["/device:CPU:0", "/device:CPU:1"]``.

    Raises:
        TypeError: ``n`` is not an integer.
        ValueError: ``n`` is below 1.
        RuntimeError: TensorFlow's devices were already initialised with a
            different number of CPUs.
    """
    n = checks.positive_int("n", n)
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError as error:
        current = tf.config.list_logical_devices("CPU")
        if len(current) != n:
            raise RuntimeError(
                f"logical_cpus({n}) came too late: TensorFlow has already initialised its devices, "
                f"with {len(current)} logical CPU(s). Call it first thing in a fresh process, "
                f"before any tensor, dataset or model is made."
            ) from error
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def strategy(kind="mirrored", devices=None):
    """A ``tf.distribute`` strategy for :func:`fit_distributed`.

    Args:
        kind: ``"mirrored"`` (one machine, several devices). For several
            machines use ``tf.distribute.MultiWorkerMirroredStrategy()``; see
            the module docstring.
        devices: device names, e.g. ``["/cpu:0", "/cpu:1"]``. Default: every
            GPU, or every logical CPU when there is no GPU.

    Returns:
        a ``tf.distribute.MirroredStrategy``.

    Raises:
        TypeError: ``kind`` is not a string.
        ValueError: ``kind`` is not ``"mirrored"``.
    """
    checks.one_of("kind", kind, ("mirrored",))
    import tensorflow as tf

    if devices is None:
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
            d.name for d in tf.config.list_logical_devices("CPU")
        ]
    return tf.distribute.MirroredStrategy(list(devices))


def fit_distributed(build_fn, train, test, epochs, batch_size, strategy, **fit_kwargs):
    """Build and compile a model inside ``strategy.scope()``, then train it.

    Variables made inside the scope are mirrored on every device. Keras
    splits each batch of cvtutor's ``tf.data`` pipeline across the replicas,
    so ``batch_size`` is the **global** batch: with 2 replicas and 64, each
    device sees 32 images a step and the result matches one device with 64.

    With a strategy, Keras first draws one batch to build the model, which
    uses up one reshuffle of the training data: compare against a one-device
    ``strategy(devices=["/cpu:0"])`` run, not a plain
    :func:`cvtutor.training.fit`, to get the same batches in the same order.

    Args:
        build_fn: called with no arguments, returns a ``keras.Model`` whose
            outputs are logits; compiled with
            :func:`cvtutor.training.compile_model` unless it compiled the model itself.
        train, test: ``(images, labels)``; uint8 images ``(N, H, W, C)``, labels ``(N,)``.
        epochs: passes over the training set.
        batch_size: global batch size (all replicas together).
        strategy: a ``tf.distribute.Strategy``, e.g. from :func:`strategy`.
        **fit_kwargs: passed to :func:`cvtutor.training.fit` (``seed``,
            ``augment``, ``verbose``, ``callbacks``, ``validation_split``).
            With Keras 3 on TensorFlow a last batch that does not split evenly
            across the replicas fails (``InvalidArgumentError`` from ``AddN``):
            choose sizes so that the training images ``fit`` keeps after its
            validation split are a multiple of ``batch_size``, or pass
            ``validation_split=0``.

    Returns:
        ``(model, result)``: the trained model and its
        :class:`cvtutor.training.TrainResult`.

    Raises:
        RuntimeError: the Keras backend is not TensorFlow.
        TypeError: ``build_fn`` is not callable or returns no ``keras.Model``, ``strategy`` is
            not a ``tf.distribute.Strategy``, or as :func:`cvtutor.training.fit`.
        ValueError: as :func:`cvtutor.training.fit` (``epochs``, the images and labels).
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"tf.distribute needs the tensorflow Keras backend, got {keras.backend.backend()!r}")
    import tensorflow as tf

    from cvtutor.training import compile_model, fit

    checks.instance("build_fn", build_fn, Callable, "a function returning a keras.Model")
    checks.instance("strategy", strategy, tf.distribute.Strategy, "a tf.distribute.Strategy")
    with strategy.scope():
        model = checks.instance("build_fn()", build_fn(), keras.Model, "a keras.Model")
        if not model.compiled:
            compile_model(model)
    return model, fit(model, train, test, epochs=epochs, batch_size=batch_size, **fit_kwargs)


# --- Beyond one machine: MultiWorkerMirroredStrategy, one process per worker ---------------------

#: The toy problem every worker trains: images this size, two classes.
TOY_SHAPE = (8, 8, 3)


def _toy_data(steps, global_batch, seed):
    """``steps * global_batch`` fixed synthetic images in [0, 1] and labels: bright red or not."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.random((steps * global_batch, *TOY_SHAPE), dtype=np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > 0.5).astype(np.int32)
    return x, y


def _toy_model():
    """A tiny CNN with logits (no dropout: nothing random in training itself)."""
    inputs = keras.Input(TOY_SHAPE)
    h = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    h = keras.layers.Flatten()(h)
    return keras.Model(inputs, keras.layers.Dense(2)(h))


def _check_run(steps, global_batch, learning_rate, parts, what):
    checks.positive_int("steps", steps)
    checks.positive_int("global_batch", global_batch)
    if global_batch % parts:
        raise ValueError(f"global_batch ({global_batch}) must be divisible by the number of {what} ({parts})")
    checks.scalar("learning_rate", learning_rate, minimum=0, include_minimum=False)


def _train_steps(strategy, model, optimizer, dataset, steps, global_batch):
    """A custom training loop under ``strategy``: ``steps`` steps, each step's loss over the global batch.

    The loop of TensorFlow's tutorial *Custom training loop with Keras and
    MultiWorkerMirroredStrategy*
    (https://www.tensorflow.org/tutorials/distribute/multi_worker_with_ctl):
    each replica sums its examples' losses and divides by the **global**
    batch (``tf.nn.compute_average_loss``), the optimizer sums the replicas'
    gradients (an all-reduce across workers), and the step's loss is the
    sum of the replicas' shares.
    """
    import tensorflow as tf

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            per_example = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function
    def train_step(iterator):
        per_replica = strategy.run(replica_step, args=next(iterator))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    iterator = iter(strategy.experimental_distribute_dataset(dataset))
    return [float(train_step(iterator)) for _ in range(steps)]


def read_tf_config(environ=None):
    """This worker's ``TF_CONFIG``: the cluster's workers and this worker's index.

    ``TF_CONFIG`` is the JSON that ``tf.distribute.MultiWorkerMirroredStrategy``
    reads when it is made, so it must be set before the strategy is created::

        {"cluster": {"worker": ["host1:12345", "host2:12345"]},
         "task": {"type": "worker", "index": 0}}

    Args:
        environ: the environment to read; default ``os.environ``.

    Returns:
        ``(workers, index)``: the list of ``"host:port"`` addresses and this
        worker's position in it (0 is the chief).

    Raises:
        ValueError: ``TF_CONFIG`` is missing, not JSON, or does not name a
            ``worker`` task inside the cluster.
    """
    import json
    import os

    text = (os.environ if environ is None else environ).get("TF_CONFIG")
    if not text:
        raise ValueError(
            "TF_CONFIG is not set: each worker needs it, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
        )
    try:
        config = json.loads(text)
        workers, task = config["cluster"]["worker"], config["task"]
        index = task["index"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"TF_CONFIG must be JSON with cluster.worker and task.index ({error}): {text!r}") from None
    if not isinstance(workers, list) or not workers or not all(isinstance(w, str) for w in workers):
        raise ValueError(f"TF_CONFIG's cluster.worker must be a non-empty list of 'host:port', got {workers!r}")
    if task.get("type") != "worker":
        raise ValueError(f"TF_CONFIG's task.type must be 'worker', got {task.get('type')!r}")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(workers):
        raise ValueError(f"TF_CONFIG's task.index must be 0..{len(workers) - 1}, got {index!r}")
    return workers, index


def train_worker(output, steps=4, global_batch=16, seed=0, learning_rate=0.1):
    """What each worker process runs: train the toy model under ``MultiWorkerMirroredStrategy``.

    Every worker runs this same function (the strategy needs the same
    program everywhere: each step's gradients are summed across workers by
    collective operations that every worker must join). It reads
    ``TF_CONFIG`` (:func:`read_tf_config`), makes
    ``tf.distribute.MultiWorkerMirroredStrategy()`` before any other
    TensorFlow work, and trains a tiny CNN on fixed synthetic data for
    ``steps`` steps of ``global_batch`` images **in total across workers**.

    Data: each worker builds the whole dataset, batched by the global batch;
    the strategy splits every global batch into one slice per replica
    (``AutoShardPolicy.DATA``, set explicitly, because the data comes from
    memory and not from files). So the workers together see exactly the
    batches one process sees, and, with the loss averaged over the global
    batch and the gradients summed across workers, they take the same steps.

    Training is a custom loop (``strategy.run``; see ``_train_steps`` in the source),
    not ``model.fit``: with Keras 3, ``fit`` under a two-worker
    ``MultiWorkerMirroredStrategy`` fails before its first step ("Attempt to
    convert a value (PerReplica...) to a Tensor", Keras issue
    https://github.com/keras-team/keras/issues/20585, open for Keras 3.15 with
    TensorFlow 2.21), so TensorFlow's *Multi-worker training with Keras*
    tutorial (https://www.tensorflow.org/tutorials/distribute/multi_worker_with_keras)
    does not run as written; one worker, or ``MirroredStrategy``, is fine.

    Args:
        output: path of the JSON file this worker writes (atomically):
            ``{"worker", "num_workers", "replicas", "losses"}``.
        steps: training steps.
        global_batch: images per step, all workers together; divisible by
            the number of replicas.
        seed: seed of the data and of the initial weights (the same on every worker).
        learning_rate: SGD's learning rate.

    Returns:
        the record written to ``output``.

    Raises:
        TypeError: an argument of the wrong kind (``steps`` or ``global_batch`` not an integer,
            ``learning_rate`` not a number).
        ValueError: ``TF_CONFIG`` is missing or malformed, or a bad argument.
        RuntimeError: the Keras backend is not TensorFlow.
    """
    import json

    workers, index = read_tf_config()
    _check_run(steps, global_batch, learning_rate, len(workers), "workers")
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"MultiWorkerMirroredStrategy needs the tensorflow Keras backend, got {keras.backend.backend()!r}")
    import tensorflow as tf

    from cvtutor.files import atomic_write

    mwms = tf.distribute.MultiWorkerMirroredStrategy()  # first: it reads TF_CONFIG and starts this worker's server
    if global_batch % mwms.num_replicas_in_sync:
        raise ValueError(f"global_batch ({global_batch}) must be divisible by the replicas ({mwms.num_replicas_in_sync})")
    keras.utils.set_random_seed(seed)
    x, y = _toy_data(steps, global_batch, seed)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch).with_options(options)
    with mwms.scope():
        model = _toy_model()
        optimizer = keras.optimizers.SGD(learning_rate)
        optimizer.build(model.trainable_variables)
    record = {
        "worker": index,
        "num_workers": len(workers),
        "replicas": int(mwms.num_replicas_in_sync),
        "losses": _train_steps(mwms, model, optimizer, data, steps, global_batch),
    }
    with atomic_write(output, "w") as f:
        json.dump(record, f)
    return record


def free_ports(n, host="127.0.0.1"):
    """``n`` distinct TCP ports free on ``host`` right now (the system picks them).

    Another program may take one before a worker binds it; :func:`run_workers`
    then starts again on new ports.
    """
    import socket

    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


#: stderr that means a worker could not bind its port (another program took it): start again.
_PORT_TAKEN = ("address already in use", "failed to add port", "could not start grpc server", "unavailable: failed")


class WorkerError(RuntimeError):
    """A worker process failed or ran out of time; the message names it and ends with its last stderr lines."""


def _tail(path, lines=12):
    with open(path, encoding="utf-8", errors="replace") as f:
        return "\n".join(f.read().splitlines()[-lines:])


def _stop(processes):
    """Kill every process (its whole process group) still running, and reap them all."""
    import os
    import signal

    for p in processes:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                p.kill()
    for p in processes:
        p.wait()


def run_workers(num_workers=2, steps=4, global_batch=16, seed=0, learning_rate=0.1, timeout=120.0,
                host="127.0.0.1", attempts=3):
    """Start ``num_workers`` worker processes on this machine, wait for them, return their records.

    Each worker is its own Python process (``python -m cvtutor.distribute
    worker ...``, i.e. :func:`train_worker`) with its own ``TF_CONFIG``
    naming the same cluster of loopback addresses on free ports and its own
    index, the way it would run on separate machines. GPUs are hidden from
    the workers (``CUDA_VISIBLE_DEVICES=""``) so they do not fight over one.

    If a worker fails, every other worker is killed at once (they would
    otherwise wait for it forever in the next collective operation); if they
    run past ``timeout``, all are killed. Every process started here is gone
    when this returns or raises. If a worker could not bind its port
    (another program took it after :func:`free_ports` chose it), all start
    again on new ports, up to ``attempts`` times.

    ``run_workers(1, ...)`` is the one-process reference: the same program
    on a cluster of one worker, with the same global batch.

    Args:
        num_workers: worker processes, a positive integer.
        steps, global_batch, seed, learning_rate: as :func:`train_worker`.
        timeout: seconds for the whole run.
        host: the address the workers listen on.
        attempts: starts on fresh ports when a port was taken.

    Returns:
        one record per worker, in index order (see :func:`train_worker`);
        ``records[0]["losses"]`` are the per-step losses.

    Raises:
        TypeError: an argument of the wrong kind (a count that is not an integer, a
            ``learning_rate`` or ``timeout`` that is not a number).
        ValueError: a count below 1, a ``global_batch`` not divisible by ``num_workers``, or a
            ``learning_rate`` or ``timeout`` that is not positive.
        WorkerError: a worker failed (named, with its last stderr lines) or
            the run took longer than ``timeout`` seconds.
    """
    import json
    import os
    import subprocess
    import sys
    import tempfile
    import time

    num_workers = checks.positive_int("num_workers", num_workers)
    _check_run(steps, global_batch, learning_rate, num_workers, "workers")
    timeout = checks.scalar("timeout", timeout, minimum=0, include_minimum=False)
    deadline = time.monotonic() + timeout
    for attempt in range(1, attempts + 1):
        with tempfile.TemporaryDirectory(prefix="cvtutor-workers-") as tmp:
            cluster = [f"{host}:{port}" for port in free_ports(num_workers, host)]
            processes, errs = [], []
            try:
                for index in range(num_workers):
                    config = {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}
                    env = dict(os.environ, TF_CONFIG=json.dumps(config), KERAS_BACKEND="tensorflow",
                               CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
                    command = [sys.executable, "-m", "cvtutor.distribute", "worker",
                               "--output", os.path.join(tmp, f"worker-{index}.json"), "--steps", str(steps),
                               "--global-batch", str(global_batch), "--seed", str(seed),
                               "--learning-rate", repr(float(learning_rate))]
                    errs.append(os.path.join(tmp, f"worker-{index}.err"))
                    with open(errs[-1], "wb") as err:
                        processes.append(subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                                          stdout=subprocess.DEVNULL, stderr=err,
                                                          start_new_session=True))
                failed = None
                while failed is None and any(p.poll() is None for p in processes):
                    failed = next((i for i, p in enumerate(processes) if p.poll() not in (None, 0)), None)
                    running = [i for i, p in enumerate(processes) if p.poll() is None]
                    if failed is None and running and time.monotonic() > deadline:
                        raise WorkerError(
                            f"workers {running} still running after {timeout:g} s; all stopped. "
                            f"Worker {running[0]}'s last stderr lines:\n{_tail(errs[running[0]])}"
                        )
                    time.sleep(0.1)
                if failed is None:
                    failed = next((i for i, p in enumerate(processes) if p.returncode != 0), None)
                if failed is not None:
                    _stop(processes)
                    tail = _tail(errs[failed])
                    if attempt < attempts and any(s in tail.lower() for s in _PORT_TAKEN):
                        continue  # a port was taken between free_ports and the bind: new ports
                    raise WorkerError(
                        f"worker {failed} of {num_workers} exited with status {processes[failed].returncode}; "
                        f"all stopped. Its last stderr lines:\n{tail}"
                    )
                records = []
                for index in range(num_workers):
                    with open(os.path.join(tmp, f"worker-{index}.json"), encoding="utf-8") as f:
                        records.append(json.load(f))
                return records
            finally:
                _stop(processes)
    raise AssertionError("unreachable")


# --- The same on JAX: keras.distribution.DataParallel ------------------------------------------


def train_data_parallel(num_devices=2, steps=4, global_batch=16, seed=0, learning_rate=0.1, verbose=0):
    """Train the toy model of :func:`train_worker` with ``keras.distribution.DataParallel`` (JAX).

    Keras's backend-neutral distribution API: ``DataParallel(devices=...)``
    copies the variables to every device and splits each batch along its
    first axis; ``keras.distribution.set_distribution`` makes it the
    default for models built afterwards. The loss is computed over the
    whole (sharded) global batch, so the per-step losses equal one device's
    up to the order of float additions. See
    https://keras.io/api/distribution/data_parallel/ and the guide
    https://keras.io/guides/distribution/.

    On one machine, ``XLA_FLAGS=--xla_force_host_platform_device_count=2``
    splits the CPU into two JAX devices; it must be set before JAX starts,
    so run this in a fresh process (:func:`data_parallel_losses` does).

    Args:
        num_devices: how many of ``jax.devices()`` to use.
        steps, global_batch, seed, learning_rate: as :func:`train_worker`.
        verbose: Keras ``fit`` verbosity.

    Returns:
        ``{"devices": n, "losses": [...]}``, one loss per step.

    Raises:
        RuntimeError: the Keras backend is not JAX, or there are fewer devices than ``num_devices``.
        TypeError: a count that is not an integer, or a ``learning_rate`` that is not a number.
        ValueError: a count below 1, a ``global_batch`` not divisible by ``num_devices``, or a
            ``learning_rate`` that is not positive.
    """
    num_devices = checks.positive_int("num_devices", num_devices)
    _check_run(steps, global_batch, learning_rate, num_devices, "devices")
    if keras.backend.backend() != "jax":
        raise RuntimeError(f"keras.distribution.DataParallel is used here on the jax Keras backend, got {keras.backend.backend()!r}")
    import jax

    devices = jax.devices()
    if len(devices) < num_devices:
        raise RuntimeError(
            f"{num_devices} devices asked, JAX has {len(devices)}: on a CPU, set "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={num_devices} before JAX starts"
        )
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices[:num_devices]))
    try:
        keras.utils.set_random_seed(seed)
        x, y = _toy_data(steps, global_batch, seed)
        model = _toy_model()
        model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        # one step per Keras epoch: Keras keeps one iterator across epochs when
        # steps_per_epoch is set and resets its loss mean every epoch, so
        # history["loss"] holds each step's own loss, not a running mean
        history = model.fit(x, y, batch_size=global_batch, shuffle=False, epochs=steps, steps_per_epoch=1,
                            verbose=verbose)
        return {"devices": num_devices, "losses": [float(v) for v in history.history["loss"]]}
    finally:
        keras.distribution.set_distribution(None)


def data_parallel_losses(num_devices=2, steps=4, global_batch=16, seed=0, learning_rate=0.1, timeout=120.0):
    """Run :func:`train_data_parallel` in a fresh JAX process with ``num_devices`` host (CPU) devices.

    The process gets ``KERAS_BACKEND=jax``, ``JAX_PLATFORMS=cpu`` and
    ``--xla_force_host_platform_device_count`` added to ``XLA_FLAGS``.

    Returns:
        the per-step losses.

    Raises:
        TypeError: a count that is not an integer, or a ``learning_rate`` that is not a number.
        ValueError: a count below 1, a ``global_batch`` not divisible by ``num_devices``, or a
            ``learning_rate`` that is not positive.
        WorkerError: the process failed (with its last stderr lines) or ran past ``timeout``.
    """
    import json
    import os
    import subprocess
    import sys

    num_devices = checks.positive_int("num_devices", num_devices)
    _check_run(steps, global_batch, learning_rate, num_devices, "devices")
    flags = os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={num_devices}"
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", XLA_FLAGS=flags.strip())
    command = [sys.executable, "-m", "cvtutor.distribute", "jax", "--devices", str(num_devices),
               "--steps", str(steps), "--global-batch", str(global_batch), "--seed", str(seed),
               "--learning-rate", repr(float(learning_rate))]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise WorkerError(f"the JAX process ran past {timeout:g} s and was stopped") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.splitlines()[-12:])
        raise WorkerError(f"the JAX process exited with status {done.returncode}. Its last stderr lines:\n{tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])["losses"]


def main(argv=None):
    """``python -m cvtutor.distribute worker|jax ...``: one worker of a multi-worker run, or the JAX run.

    ``worker`` is what each machine of a cluster runs, with its own
    ``TF_CONFIG`` (see the README's *Training across machines*)::

        TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}' \\
            python -m cvtutor.distribute worker --output losses-0.json --steps 4 --global-batch 16
    """
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m cvtutor.distribute", description=main.__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="train as one worker of TF_CONFIG's cluster (MultiWorkerMirroredStrategy)")
    worker.add_argument("--output", required=True, help="JSON file for this worker's per-step losses")
    jax_run = commands.add_parser("jax", help="train with keras.distribution.DataParallel on JAX; prints JSON")
    jax_run.add_argument("--devices", type=int, default=2)
    for sub in (worker, jax_run):
        sub.add_argument("--steps", type=int, default=4)
        sub.add_argument("--global-batch", type=int, default=16)
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--learning-rate", type=float, default=0.1)
    args = parser.parse_args(argv)
    try:
        if args.command == "worker":
            train_worker(args.output, args.steps, args.global_batch, args.seed, args.learning_rate)
        else:
            print(json.dumps(train_data_parallel(args.devices, args.steps, args.global_batch, args.seed,
                                                 args.learning_rate)))
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
