"""Exercises of chapter 1.4.5 (regularisation).

References: the mean and variance of inverted dropout's output, one SGD step on a loss with an L1
penalty, and the epochs ``keras.callbacks.EarlyStopping`` trains and restores on a given validation
curve. ``tests/test_exercises.py`` checks them against ``keras.layers.Dropout`` (sampled),
``keras.regularizers.L1`` with ``keras.optimizers.SGD``, and the ``EarlyStopping`` callback itself.
"""

from __future__ import annotations

import numpy as np

from cvtutor.exercises._basics import normal
from cvtutor.exercises._core import Exercise, register

# Dropout's mean and variance ---------------------------------------------------------


def dropout_moments(x, rate):
    """Worked solution of 1.4.5-dropout-moments: the mean and variance of inverted dropout's output.

    Each output is ``x / (1 - p)`` with probability ``1 - p`` and 0 otherwise (``p = rate``), so
    ``E[y] = x`` and ``E[y^2] = (1 - p) x^2 / (1 - p)^2 = x^2 / (1 - p)``, hence
    ``Var[y] = E[y^2] - E[y]^2 = x^2 p / (1 - p)``: the noise grows without bound as ``p`` nears 1.
    """
    x = np.asarray(x, dtype=float)
    return x.copy(), x**2 * rate / (1.0 - rate)


def _moments_unscaled(x, rate):  # dropout without the 1 / (1 - p): a Bernoulli mask alone
    x = np.asarray(x, dtype=float)
    return x * (1 - rate), x**2 * rate * (1 - rate)


def _moments_bernoulli_variance(x, rate):  # the mean right, the variance of the mask alone, times x^2
    x = np.asarray(x, dtype=float)
    return x.copy(), x**2 * rate * (1 - rate)


def _moments_second_moment(x, rate):  # E[y^2] given as the variance
    x = np.asarray(x, dtype=float)
    return x.copy(), x**2 / (1 - rate)


def _moments_inputs(rng):
    return [dict(x=normal(rng, 3, 4), rate=0.5), dict(x=normal(rng, 5), rate=0.1),
            dict(x=normal(rng, 2, 2, 3, scale=3.0), rate=0.8), dict(x=np.array([0.0, 1.0, -2.0]), rate=0.25)]


register(Exercise(
    id="1.4.5-dropout-moments", chapter="1.4.5", kind="function", returns="a pair (mean, variance) of arrays",
    signature="dropout_moments(x, rate)",
    title="The mean and the variance of dropout's output",
    task="Write `dropout_moments(x, rate)` returning `(mean, variance)`, two arrays of `x`'s shape: the expected "
         "value and the variance of each output of `keras.layers.Dropout(rate)` called on `x` with `training=True`, "
         "over its random draws.",
    hint="Each output is `x / (1 - rate)` with probability `1 - rate` and `0` otherwise. The mean is the sum of "
         "value times probability; for the variance, compute the mean of the square the same way and subtract the "
         "square of the mean.",
    solution=dropout_moments,
    wrong={"no 1 / (1 - rate) scaling": _moments_unscaled,
           "the Bernoulli mask's variance rate (1 - rate), times x^2": _moments_bernoulli_variance,
           "the mean of the square given as the variance": _moments_second_moment},
    inputs=_moments_inputs,
    reference=dropout_moments,
))


# An L1 penalty's gradient, one SGD step ---------------------------------------------


def sgd_l1_step(w, g, learning_rate, l1):
    """Worked solution of 1.4.5-l1-step: one SGD step on the loss plus ``l1 * sum(|w|)``.

    The penalty's gradient is ``l1 * sign(w)``: a constant push of size ``l1`` towards 0, whatever
    the weight's size (the L2 penalty's, ``2 l2 w``, shrinks with the weight). At exactly 0, where
    ``|w|`` has no derivative, TensorFlow's gradient of ``abs`` is 0, and ``np.sign(0) = 0`` agrees.
    """
    return w - learning_rate * (g + l1 * np.sign(w))


def _l1_as_l2(w, g, learning_rate, l1):  # the L2 penalty's gradient instead
    return w - learning_rate * (g + 2 * l1 * w)


def _l1_double(w, g, learning_rate, l1):  # 2 l1 sign(w), by analogy with L2's 2 l2 w
    return w - learning_rate * (g + 2 * l1 * np.sign(w))


def _l1_subtracted(w, g, learning_rate, l1):  # the penalty's push away from 0
    return w - learning_rate * (g - l1 * np.sign(w))


def _l1_inputs(rng):
    return [dict(w=normal(rng, 4, 3), g=normal(rng, 4, 3), learning_rate=0.1, l1=0.01),
            dict(w=normal(rng, 6, scale=0.01), g=normal(rng, 6, scale=0.1), learning_rate=0.5, l1=0.2),
            dict(w=np.array([0.0, 0.3, -0.3, 0.0]), g=np.array([0.1, 0.0, 0.0, -0.2]), learning_rate=1.0, l1=0.05),
            dict(w=normal(rng, 2, 2, 3), g=normal(rng, 2, 2, 3), learning_rate=0.01, l1=1.0)]


