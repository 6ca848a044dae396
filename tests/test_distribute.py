"""cvtutor.distribute: two logical CPUs under MirroredStrategy train like one device.

Logical devices must be configured before TensorFlow initialises its devices,
so the training comparison runs in a fresh Python process. The single device
is a one-device MirroredStrategy: with a strategy, Keras draws one batch to
build the model before training, which uses up the first reshuffle of the
data, so a plain ``fit`` with the same seed sees the batches in another order.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from cvtutor.distribute import fit_distributed, logical_cpus, strategy

SCRIPT = textwrap.dedent(
    """
    import json
    from cvtutor.distribute import fit_distributed, logical_cpus, strategy

    devices = logical_cpus(2)  # first, before TensorFlow touches its devices

    import keras
    import numpy as np
    from cvtutor.training import compile_model, set_seed

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 8, 8, 3), dtype=np.uint8)
    y = (x[..., 0].mean(axis=(1, 2)) > 127).astype(np.int64)  # bright red or not: learnable

    def build():
        inputs = keras.Input((8, 8, 3))
        h = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
        h = keras.layers.Flatten()(h)
        model = keras.Model(inputs, keras.layers.Dense(2)(h))
        return compile_model(model, optimizer=keras.optimizers.SGD(0.1))

    class StepLosses(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.losses = []
        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(logs["loss"]))  # running mean over the epoch

    def run(devices):
        s = strategy(devices=devices)  # one device or two, the same Keras code path
        set_seed(0)
        losses = StepLosses()
        # validation_split=0: all 48 images train, 3 whole steps of 16 an epoch (a split would leave
        # an uneven last batch, which two replicas cannot share: see fit_distributed).
        model, _ = fit_distributed(build, (x[:48], y[:48]), (x[48:], y[48:]), epochs=2, batch_size=16,
                                   strategy=s, seed=0, verbose=0, callbacks=[losses], validation_split=0)
        return losses.losses, [np.asarray(w).tolist() for w in model.get_weights()], s.num_replicas_in_sync

    too_late = ""
    try:
        logical_cpus(3)
    except RuntimeError as error:
        too_late = str(error)
    mirrored, single = run(None), run(["/cpu:0"])
    print(json.dumps({"devices": devices, "again": logical_cpus(2), "too_late": too_late,
                      "mirrored": mirrored, "single": single}))
    """
)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute needs the TensorFlow backend")
@pytest.mark.slow
def test_two_logical_cpus_train_like_one_device():
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(out["devices"]) == 2 and out["again"] == out["devices"]
    assert "came too late" in out["too_late"] and "with 2 logical CPU(s)" in out["too_late"]

    (m_losses, m_weights, m_replicas), (s_losses, s_weights, s_replicas) = out["mirrored"], out["single"]
    assert (m_replicas, s_replicas) == (2, 1)
    assert len(m_losses) == len(s_losses) == 6  # 2 epochs x 3 steps of 16
    np.testing.assert_allclose(m_losses, s_losses, rtol=1e-4)
    assert m_losses[-1] != m_losses[0]  # it trained
    for a, b in zip(m_weights, s_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        logical_cpus(0)
    with pytest.raises(TypeError, match="n must be a positive integer, got str '2'"):
        logical_cpus("2")
    with pytest.raises(ValueError, match="kind must be one of 'mirrored', got 'tpu'"):
        strategy("tpu")
    with pytest.raises(TypeError, match="kind must be one of 'mirrored', got NoneType None"):
        strategy(None)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="checks the TensorFlow-backend argument checks")
def test_fit_distributed_checks_its_arguments():
    with pytest.raises(TypeError, match="build_fn must be a function returning a keras.Model, got str 'cnn'"):
        fit_distributed("cnn", None, None, 1, 16, strategy=None)
    with pytest.raises(TypeError, match="strategy must be a tf.distribute.Strategy, got str 'mirrored'"):
        fit_distributed(lambda: None, None, None, 1, 16, strategy="mirrored")


@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="checks the error on other backends")
def test_fit_distributed_needs_the_tensorflow_backend():
    with pytest.raises(RuntimeError, match="tf.distribute needs the tensorflow Keras backend, got '"):
        fit_distributed(lambda: None, None, None, 1, 16, strategy=None)
