"""Data-parallel training with ``tf.distribute`` (TensorFlow backend only).

``MirroredStrategy`` keeps a copy of the model on each device; every step,
each copy takes its share of the global batch, and the gradients are summed
across copies before one identical update. With the loss averaged over the
global batch this is the same computation as one device on the whole batch,
up to the order of float additions. A laptop shows it by splitting its CPU
into logical devices (call :func:`logical_cpus` first, in a fresh process)::

    logical_cpus(2)
    model, result = fit_distributed(build_cnn, train, test, epochs=1, batch_size=64, strategy=strategy())

``MultiWorkerMirroredStrategy`` is the same code path across machines: each
worker runs this program with ``TF_CONFIG`` naming the cluster and its own
role, and ``tf.distribute.MultiWorkerMirroredStrategy()`` replaces
:func:`strategy`; nothing else changes.
"""

from __future__ import annotations

import numbers

import keras

__all__ = ["logical_cpus", "strategy", "fit_distributed"]


def logical_cpus(n):
    """Split the host CPU into ``n`` logical devices, to try multi-device code on one machine.

    TensorFlow fixes its devices when it first uses them, so call this first
    thing in a fresh process (before any tensor, dataset or model is made).

    Args:
        n: number of logical CPU devices, a positive integer.

    Returns:
        the logical device names, e.g. ``["/device:CPU:0", "/device:CPU:1"]``.

    Raises:
        RuntimeError: TensorFlow's devices were already initialised with a
            different number of CPUs.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
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
    """
    if kind != "mirrored":
        raise ValueError(f"kind must be 'mirrored', got {kind!r}")
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
            ``augment``, ``verbose``, ``callbacks``).

    Returns:
        ``(model, result)``: the trained model and its
        :class:`cvtutor.training.TrainResult`.
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"tf.distribute needs the tensorflow Keras backend, got {keras.backend.backend()!r}")
    import tensorflow as tf

    from cvtutor.training import compile_model, fit

    if not callable(build_fn):
        raise ValueError(f"build_fn must be a function returning a keras.Model, got {type(build_fn).__name__}")
    if not isinstance(strategy, tf.distribute.Strategy):
        raise ValueError(f"strategy must be a tf.distribute.Strategy, got {type(strategy).__name__}")
    with strategy.scope():
        model = build_fn()
        if not isinstance(model, keras.Model):
            raise ValueError(f"build_fn must return a keras.Model, got {type(model).__name__}")
        if not model.compiled:
            compile_model(model)
    return model, fit(model, train, test, epochs=epochs, batch_size=batch_size, **fit_kwargs)
