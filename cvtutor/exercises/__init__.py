"""Exercises that grade themselves: checkers for the exercises at the end of chapters 1.2 to 1.5.6 and of the one-page summary.

A chapter's exercise asks the reader to write a function (a dilated
convolution, an LSTM step equal to ``keras.layers.LSTM``, causal attention, a
distillation loss, ...) or to compute a number by hand (the parameters of a
model). :func:`check` tests the answer offline, in well under a second, on
seeded random inputs (edge cases included) against the package's reference
(:mod:`cvtutor.reference`, :mod:`cvtutor.metrics`, :mod:`cvtutor.flops`, the
models' ``count_params()``, or a NumPy reference that the tests check against
the Keras layer it stands for), and answers in one line::

    from cvtutor.exercises import check

    def conv2d_dilated(x, kernel, dilation):
        ...

    check("1.3.1-dilated-conv", conv2d_dilated)
    # correct: 1.3.1-dilated-conv matches the reference on all 4 inputs
    # or: not yet: on input #2 (x of shape (2, 7, 7, 2), kernel of shape (3, 3, 2, 3), dilation=2),
    #     your output differs from the reference by max |diff| = 2.31 at index (0, 1, 2, 0) (...)

Answers may take and return NumPy arrays or Keras, TensorFlow or JAX
tensors. A wrong shape or type, an exception raised by the answer (summarised
as its type, message and the line of the reader's code) or an answer that is
not a function gets its own one-line message; no traceback from inside the
checker reaches the reader. Value exercises say whether the number is too low
or too high and roughly by how much, without giving the number away.

Every exercise (:data:`EXERCISES`, by id ``"<chapter>-<name>"``) carries a
title, its task in one line, a hint, a worked solution (a function in this
package: ``solution(id)``) and plausible wrong answers, which the tests run:
every solution passes, every wrong answer fails. :data:`OPEN_ENDED` lists, per
chapter, the experiments where grading makes no sense. Title, task, hint and
the open-ended experiments are Markdown: ``tools/book.py exercises`` writes
them into the "Exercises" section at the end of each chapter's notebook.

Importing this package imports NumPy only; the checkers of parameter and
multiply-add counts import Keras (once) to build the model they count.
"""

from __future__ import annotations

from cvtutor.exercises import (  # noqa: F401 - they register the exercises
    _backprop, _basics, _classifiers, _features, _landscape, _outlook, _regularisation,
)
from cvtutor.exercises._landscape import (
    convnext_block_params,
    gru_params,
    separable_conv2d_macs,
    vit_attention_size,
)
from cvtutor.exercises._backprop import adam_paper_step, dense_relu_backward, rmsprop_step
from cvtutor.exercises._basics import (
    attention_params,
    attention_relative,
    avg_pool2d_same,
    causal_attention,
    cnn_params,
    conv2d_depthwise,
    conv2d_dilated,
    dense_relu,
    lstm_step,
    multi_head_attention,
    output_size,
    receptive_field,
    recurrent_params,
    rnn_forward,
)
from cvtutor.exercises._classifiers import (
    attention_model_params,
    batchnorm_inference,
    confusion_matrix,
    image_to_rows,
    layer_norm,
    patchify,
    rnn_multiply_adds,
    rnn_params,
    smoothed_cross_entropy,
    smoothed_cross_entropy_gradient,
    sparse_cross_entropy,
)
from cvtutor.exercises._features import knn_vote, top_patch, unit_window
from cvtutor.exercises._regularisation import dropout_moments, early_stopping_epochs, sgd_l1_step
from cvtutor.exercises._core import EXERCISES as _REGISTRY
from cvtutor.exercises._core import Exercise, Result, check, exercises_for, get_exercise, solution
from cvtutor.exercises._outlook import (
    attention_rollout,
    conv2d_macs,
    distillation_loss,
    distillation_gradient,
    distiller_loss,
    feature_map_shape,
    grad_cam_map,
    hirescam_map,
    head_params,
    pareto_front,
    position_similarity,
    vit_params,
)

#: Every graded exercise, ``{id: Exercise}``, in chapter order; ids look like ``"1.3.1-dilated-conv"``.
EXERCISES: dict[str, Exercise] = _REGISTRY

