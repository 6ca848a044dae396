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
        learning_rate: Adam's learning rate (the peak, for ``schedule="warmup-cosine"``).
        schedule: ``"constant"``, or ``"warmup-cosine"``
            (:func:`cvtutor.training.warmup_cosine_adam`: a linear rise over the
            first tenth of the steps, then a cosine down to 0).
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
    schedule: str = "constant"
    pipeline: str = "tf.data"
    augment: bool = False
    jit_compile: bool | str = "auto"
    description: str = ""
    compile: Callable | None = None
    flip: bool = False
    target: tuple[float, float] | None = None

    def __post_init__(self):
        if self.schedule not in ("constant", "warmup-cosine"):
            raise ValueError(f"schedule must be 'constant' or 'warmup-cosine', got {self.schedule!r}")


def _cnn(num_classes):
    from cvtutor.models import build_cnn

    return build_cnn(num_classes=num_classes)


def _rnn(num_classes):
    from cvtutor.models import build_rnn

    return build_rnn(num_classes=num_classes)


def _attention(num_classes):
    from cvtutor.models import build_attention

    return build_attention(num_classes=num_classes, stem_channels=16)


def _fast_cnn_defaults() -> dict:
    """``fit_fast_cnn``'s keyword defaults: the fast-cnn recipe is that function's recipe."""
    import inspect

    from cvtutor.training import fit_fast_cnn

    return {name: p.default for name, p in inspect.signature(fit_fast_cnn).parameters.items()
            if p.default is not inspect.Parameter.empty}


_FAST_CNN = _fast_cnn_defaults()


def _resnet(num_classes):
    from cvtutor.models import build_resnet

    return build_resnet(num_classes=num_classes, width=_FAST_CNN["width"], blocks=_FAST_CNN["blocks"])


def _fast_compile(model, steps):
    from cvtutor.training import compile_fast_cnn

    return compile_fast_cnn(model, steps, peak_learning_rate=_FAST_CNN["peak_learning_rate"],
                            label_smoothing=_FAST_CNN["label_smoothing"])


RECIPES = {
    r.name: r
    for r in [
        Recipe("tf-tutorial", _cnn, epochs=10, batch_size=32, pipeline="arrays",
               description="the TensorFlow CNN tutorial as published: batch 32, Adam, 10 epochs, in-memory arrays"),
        # Sized for the 2-core CPU: width 16 trains at about 240 images/s there, 2 epochs in 10 minutes;
        # width 8 (104,514 parameters, 6 M multiply-adds) at about 600, so 7 epochs fit.
        Recipe("fast-cnn", _resnet, epochs=_FAST_CNN["epochs"], batch_size=_FAST_CNN["batch_size"],
               augment=True, compile=_fast_compile, flip=True, target=(0.85, 600),
               description="build_resnet(width=8): batch norm, residual blocks, flips and shifts, label smoothing 0.2, "
                           "one-cycle SGD, test-time flip; cvtutor.training.fit_fast_cnn"),
        # Before (run cpu-20261129T0059): batch 128, constant Adam 0.002, 10 epochs: 67% after 8 epochs, ratio 0.81.
        Recipe("article-cnn-pipeline", _cnn, epochs=7, batch_size=256, learning_rate=4e-3, schedule="warmup-cosine",
               description="the same CNN through cvtutor's tf.data pipeline, batch 256, "
                           "Adam warming up to 0.004 then cosine to 0"),
        # Tried on the full data (seed 0, fit time): batch 128, constant 0.001, 6 epochs: 52.3%;
        # batch 128, warm-up + cosine to 0.003, 6 epochs: 55.2% in 215 s; batch 256, to 0.005, 7 epochs: 55.5% in 139 s.
        Recipe("rnn", _rnn, epochs=8, batch_size=256, learning_rate=5e-3, schedule="warmup-cosine", target=(0.55, 180),
               description="row-wise LSTM (32 steps x 96 features), batch 256, Adam warming up to 0.005 then cosine to 0"),
        Recipe("attention", _attention, epochs=6, batch_size=64, learning_rate=2e-3, schedule="warmup-cosine",
               jit_compile=True, flip=True, target=(0.70, 600),
               description="the attention chapter's model and training: a convolutional stem, 64 patch tokens, "
                           "2 self-attention blocks, XLA-compiled, Adam warming up to 0.002 then cosine to 0, "
                           "test-time flip"),
    ]
}
