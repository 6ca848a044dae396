"""SGD, momentum and Adam written from their update rules, in NumPy (chapter 1.3.4).

Each optimiser is a pure function ``step(params, grads, state, **hyperparameters) -> (params,
state)``: it takes the parameters (a list or tuple of arrays), their gradients (the same shapes) and
the optimiser's state from the previous step (``None`` on the first step), and returns new arrays
and the new state; nothing is changed in place. Each follows the arithmetic of its Keras 3
counterpart (``keras/src/optimizers/sgd.py`` and ``adam.py``, ``update_step``) operation for
operation, in the parameters' own dtype, so that a run of steps equals ``keras.optimizers.SGD`` or
``Adam`` applied to the same float32 variables to float precision: ``tests/test_optimizers.py``
checks 20 steps to a relative tolerance of 1e-6 (with TensorFlow on a CPU they agree bit for bit).
Float64 parameters are computed in float64 here, while Keras keeps its learning rate in a float32
variable, so against Keras they agree to about 1e-6 relative, float32's precision. Where Keras
writes a rule differently from the paper it comes from, the docstring says how, and why the two
agree or not.

Only NumPy is imported.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from cvtutor import checks

__all__ = ["AdamState", "MomentumState", "adam_step", "momentum_step", "sgd_step"]


class MomentumState(NamedTuple):
    """The state of :func:`momentum_step`: one velocity per parameter (Keras's ``momentums``)."""

    velocity: tuple


class AdamState(NamedTuple):
    """The state of :func:`adam_step`.

    Attributes:
        step: how many steps have been taken (Keras's ``iterations``).
        m: the moving average of the gradients, one array per parameter (Keras's ``momentums``).
        v: the moving average of the squared gradients, one per parameter (Keras's ``velocities``).
    """

    step: int
    m: tuple
    v: tuple


def _arrays(name: str, values) -> tuple:
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"{name} must be a list or tuple of arrays, got {checks.describe(values)}")
    arrays = []
    for k, value in enumerate(values):
        array = np.asarray(value)
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"{name}[{k}] must be a floating-point array, got dtype {array.dtype}")
        arrays.append(array)
    return tuple(arrays)


def _params_and_grads(params, grads) -> tuple[tuple, tuple]:
    params, grads = _arrays("params", params), _arrays("grads", grads)
    if len(grads) != len(params):
        raise ValueError(f"grads must hold one gradient per parameter ({len(params)}), got {len(grads)}")
    for k, (p, g) in enumerate(zip(params, grads)):
        if p.shape != g.shape:
            raise ValueError(f"grads[{k}] must have the shape of params[{k}] {p.shape}, got shape {g.shape}")
    # Keras casts the gradient to the variable's dtype before anything else.
    return params, tuple(g.astype(p.dtype, copy=False) for p, g in zip(params, grads))


def _learning_rate(value) -> float:
    return checks.scalar("learning_rate", value, numbers.Real, minimum=0, include_minimum=False)


def _state(name: str, state, kind, params) -> None:
    if not isinstance(state, kind):
        raise TypeError(f"state must be None or the {kind.__name__} of the previous step, got "
                        f"{checks.describe(state)}")
    for field in kind._fields[-2:] if kind is AdamState else kind._fields:
        arrays = getattr(state, field)
        if len(arrays) != len(params) or any(a.shape != p.shape for a, p in zip(arrays, params)):
            raise ValueError(f"state.{field} must hold one array per parameter, shaped like it, "
                             f"got shapes {[np.shape(a) for a in arrays]}")


def sgd_step(params, grads, state=None, *, learning_rate: float = 0.01):
    """One step of plain gradient descent: ``w <- w - lr * g`` for every parameter.

    Args:
        params: the parameters, a list or tuple of floating-point arrays.
        grads: their gradients ``dL/dw``, the same shapes.
        state: ``None`` (plain SGD keeps no state; accepted so every step has one signature).
        learning_rate: ``lr``, positive; Keras's default is 0.01.

    Returns:
        ``(params, None)``: new arrays in the parameters' dtypes.

    Raises:
        TypeError: ``params`` or ``grads`` not a list or tuple, ``learning_rate`` not a number,
            a ``state`` other than None.
        ValueError: a non-float array, grads not matching params in number or shape, a
            ``learning_rate`` not above 0.

    Source: Robbins and Monro, "A stochastic approximation method", Ann. Math. Statist. 22(3), 1951;
    ``keras.optimizers.SGD(momentum=0.0)``, the same arithmetic.
    """
    params, grads = _params_and_grads(params, grads)
    lr = _learning_rate(learning_rate)
    if state is not None:
        raise TypeError(f"state must be None for plain SGD, got {checks.describe(state)}")
    return [w - g * lr for w, g in zip(params, grads)], None