#: Open-ended experiments at the end of each chapter, where grading makes no sense
#: (the answer is a plot, a measurement on the reader's machine, or an argument); Markdown.
OPEN_ENDED: dict[str, tuple[str, ...]] = {
    "1.2": (
        ("Measure the receptive field of a stack you design (pooling, strides, 5x5 kernels) with the chapter's "
         "one-pixel probes and compare it with `receptive_field`."),
        "Add a conv stem to the patch-attention model: how do the token count and the parameters change?",
    ),
    "1.3.1": (
        "Design your own 3x3 filters (blur, sharpen, diagonal edges) and look at their maps on the photograph.",
        "Take gradient-descent steps of growing size on one batch and find where the loss starts to rise.",
    ),
    "1.3.2": (
        "Repeat the vanishing-gradient measurement with the image read column by column, or with 64 units.",
        "Train both layers longer and watch the forget gates' average move.",
    ),
    "1.3.3": (
        "Plot the attention maps of other query patches, with more heads or a different `key_dim`.",
        "Measure the softmax's saturation without the `1/sqrt(d_k)` for your own `d_k`.",
    ),
    "1.3.4": (
        "Tune momentum's coefficient on the chapter's loss surface: which value needs the fewest steps, and why?",
        "Add RMSprop (your exercise's step) to the race on both surfaces and compare it with Adam.",
    ),
    "1.4.1": (
        ("Remove one of the fast CNN's ingredients at a time (batch norm, residuals, augmentation, label smoothing) "
         "and record what each costs in accuracy and time."),
        "Look through the most confident mistakes: which are label errors, which are hard images?",
    ),
    "1.4.2": (
        "Read the image column by column or as 1,024 pixels and compare accuracy and time with rows.",
        "Swap the LSTM for a GRU or a bidirectional LSTM.",
    ),
    "1.4.3": (
        "Change the patch size (2, 4, 8) and record tokens, time per epoch and accuracy.",
        "Compare the attention maps of a trained and an untrained model on the same images.",
    ),
    "1.4.4": (
        ("Repeat the chapter on the fast CNN of chapter 1.4.1 (recipe `fast-cnn`): are its first-layer filters "
         "smoother, and does a neighbour vote on its pooled features come as close to its head?"),
        "Find the test images that most *lower* a channel's mean activation: do they show what the channel is not?",
        ("Synthesise the image a channel of the last stage likes best (Olah et al., 2017): start from grey noise, "
         "take gradient-ascent steps on the channel's mean activation, penalise high frequencies, and compare the "
         "result with the channel's top images."),
    ),
    "1.4.5": (
        ("Train the chapter's baseline for more epochs or on fewer images and watch the gap between training and "
         "test accuracy grow; which regulariser closes most of it?"),
        "Combine dropout, weight decay and augmentation in one recipe: do their effects add up?",
    ),
    "1.5.1": ("Extend the scaling sweep with one wider and one deeper model; does the Pareto front move?",),
    "1.5.2": ("Train the ViT and the ResNet on 1,000 and on 10,000 images; where do their learning curves cross?",),
    "1.5.3": ("Try other temperatures and alphas for distillation, or freeze fewer layers when transferring.",),
    "1.5.4": ("Apply saliency and Grad-CAM to your own photographs and run the chapter's two sanity checks on them.",),
    "1.5.5": ("Probe the backbone at 32, 64 and 96 pixels: how do feature time and accuracy trade?",
              "Fine-tune only the last stage of the backbone (the others frozen) and compare with full fine-tuning."),
    "1.5.6": ("Add EfficientNet-B0 (`keras.applications.EfficientNetB0(weights=None)`) to the chapter's figure: where "
              "do its parameters and multiply-adds fall beside ResNet-50's?",
              "Count Swin-B (`arch.swin(embed_dim=128, num_heads=(4, 8, 16, 32), depths=(2, 2, 18, 2))`) and place it "
              "on the chapter's figure beside ViT-B/16."),
    "summary": ("Build one layer of each kind with sizes of your own and check the summary's formulas against "
                "`count_params` and `cvtutor.flops.multiply_adds`.",),
}

__all__ = [
    "EXERCISES",
    "OPEN_ENDED",
    "Exercise",
    "Result",
    "check",
    "solution",
    "get_exercise",
    "exercises_for",
    # worked solutions, in chapter order
    "dense_relu",
    "receptive_field",
    "cnn_params",
    "output_size",
    "conv2d_depthwise",
    "conv2d_dilated",
    "avg_pool2d_same",
    "rnn_forward",
    "lstm_step",
    "recurrent_params",
    "attention_relative",
    "causal_attention",
    "multi_head_attention",
    "attention_params",
    "dense_relu_backward",
    "adam_paper_step",
    "rmsprop_step",
    "sparse_cross_entropy",
    "confusion_matrix",
    "batchnorm_inference",
    "smoothed_cross_entropy",
    "smoothed_cross_entropy_gradient",
    "image_to_rows",
    "rnn_params",
    "rnn_multiply_adds",
    "patchify",
    "layer_norm",
    "attention_model_params",
    "top_patch",
    "knn_vote",
    "unit_window",
    "dropout_moments",
    "sgd_l1_step",
    "early_stopping_epochs",
    "conv2d_macs",
    "pareto_front",
    "vit_params",
    "position_similarity",
    "distillation_loss",
    "distiller_loss",
    "distillation_gradient",
    "feature_map_shape",
    "grad_cam_map",
    "hirescam_map",
    "head_params",
    "attention_rollout",
    "vit_attention_size",
    "convnext_block_params",
    "separable_conv2d_macs",
    "gru_params",
]