register(Exercise(
    id="1.4.5-l1-step", chapter="1.4.5", kind="function", returns="an array of w's shape",
    signature="sgd_l1_step(w, g, learning_rate, l1)",
    title="One SGD step with an L1 penalty",
    task="Write `sgd_l1_step(w, g, learning_rate, l1)` returning the new weights after one step of "
         "`keras.optimizers.SGD(learning_rate)` on the loss plus the penalty of `keras.regularizers.L1(l1)` on `w`, "
         "`l1 * sum(abs(w))`, where `g` is the gradient of the loss alone.",
    hint="Differentiate `l1 * |w|` for each weight: `l1` where the weight is positive, `-l1` where it is negative, "
         "and 0 where it is exactly 0 (TensorFlow's choice where `|w|` has no derivative). Add that to `g` and step "
         "against the sum.",
    solution=sgd_l1_step,
    wrong={"the L2 penalty's gradient 2 l1 w": _l1_as_l2, "twice the L1 gradient": _l1_double,
           "the penalty's gradient subtracted": _l1_subtracted},
    inputs=_l1_inputs,
    reference=sgd_l1_step,
))


# Where early stopping stops ------------------------------------------------------------


def early_stopping_epochs(val_loss, patience, min_delta):
    """Worked solution of 1.4.5-early-stopping-epochs: ``(epochs_run, restored_epoch)``, 1-based, of
    ``keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, min_delta=min_delta,
    restore_best_weights=True)`` on the validation losses ``val_loss`` (one per epoch, the budget).

    An epoch improves when its loss is below the best so far by more than ``min_delta``; the best
    epoch is the last that improved. After each epoch without improvement a counter rises, and
    training stops once it reaches ``patience`` (Keras never stops after the first epoch). The
    weights restored are those of the best epoch, also when training ran to the end.
    """
    best, best_epoch, wait = np.inf, 0, 0
    for epoch, loss in enumerate(np.asarray(val_loss, dtype=float)):
        wait += 1
        if loss + min_delta < best:
            best, best_epoch, wait = loss, epoch, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch + 1, best_epoch + 1
    return len(val_loss), best_epoch + 1


def _stop_last_epoch(val_loss, patience, min_delta):  # restores the last epoch trained, not the best
    run, _ = early_stopping_epochs(val_loss, patience, min_delta)
    return run, run


def _stop_off_by_one(val_loss, patience, min_delta):  # waits for patience + 1 epochs without improvement
    return early_stopping_epochs(val_loss, patience + 1, min_delta)


def _stop_ignoring_delta(val_loss, patience, min_delta):  # any decrease counts as an improvement
    return early_stopping_epochs(val_loss, patience, 0.0)


def _stop_inputs(rng):
    def curve(epochs, turn):
        # falls, then rises after `turn` epochs, with noise of about 0.02: an overfitting run
        t = np.arange(epochs)
        base = 2.0 - 0.8 * np.log1p(np.minimum(t, turn)) + 0.05 * np.maximum(t - turn, 0)
        return np.round(base + 0.02 * rng.standard_normal(epochs), 2)

    return [dict(val_loss=curve(15, 6), patience=3, min_delta=0.0),
            dict(val_loss=np.array([1.5, 1.2, 1.1, 1.08, 1.07, 1.066, 1.2, 1.3]), patience=2, min_delta=0.015),
            dict(val_loss=np.array([2.0, 1.6, 1.6, 1.7, 1.6, 1.9]), patience=2, min_delta=0.0),
            dict(val_loss=np.array([1.0, 0.9, 0.8, 0.7, 0.6]), patience=1, min_delta=0.0),
            dict(val_loss=curve(20, 10), patience=5, min_delta=0.005)]


register(Exercise(
    id="1.4.5-early-stopping-epochs", chapter="1.4.5", kind="function",
    returns="a pair (epochs_run, restored_epoch) of integers",
    signature="early_stopping_epochs(val_loss, patience, min_delta)",
    title="Where early stopping stops",
    task="Write `early_stopping_epochs(val_loss, patience, min_delta)` returning `(epochs_run, restored_epoch)` "
         "(both counted from 1): how many epochs a run trains, and whose weights it ends with, under "
         "`keras.callbacks.EarlyStopping(monitor='val_loss', patience=patience, min_delta=min_delta, "
         "restore_best_weights=True)`, when its validation losses would be `val_loss` (one per epoch, the whole "
         "budget).",
    hint="Walk through the epochs keeping the best loss so far, its epoch and a counter of epochs since it. An epoch "
         "improves only if its loss is below the best by more than `min_delta` (an equal loss is no improvement); "
         "an improvement resets the counter, anything else adds one, and training stops at the epoch where the "
         "counter reaches `patience`. Read `on_epoch_end` in Keras's `keras/src/callbacks/early_stopping.py` for "
         "the details. The weights restored are the best epoch's, even when training never stops early.",
    solution=early_stopping_epochs,
    wrong={"the last epoch's weights kept": _stop_last_epoch,
           "one epoch of patience too many": _stop_off_by_one,
           "min_delta ignored": _stop_ignoring_delta},
    inputs=_stop_inputs,
    reference=early_stopping_epochs,
))
