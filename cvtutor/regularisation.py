"""Regularisation, written out and measured (chapter 1.4.5).

Three of the formulas behind the usual regularisers, in NumPy, each equal to what Keras computes
(``tests/test_regularisation.py`` checks them against the Keras layer, regulariser or optimizer):

- :func:`inverted_dropout`: ``keras.layers.Dropout`` in training mode, which keeps each value with
  probability ``1 - rate`` and scales the kept ones by ``1 / (1 - rate)``, so that the expectation
  is the input (Srivastava et al. 2014);
- :func:`adam_l2_step`: Adam on a loss with an L2 penalty ``l2 * sum(w**2)`` added (a layer's
  ``kernel_regularizer=keras.regularizers.L2(l2)``): the penalty's gradient ``2 l2 w`` passes through
  Adam's scaling like any other gradient;
- :func:`adamw_step`: Adam with *decoupled* weight decay (``keras.optimizers.AdamW``, and
  ``keras.optimizers.Adam(weight_decay=...)``): each weight shrinks by ``learning_rate *
  weight_decay`` times itself, outside Adam's scaling (Loshchilov and Hutter 2019).

And what the chapter measures: :func:`measure_run` trains a named recipe
(:func:`cvtutor.recipes.train_recipe`) and reports its accuracy on the images it trained on
(evaluated after training, not Keras's running mean), on the validation images and on the test
images; :func:`seed_effect` and :func:`difference_noise` give the numbers that
:func:`cvtutor.verdicts.regularisation_effect` judges. Importing this module imports NumPy only.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

from cvtutor import checks

__all__ = ["RunMeasure", "adam_l2_step", "adamw_step", "difference_noise", "inverted_dropout", "measure_run",
           "seed_effect"]


def inverted_dropout(x, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Dropout as it trains: each value of ``x`` kept with probability ``1 - rate`` and then divided
    by ``1 - rate``, else set to 0.

    Scaling the kept values at training time ("inverted" dropout) makes the expected output equal
    to the input, ``E[y] = (1 - rate) * x / (1 - rate) = x``, so the network needs no change at test
    time, where dropout passes its input through. Srivastava et al. scale the weights by ``1 - rate``
    at test time instead; the two give the same expectations. ``keras.layers.Dropout`` computes this
    when called with ``training=True``.

    Args:
        x: an array of any shape.
        rate: the probability of dropping each value, in [0, 1).
        rng: a ``numpy.random.Generator``, drawing the mask (one uniform draw per value).

    Returns:
        a float array of ``x``'s shape: 0 or ``x / (1 - rate)`` at each position.

    Raises:
        TypeError: ``rate`` not a number, or ``rng`` not a ``numpy.random.Generator``.
        ValueError: ``rate`` outside [0, 1).

    Source: Srivastava et al., "Dropout: a simple way to prevent neural networks from
    overfitting", JMLR 15, 2014 (sections 4 and 10); ``keras.layers.Dropout``.
    """
    rate = checks.rate("rate", rate)
    checks.instance("rng", rng, np.random.Generator, "a numpy.random.Generator")
    x = np.asarray(x, dtype=float)
    keep = rng.random(x.shape) >= rate  # kept with probability 1 - rate
    return np.where(keep, x / (1.0 - rate), 0.0)