def momentum_step(params, grads, state=None, *, learning_rate: float = 0.01, momentum: float = 0.9):
    """One step of gradient descent with momentum, in Keras's form::

        v <- momentum * v - lr * g
        w <- w + v

    The velocity ``v`` (zero before the first step) is a running sum of past steps, each shrunk by
    ``momentum`` per step, so a direction the gradient keeps pointing in builds up speed (up to
    ``1 / (1 - momentum)`` times the plain step) while directions where it flips sign cancel.

    Polyak (1964) writes the same method as ``v <- momentum * v + g; w <- w - lr * v``, a velocity
    in units of gradients; with a constant ``lr`` it is Keras's ``v`` divided by ``-lr``, and the
    parameters follow exactly the same path. With a learning rate that changes between steps the
    two differ: Keras's form keeps each past step at the rate it was taken with (as Sutskever et al.
    2013 write it). Keras's ``SGD(nesterov=True)`` is a third variant, not computed here.

    Args:
        params: the parameters, a list or tuple of floating-point arrays.
        grads: their gradients ``dL/dw``, the same shapes.
        state: the :class:`MomentumState` returned by the previous step, or None on the first.
        learning_rate: ``lr``, positive; Keras's default is 0.01.
        momentum: in [0, 1); 0 is plain SGD. Keras's ``SGD`` defaults to 0.0, the literature to 0.9.

    Returns:
        ``(params, state)``: new arrays in the parameters' dtypes and the new :class:`MomentumState`.

    Raises:
        TypeError: ``params`` or ``grads`` not a list or tuple, a hyperparameter not a number, a
            ``state`` that is not a :class:`MomentumState`.
        ValueError: a non-float array, grads or state not matching params in number or shape, a
            hyperparameter out of range.

    Source: Polyak, "Some methods of speeding up the convergence of iteration methods", USSR Comp.
    Math. and Math. Phys. 4(5), 1964 (the heavy-ball method); Sutskever, Martens, Dahl and Hinton,
    "On the importance of initialization and momentum in deep learning", ICML 2013 (this form);
    ``keras.optimizers.SGD(momentum=...)``, ``update_step``.
    """
    params, grads = _params_and_grads(params, grads)
    lr = _learning_rate(learning_rate)
    mu = checks.scalar("momentum", momentum, numbers.Real, minimum=0, maximum=1, include_maximum=False)
    if state is None:
        state = MomentumState(tuple(np.zeros_like(w) for w in params))
    _state("state", state, MomentumState, params)
    velocity = tuple(v * mu - g * lr for v, g in zip(state.velocity, grads))
    return [w + v for w, v in zip(params, velocity)], MomentumState(velocity)


def adam_step(params, grads, state=None, *, learning_rate: float = 0.001, beta_1: float = 0.9,
              beta_2: float = 0.999, epsilon: float = 1e-7):
    """One step of Adam, as ``keras.optimizers.Adam`` computes it::

        t <- t + 1
        m <- m + (1 - beta_1) (g - m)            (= beta_1 m + (1 - beta_1) g)
        v <- v + (1 - beta_2) (g^2 - v)          (= beta_2 v + (1 - beta_2) g^2)
        alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w <- w - alpha m / (sqrt(v) + epsilon)

    ``m`` and ``v`` start at zero, so early on they are biased towards zero; Kingma and Ba divide
    by ``1 - beta^t`` to correct that. Their Algorithm 1 computes ``m_hat = m / (1 - beta_1^t)``,
    ``v_hat = v / (1 - beta_2^t)`` and ``w <- w - lr m_hat / (sqrt(v_hat) + epsilon)``. Keras
    follows the paper's section 2, last paragraph, instead: it folds both corrections into the step
    size ``alpha`` and adds ``epsilon`` to the *uncorrected* ``sqrt(v)``. The two agree exactly
    when Algorithm 1's epsilon is ``epsilon / sqrt(1 - beta_2^t)``, so Keras's epsilon counts for
    more early on (about 31.6 times at step 1 with ``beta_2 = 0.999``) and for the same after a few
    thousand steps; the default is 1e-7 in Keras, 1e-8 in the paper. Either way the step has size
    about ``lr`` per parameter whatever the gradient's scale, the property the chapter shows.

    Args:
        params: the parameters, a list or tuple of floating-point arrays.
        grads: their gradients ``dL/dw``, the same shapes.
        state: the :class:`AdamState` returned by the previous step, or None on the first.
        learning_rate: ``lr``, positive; default 0.001 (Keras's and the paper's).
        beta_1, beta_2: the decay rates of ``m`` and ``v``, in [0, 1); defaults 0.9 and 0.999.
        epsilon: added to ``sqrt(v)``, 0 or more; default 1e-7 (Keras's).

    Returns:
        ``(params, state)``: new arrays in the parameters' dtypes and the new :class:`AdamState`.

    Raises:
        TypeError: ``params`` or ``grads`` not a list or tuple, a hyperparameter not a number, a
            ``state`` that is not an :class:`AdamState`.
        ValueError: a non-float array, grads or state not matching params in number or shape, a
            hyperparameter out of range.

    Source: Kingma and Ba, "Adam: A method for stochastic optimization", ICLR 2015,
    arXiv:1412.6980 (Algorithm 1 and section 2); ``keras.optimizers.Adam``, ``update_step``.
    """
    params, grads = _params_and_grads(params, grads)
    lr = _learning_rate(learning_rate)
    beta_1 = checks.scalar("beta_1", beta_1, numbers.Real, minimum=0, maximum=1, include_maximum=False)
    beta_2 = checks.scalar("beta_2", beta_2, numbers.Real, minimum=0, maximum=1, include_maximum=False)
    epsilon = checks.scalar("epsilon", epsilon, numbers.Real, minimum=0)
    if state is None:
        state = AdamState(0, tuple(np.zeros_like(w) for w in params), tuple(np.zeros_like(w) for w in params))
    _state("state", state, AdamState, params)
    t = state.step + 1
    new_params, new_m, new_v = [], [], []
    for w, g, m, v in zip(params, grads, state.m, state.v):
        dtype = w.dtype.type  # Keras computes in the variable's dtype, the powers and alpha included
        alpha = dtype(lr) * np.sqrt(1 - dtype(beta_2) ** dtype(t)) / (1 - dtype(beta_1) ** dtype(t))
        m = m + (g - m) * (1 - beta_1)
        v = v + (np.square(g) - v) * (1 - beta_2)
        new_params.append(w - (m * alpha) / (np.sqrt(v) + epsilon))
        new_m.append(m)
        new_v.append(v)
    return new_params, AdamState(t, tuple(new_m), tuple(new_v))
