"""Named training recipes the benchmarks compare.

A recipe turns training data into a trained model; the harness in
:mod:`benchmarks.run` times it from the very start (data loading included)
and records test accuracy after every epoch. ``tf-tutorial`` reproduces the
TensorFlow CNN tutorial exactly, so every other recipe is compared with a
baseline measured in the same run of the harness.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to build and train one model.

    Attributes:
        name: the recipe's name on the command line.
        build: ``build(num_classes) -> keras.Model`` (uncompiled, logits).
        epochs: passes over the training set.
        batch_size: examples per step.
        learning_rate: Adam's learning rate.
        pipeline: ``"arrays"`` (float arrays in memory, ``model.fit(x, y)`` as the
            tutorial does) or ``"tf.data"`` (cvtutor's pipeline).
        augment: flips and shifts (tf.data only).
        jit_compile: XLA compilation (``"auto"`` leaves Keras' default).
        description: one line for the results page.
        compile: ``compile(model, steps) -> model`` to use instead of Adam at
            ``learning_rate`` (``steps``: optimizer steps of the whole run).
        flip: report the final test accuracy with test-time flipping.
        target: ``(test accuracy, seconds)`` the issue asks of the recipe, for the results page.
    """

    name: str
    build: Callable
    epochs: int
    batch_size: int
    learning_rate: float = 1e-3
    pipeline: str = "tf.data"
    augment: bool = False
    jit_compile: bool | str = "auto"
    description: str = ""
    compile: Callable | None = None
    flip: bool = False
    target: tuple[float, float] | None = None


def _cnn(num_classes):
    from cvtutor.models import build_cnn

    return build_cnn(num_classes=num_classes)


def _rnn(num_classes):
    from cvtutor.models import build_rnn

    return build_rnn(num_classes=num_classes)


def _attention(num_classes):
    from cvtutor.models import build_attention

    return build_attention(num_classes=num_classes)


def _resnet(num_classes):
    from cvtutor.models import build_resnet

    return build_resnet(num_classes=num_classes, width=8, blocks=(1, 0, 1))


def _fast_compile(model, steps):
    from cvtutor.training import compile_fast_cnn

    return compile_fast_cnn(model, steps, peak_learning_rate=0.1, label_smoothing=0.2)


RECIPES = {
    r.name: r
    for r in [
        Recipe("tf-tutorial", _cnn, epochs=10, batch_size=32, pipeline="arrays",
               description="the TensorFlow CNN tutorial as published: batch 32, Adam, 10 epochs, in-memory arrays"),
        # Sized for the 2-core CPU: width 16 trains at about 240 images/s there, 2 epochs in 10 minutes;
        # width 8 (104,514 parameters, 6 M multiply-adds) at about 600, so 7 epochs fit.
        Recipe("fast-cnn", _resnet, epochs=7, batch_size=128, augment=True, compile=_fast_compile, flip=True,
               target=(0.85, 600),
               description="build_resnet(width=8): batch norm, residual blocks, flips and shifts, label smoothing 0.2, "
                           "one-cycle SGD, test-time flip; cvtutor.training.fit_fast_cnn"),
        Recipe("article-cnn-pipeline", _cnn, epochs=10, batch_size=128, learning_rate=2e-3,
               description="the same CNN through cvtutor's tf.data pipeline, batch 128"),
        Recipe("rnn", _rnn, epochs=6, batch_size=128, target=(0.55, 180),
               description="row-wise LSTM (32 steps x 96 features), batch 128"),
        Recipe("attention", _attention, epochs=10, batch_size=128, jit_compile=True, target=(0.70, 600),
               description="patch tokens + 2 self-attention blocks, XLA-compiled"),
    ]
}