def adam_l2_step(params, grads, state=None, *, learning_rate: float = 0.001, l2: float = 0.0, **adam):
    """One step of Adam on the loss plus an L2 penalty ``l2 * sum(w**2)`` on every parameter.

    The penalty adds ``2 * l2 * w`` to each gradient (``keras.regularizers.L2(l2)`` computes ``l2 *
    sum(square(w))``, without the 1/2 some texts put in front), and Adam then divides the sum by
    the root of its second moment like any other gradient: a weight with large loss gradients is
    decayed less than one with small ones.

    Args:
        params, grads, state: as :func:`cvtutor.optimizers.adam_step` (lists of float arrays, and
            the previous step's state or None).
        learning_rate: Adam's ``lr``, positive.
        l2: the penalty's factor, 0 or more.
        **adam: ``beta_1``, ``beta_2``, ``epsilon`` of :func:`cvtutor.optimizers.adam_step`.

    Returns:
        ``(params, state)``, as :func:`cvtutor.optimizers.adam_step`.

    Raises:
        TypeError, ValueError: ``l2`` not a number or negative, or what
            :func:`cvtutor.optimizers.adam_step` raises.

    Source: Krogh and Hertz, "A simple weight decay can improve generalization", NIPS 1991
    (published 1992); ``keras.regularizers.L2``.
    """
    from cvtutor.optimizers import _params_and_grads, adam_step

    l2 = checks.scalar("l2", l2, numbers.Real, minimum=0)
    params, grads = _params_and_grads(params, grads)
    penalised = [g + (2.0 * l2) * w for w, g in zip(params, grads)]  # d/dw of l2 * sum(w**2)
    return adam_step(params, penalised, state, learning_rate=learning_rate, **adam)


def adamw_step(params, grads, state=None, *, learning_rate: float = 0.001, weight_decay: float = 0.004, **adam):
    """One step of Adam with decoupled weight decay (AdamW): each weight first shrinks by
    ``learning_rate * weight_decay`` times itself, then takes Adam's step on the loss's gradient
    alone.

    ``w <- w - lr * weight_decay * w - lr * m_hat / (sqrt(v_hat) + eps)``: the decay does not pass
    through Adam's division by ``sqrt(v_hat)``, so every weight decays at the same relative rate
    whatever its gradients. Keras multiplies ``weight_decay`` by the learning rate (so it follows a
    schedule); Loshchilov and Hutter write the decay as ``eta_t * lambda * w`` with a separate
    schedule multiplier ``eta_t``. ``keras.optimizers.AdamW`` (default ``weight_decay`` 0.004) and
    ``keras.optimizers.Adam(weight_decay=...)`` both compute this, decaying every trainable
    variable, biases included, unless excluded.

    Args:
        params, grads, state: as :func:`cvtutor.optimizers.adam_step`.
        learning_rate: Adam's ``lr``, positive.
        weight_decay: the decay factor, 0 or more.
        **adam: ``beta_1``, ``beta_2``, ``epsilon`` of :func:`cvtutor.optimizers.adam_step`.

    Returns:
        ``(params, state)``, as :func:`cvtutor.optimizers.adam_step`.

    Raises:
        TypeError, ValueError: ``weight_decay`` not a number or negative, or what
            :func:`cvtutor.optimizers.adam_step` raises.

    Source: Loshchilov and Hutter, "Decoupled weight decay regularization", ICLR 2019
    (Algorithm 2); ``keras.optimizers.Optimizer._apply_weight_decay``.
    """
    from cvtutor.optimizers import _params_and_grads, adam_step

    weight_decay = checks.scalar("weight_decay", weight_decay, numbers.Real, minimum=0)
    lr = checks.scalar("learning_rate", learning_rate, numbers.Real, minimum=0, include_minimum=False)
    params, grads = _params_and_grads(params, grads)
    decayed = [w - w * weight_decay * lr for w in params]  # decoupled: outside Adam's scaling
    return adam_step(decayed, grads, state, learning_rate=lr, **adam)


@dataclasses.dataclass
class RunMeasure:
    """One run of a recipe, measured after training.

    Attributes:
        recipe: the recipe's name.
        seed: weights, shuffling, dropout and augmentation.
        train_accuracy: on the images it trained on, evaluated after training (0..1), with dropout
            off and no augmentation; not Keras's ``accuracy`` history, which is the running mean
            over the last epoch, taken while the weights changed and with dropout on.
        validation_accuracy, test_accuracy: on the held-out training images and the test images
            (0..1).
        epochs_run: epochs trained (fewer than the recipe's when early stopping stopped it).
        train_seconds: wall time of training, as :class:`cvtutor.training.TrainResult`.
        history: Keras's per-epoch history.
    """

    recipe: str
    seed: int
    train_accuracy: float
    validation_accuracy: float
    test_accuracy: float
    epochs_run: int
    train_seconds: float
    history: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def gap(self) -> float:
        """The gap between training and test accuracy (training minus test), in points; how much
        better the model does on the images it was fitted to than on new ones."""
        return 100.0 * (self.train_accuracy - self.test_accuracy)


