"""cvtutor.optimizers: SGD, momentum and Adam from their update rules equal keras.optimizers.SGD and
Adam applied to the same variables, step by step, and check their arguments."""

import keras
import numpy as np
import pytest

from cvtutor import optimizers as opt

STEPS = 20
CASES = {
    "sgd": (lambda: keras.optimizers.SGD(0.1), lambda p, g, s: opt.sgd_step(p, g, s, learning_rate=0.1)),
    "momentum": (lambda: keras.optimizers.SGD(0.05, momentum=0.8),
                 lambda p, g, s: opt.momentum_step(p, g, s, learning_rate=0.05, momentum=0.8)),
    "adam": (lambda: keras.optimizers.Adam(0.01), lambda p, g, s: opt.adam_step(p, g, s, learning_rate=0.01)),
    "adam, other betas": (lambda: keras.optimizers.Adam(0.1, beta_1=0.5, beta_2=0.9, epsilon=1e-3),
                          lambda p, g, s: opt.adam_step(p, g, s, learning_rate=0.1, beta_1=0.5, beta_2=0.9,
                                                        epsilon=1e-3)),
}


@pytest.mark.parametrize("name", CASES)
def test_steps_equal_keras_optimizers(name):
    make_keras, step = CASES[name]
    rng = np.random.default_rng(len(name))
    params = [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(4,)).astype(np.float32)]
    variables = [keras.Variable(p) for p in params]
    optimizer, state = make_keras(), None
    for _ in range(STEPS):
        # gradients of very different scales, as real ones are
        grads = [(rng.normal(size=p.shape) * 10 ** rng.uniform(-3, 1)).astype(np.float32) for p in params]
        params, state = step(params, grads, state)
        optimizer.apply(grads, variables)
        for mine, variable in zip(params, variables):
            assert mine.dtype == np.float32
            np.testing.assert_allclose(mine, keras.ops.convert_to_numpy(variable), rtol=1e-6, atol=1e-7)
    if name.startswith("adam"):
        assert state.step == STEPS
        np.testing.assert_allclose(state.m[0], keras.ops.convert_to_numpy(optimizer._momentums[0]), rtol=1e-6)
        np.testing.assert_allclose(state.v[1], keras.ops.convert_to_numpy(optimizer._velocities[1]), rtol=1e-6)


def test_nothing_changes_in_place():
    params, grads = [np.ones(3)], [np.full(3, 2.0)]
    for step in (opt.sgd_step, opt.momentum_step, opt.adam_step):
        new, _ = step(params, grads)
        assert np.all(params[0] == 1) and np.all(grads[0] == 2) and not np.shares_memory(new[0], params[0])


def test_momentum_is_polyaks_heavy_ball_at_a_constant_rate():
    rng = np.random.default_rng(0)
    w, state, polyak_w, polyak_v = [np.zeros(5)], None, np.zeros(5), np.zeros(5)
    for _ in range(10):
        g = rng.normal(size=5)
        w, state = opt.momentum_step(w, [g], state, learning_rate=0.1, momentum=0.9)
        polyak_v = 0.9 * polyak_v + g
        polyak_w = polyak_w - 0.1 * polyak_v
    np.testing.assert_allclose(w[0], polyak_w, rtol=1e-12)


def test_adam_is_algorithm_1_with_a_rescaled_epsilon():
    rng = np.random.default_rng(1)
    w, state = [rng.normal(size=6)], None
    w1, m, v = w[0].copy(), np.zeros(6), np.zeros(6)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    for t in range(1, 6):
        g = rng.normal(size=6) * 1e-6  # small gradients, where epsilon matters
        w, state = opt.adam_step(w, [g], state, learning_rate=lr, epsilon=eps * np.sqrt(1 - b2 ** t))
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g ** 2
        w1 = w1 - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        np.testing.assert_allclose(w[0], w1, rtol=1e-12)


def test_adams_first_step_has_the_learning_rate_as_its_size():
    for scale in (1e-3, 1.0, 1e3):
        (w,), _ = opt.adam_step([np.zeros(4)], [np.array([1.0, -2.0, 3.0, -4.0]) * scale], learning_rate=0.01,
                                epsilon=0.0)
        np.testing.assert_allclose(w, [-0.01, 0.01, -0.01, 0.01])


def test_bad_arguments_name_the_argument():
    with pytest.raises(TypeError, match="params must be a list or tuple of arrays, got ndarray"):
        opt.sgd_step(np.ones(3), [np.ones(3)])
    with pytest.raises(ValueError, match=r"grads\[0\] must have the shape of params\[0\] \(3,\), got shape \(4,\)"):
        opt.sgd_step([np.ones(3)], [np.ones(4)])
    with pytest.raises(ValueError, match=r"grads must hold one gradient per parameter \(1\), got 2"):
        opt.adam_step([np.ones(3)], [np.ones(3), np.ones(3)])
    with pytest.raises(ValueError, match=r"params\[0\] must be a floating-point array, got dtype int64"):
        opt.sgd_step([np.ones(3, dtype=np.int64)], [np.ones(3)])
    with pytest.raises(ValueError, match=r"learning_rate must be in \(0, inf\), got 0.0"):
        opt.sgd_step([np.ones(3)], [np.ones(3)], learning_rate=0)
    with pytest.raises(TypeError, match="learning_rate must be a number, got str '0.1'"):
        opt.momentum_step([np.ones(3)], [np.ones(3)], learning_rate="0.1")
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1.0"):
        opt.momentum_step([np.ones(3)], [np.ones(3)], momentum=1.0)
    with pytest.raises(ValueError, match=r"beta_2 must be in \[0, 1\), got 1.5"):
        opt.adam_step([np.ones(3)], [np.ones(3)], beta_2=1.5)
    with pytest.raises(TypeError, match="state must be None or the AdamState of the previous step, got MomentumState"):
        opt.adam_step([np.ones(3)], [np.ones(3)], opt.MomentumState((np.zeros(3),)))
    with pytest.raises(ValueError, match="state.velocity must hold one array per parameter"):
        opt.momentum_step([np.ones(3)], [np.ones(3)], opt.MomentumState((np.zeros(4),)))
    with pytest.raises(TypeError, match="state must be None for plain SGD"):
        opt.sgd_step([np.ones(3)], [np.ones(3)], state=0)
