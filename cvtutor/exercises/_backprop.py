"""Exercises of chapter 1.3.4 (backpropagation and the optimisers).

References: NumPy versions of a dense layer's backward pass through a ReLU, of Adam as Algorithm 1
of Kingma and Ba writes it, and of ``keras.optimizers.RMSprop``'s step. ``tests/test_exercises.py``
checks them against ``tf.GradientTape``, :func:`cvtutor.optimizers.adam_step` and
``keras.optimizers.RMSprop``.
"""

from __future__ import annotations

import numpy as np

from cvtutor.exercises._basics import normal
from cvtutor.exercises._core import Exercise, register

# A dense layer with ReLU, backwards -----------------------------------------------


def dense_relu_backward(x, w, b, dy):
    """Worked solution of 1.3.4-dense-relu-backward: the gradients of ``y = ReLU(x w + b)``.

    With ``z = x w + b``, the ReLU passes the upstream gradient where ``z > 0`` and stops it
    elsewhere (Keras's ReLU has gradient 0 at exactly 0), so ``dz = dy * (z > 0)``; then the dense
    layer's rule: ``dx = dz w^T``, ``dw = x^T dz``, ``db`` = ``dz`` summed over the batch.
    """
    dz = dy * (x @ w + b > 0)
    return dz @ w.T, x.T @ dz, dz.sum(axis=0)


def _dense_no_mask(x, w, b, dy):
    return dy @ w.T, x.T @ dy, dy.sum(axis=0)


def _dense_mean_bias(x, w, b, dy):
    dx, dw, db = dense_relu_backward(x, w, b, dy)
    return dx, dw, db / len(x)


def _dense_mask_from_input(x, w, b, dy):
    dz = dy * (dy > 0)  # "the ReLU's gradient" taken of the upstream gradient, not of z
    return dz @ w.T, x.T @ dz, dz.sum(axis=0)


def _dense_inputs(rng):
    cases = [(4, 5, 3), (1, 3, 2), (8, 16, 10), (3, 1, 1)]
    return [dict(x=normal(rng, n, d, scale=1.0), w=normal(rng, d, k, scale=0.7), b=normal(rng, k, scale=0.5),
                 dy=normal(rng, n, k)) for n, d, k in cases]


register(Exercise(
    id="1.3.4-dense-relu-backward", chapter="1.3.4", kind="function", returns="a triple (dx, dw, db) of arrays",
    signature="dense_relu_backward(x, w, b, dy)",
    title="Backwards through a dense layer and its ReLU",
    task="Write `dense_relu_backward(x, w, b, dy)` returning `(dx, dw, db)`, the gradients of the loss for "
         "`y = ReLU(x @ w + b)` (`x` `(N, d_in)`, `w` `(d_in, d_out)`, `b` `(d_out,)`) given the upstream gradient "
         "`dy = dL/dy` `(N, d_out)`, as `tf.GradientTape` computes them for `keras.layers.Dense(activation='relu')`.",
    hint="Go backwards one operation at a time. The ReLU lets the gradient through where its input "
         "`z = x @ w + b` was positive and stops it elsewhere: `dz = dy * (z > 0)`. Then apply the dense layer's "
         "rule from the chapter to `dz`; the bias is used by every example of the batch, so its gradient is a sum "
         "over the batch.",
    solution=dense_relu_backward,
    wrong={"the ReLU's mask left out": _dense_no_mask, "the bias gradient averaged over the batch": _dense_mean_bias,
           "the mask taken from dy instead of z": _dense_mask_from_input},
    inputs=_dense_inputs,
    reference=dense_relu_backward,
))


# Adam, as the paper writes it -------------------------------------------------------


def adam_paper_step(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    """Worked solution of 1.3.4-adam-paper: one step of Adam as Algorithm 1 of Kingma and Ba writes it.

    The moving averages are updated first; ``m`` and ``v`` started at zero, so at step ``t`` their
    bias corrections divide by ``1 - beta^t``; epsilon is added to the square root of the
    *corrected* second moment. Returns the new ``(w, m, v)``: the state keeps the uncorrected
    averages (the corrections are recomputed every step).
    """
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g**2
    m_hat = m / (1 - beta_1**t)
    v_hat = v / (1 - beta_2**t)
    return w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), m, v