def measure_run(recipe, train, test, *, seed: int = 0, callbacks=None, verbose: int = 0) -> RunMeasure:
    """Train ``recipe`` with :func:`cvtutor.recipes.train_recipe` and measure it on its training,
    validation and test images.

    The training images are those the run trained on: ``train`` less the validation images that
    :func:`cvtutor.recipes.start_run` holds out (the same split every time).

    Args:
        recipe: a :class:`cvtutor.recipes.Recipe` or a recipe's name.
        train, test: ``(uint8 images (N, H, W, C), labels (N,))``.
        seed: weights, shuffling, dropout and augmentation.
        callbacks: Keras callbacks for the run (e.g. ``keras.callbacks.EarlyStopping``).
        verbose: Keras's verbosity (2: one line per epoch).

    Returns:
        a :class:`RunMeasure`.

    Raises:
        TypeError, ValueError: as :func:`cvtutor.recipes.train_recipe`.
    """
    from cvtutor.recipes import start_run, train_recipe
    from cvtutor.training import evaluate

    result = train_recipe(recipe, train, test, seed=seed, callbacks=callbacks, verbose=verbose)
    trained_on = start_run(recipe, train, seed=seed).train  # the split train_recipe trained on
    _, train_accuracy = evaluate(result.model, trained_on)
    name = recipe if isinstance(recipe, str) else recipe.name
    return RunMeasure(name, int(seed), train_accuracy, float(result.validation_accuracy),
                      float(result.test_accuracy), len(result.history["loss"]), float(result.train_seconds),
                      result.history)


def seed_effect(baseline, variant) -> tuple[float, float]:
    """The mean and standard error of ``variant - baseline`` over seeds, paired by seed.

    Args:
        baseline, variant: one number per seed each (e.g. test accuracies in points), seed ``i``
            of both from the same start: the same initial weights, the same batches.

    Returns:
        ``(mean, standard_error)``: the standard error is the differences' sample standard
        deviation (``ddof=1``) over the square root of the number of seeds; ``nan`` with one seed.

    Raises:
        ValueError: no seeds, the two of different lengths, or a value that is not finite.
    """
    baseline = np.asarray(baseline, dtype=float).ravel()
    variant = np.asarray(variant, dtype=float).ravel()
    if baseline.size == 0 or baseline.size != variant.size:
        raise ValueError(f"baseline and variant need one value per seed each, got {baseline.size} and "
                         f"{variant.size}")
    if not (np.all(np.isfinite(baseline)) and np.all(np.isfinite(variant))):
        raise ValueError("baseline and variant must be finite numbers")
    differences = variant - baseline
    if differences.size == 1:
        return float(differences[0]), math.nan
    return float(differences.mean()), float(differences.std(ddof=1) / math.sqrt(differences.size))


def difference_noise(accuracy: float, test_images: int, z: float = 2.0) -> float:
    """``z`` binomial standard errors of the difference of two accuracies near ``accuracy``, each
    measured on ``test_images`` images, in points: ``100 z sqrt(2 p (1 - p) / n)``.

    Two models whose test accuracies differ by less cannot be told apart by the test images alone
    (about a 95% bound for ``z = 2``; the two measurements treated as independent).

    Raises:
        TypeError: ``test_images`` not an integer, or a value that is not a number.
        ValueError: ``accuracy`` outside 0..1, ``test_images`` below 1, or a negative ``z``.
    """
    accuracy = checks.scalar("accuracy", accuracy, numbers.Real, minimum=0, maximum=1)
    test_images = checks.scalar("test_images", test_images, numbers.Integral, minimum=1)
    z = checks.scalar("z", z, numbers.Real, minimum=0)
    return 100.0 * z * math.sqrt(2.0 * accuracy * (1.0 - accuracy) / test_images)