def _adam_no_correction(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g**2
    return w - learning_rate * m / (np.sqrt(v) + epsilon), m, v


def _adam_keras_epsilon(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g**2
    alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return w - alpha * m / (np.sqrt(v) + epsilon), m, v


def _adam_corrected_state(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    m = (beta_1 * m + (1 - beta_1) * g) / (1 - beta_1**t)
    v = (beta_2 * v + (1 - beta_2) * g**2) / (1 - beta_2**t)
    return w - learning_rate * m / (np.sqrt(v) + epsilon), m, v


def _adam_inputs(rng):
    def case(shape, t, scale, lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        # m and v as they are after t - 1 steps of gradients of about this scale (zero at t = 1)
        warm = 1 - np.array([beta_1, beta_2]) ** (t - 1)
        return dict(w=normal(rng, *shape), g=normal(rng, *shape, scale=scale),
                    m=normal(rng, *shape, scale=scale) * warm[0], v=(normal(rng, *shape, scale=scale) ** 2) * warm[1],
                    t=t, learning_rate=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)

    return [case((3, 4), 1, 1.0), case((5,), 3, 0.1, lr=0.1), case((2, 3), 1, 1e-6, lr=0.1),
            case((4,), 1000, 2.0, beta_1=0.8, beta_2=0.99, epsilon=1e-3)]


register(Exercise(
    id="1.3.4-adam-paper", chapter="1.3.4", kind="function", returns="a triple (w, m, v) of arrays",
    signature="adam_paper_step(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon)",
    title="Adam as the paper writes it",
    task="Write `adam_paper_step(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon)` returning the new "
         "`(w, m, v)`: step `t` (counted from 1) of Adam as Algorithm 1 of Kingma and Ba writes it, with bias-corrected "
         "`m_hat` and `v_hat` and `epsilon` added to `sqrt(v_hat)`.",
    hint="Update the two moving averages first, `m = beta_1 m + (1 - beta_1) g` and likewise `v` with `g**2`. Then "
         "correct them for having started at zero, `m_hat = m / (1 - beta_1**t)` and `v_hat = v / (1 - beta_2**t)`, "
         "and step by `learning_rate * m_hat / (sqrt(v_hat) + epsilon)`. Return the uncorrected `m` and `v`: the "
         "next step corrects them again with its own `t`. The chapter's `adam_step` adds epsilon elsewhere.",
    solution=adam_paper_step,
    wrong={"no bias correction": _adam_no_correction,
           "Keras's form (epsilon added to the uncorrected sqrt(v))": _adam_keras_epsilon,
           "the corrected averages kept as the state": _adam_corrected_state},
    inputs=_adam_inputs,
    reference=adam_paper_step,
))


# RMSprop, as Keras computes it ---------------------------------------------------------


def rmsprop_step(w, g, v, learning_rate, rho, epsilon):
    """Worked solution of 1.3.4-rmsprop: one step of ``keras.optimizers.RMSprop`` (no momentum, not
    centred).

    ``v`` is a moving average of the squared gradients, ``v = rho v + (1 - rho) g^2``; the step
    divides the gradient by its root, ``w <- w - lr g / sqrt(v + epsilon)``: Keras adds epsilon
    *inside* the square root (Adam adds it outside). Returns the new ``(w, v)``.

    Source: Tieleman and Hinton, Coursera "Neural networks for machine learning", lecture 6.5, 2012;
    ``keras/src/optimizers/rmsprop.py``, ``update_step``.
    """
    v = rho * v + (1 - rho) * g**2
    return w - learning_rate * g / np.sqrt(v + epsilon), v


def _rmsprop_epsilon_outside(w, g, v, learning_rate, rho, epsilon):
    v = rho * v + (1 - rho) * g**2
    return w - learning_rate * g / (np.sqrt(v) + epsilon), v


def _rmsprop_no_one_minus_rho(w, g, v, learning_rate, rho, epsilon):
    v = rho * v + g**2
    return w - learning_rate * g / np.sqrt(v + epsilon), v


def _rmsprop_old_v(w, g, v, learning_rate, rho, epsilon):
    step = learning_rate * g / np.sqrt(v + epsilon)  # the step taken with last step's average
    return w - step, rho * v + (1 - rho) * g**2


def _rmsprop_inputs(rng):
    def case(shape, scale, lr=0.001, rho=0.9, epsilon=1e-7, fresh=False):
        v = np.zeros(shape) if fresh else normal(rng, *shape, scale=scale) ** 2
        return dict(w=normal(rng, *shape), g=normal(rng, *shape, scale=scale), v=v, learning_rate=lr, rho=rho,
                    epsilon=epsilon)

    return [case((3, 4), 1.0, lr=0.01), case((6,), 0.5, lr=0.1, fresh=True), case((2, 2), 1e-4, lr=0.01),
            case((5,), 3.0, lr=0.05, rho=0.5, epsilon=1e-2)]


register(Exercise(
    id="1.3.4-rmsprop", chapter="1.3.4", kind="function", returns="a pair (w, v) of arrays",
    signature="rmsprop_step(w, g, v, learning_rate, rho, epsilon)",
    title="RMSprop from its update rule",
    task="Write `rmsprop_step(w, g, v, learning_rate, rho, epsilon)` returning the new `(w, v)`: one step of "
         "`keras.optimizers.RMSprop(learning_rate, rho=rho, epsilon=epsilon)` (no momentum, not centred), where `v` "
         "is the moving average of the squared gradients.",
    hint="RMSprop is Adam without the first moment and without bias correction: update `v = rho v + (1 - rho) g**2` "
         "first, then divide the gradient by the root of the new `v`. Read `update_step` in Keras's "
         "`keras/src/optimizers/rmsprop.py` for where it puts `epsilon`: not where Adam does.",
    solution=rmsprop_step,
    wrong={"epsilon outside the square root (Adam's place)": _rmsprop_epsilon_outside,
           "no (1 - rho) on the new squared gradient": _rmsprop_no_one_minus_rho,
           "the step divided by the previous v": _rmsprop_old_v},
    inputs=_rmsprop_inputs,
    reference=rmsprop_step,
))
