"""Knowledge distillation: a small student learns from a big teacher's soft labels.

Hinton, Vinyals and Dean (2015), "Distilling the Knowledge in a Neural
Network". A trained teacher's logits, softened by a temperature ``T``, say
more than the hard label does: that a cat looks a bit like a dog and not at
all like a truck. The student is trained on a mix of the two signals::

    loss = alpha * CE(y, student)
         + (1 - alpha) * T**2 * KL(softmax(teacher / T) || softmax(student / T))

:class:`Distiller` follows the keras-io example "Knowledge Distillation"
(Keras 3 style): it overrides ``compute_loss`` only, so ``fit``, ``evaluate``
and ``predict`` are Keras's own and the same code runs on TensorFlow and JAX::

    teacher = ...  # a trained model returning logits
    distiller = Distiller(teacher=teacher, student=build_cnn())
    distiller.compile(keras.optimizers.Adam(), metrics=["accuracy"], alpha=0.1, temperature=3)
    distiller.fit(train_ds, epochs=3)
    distiller.student.save("student.keras")   # the distiller itself is a training wrapper
"""

from __future__ import annotations

import keras
from keras import ops

from cvtutor import checks

__all__ = ["Distiller"]


class Distiller(keras.Model):
    """Train ``student`` to match ``teacher``'s softened logits and the labels.

    The teacher is frozen (``teacher.trainable = False``; this changes the
    teacher object passed in) and is called with ``training=False``: its
    weights never change. Calling the distiller calls the student, so
    ``evaluate`` and ``predict`` measure the student. The loss ``evaluate``
    reports is the same mixed loss as in training.

    Args:
        teacher: a ``keras.Model`` returning logits ``(batch, num_classes)``.
        student: a ``keras.Model`` returning logits of the same shape.
        **kwargs: base ``keras.Model`` arguments, e.g. ``name``.

    Call arguments:
        inputs: what the student takes, e.g. float images ``(batch, H, W, C)``
            in [0, 1].
        training: passed on to the student.

    Returns:
        the student's logits ``(batch, num_classes)``.

    Raises:
        TypeError: ``teacher`` or ``student`` is not a ``keras.Model``.
        ValueError: they return different numbers of logits.
    """

    def __init__(self, teacher, student, **kwargs):
        super().__init__(**kwargs)
        for role, model in (("teacher", teacher), ("student", student)):
            checks.instance(role, model, keras.Model, "a keras.Model returning logits")
        t_out, s_out = _output_shape(teacher), _output_shape(student)
        if t_out is not None and s_out is not None and t_out[-1] != s_out[-1]:
            raise ValueError(
                f"teacher and student must return the same number of logits, "
                f"got teacher {t_out} and student {s_out}"
            )
        self.teacher = teacher
        self.student = student
        self.teacher.trainable = False

    def compile(
        self,
        optimizer="adam",
        metrics=None,
        student_loss_fn=None,
        distillation_loss_fn=None,
        alpha=0.1,
        temperature=3,
        **kwargs,
    ):
        """Configure the distiller for training.

        Args:
            optimizer: a Keras optimizer (or its name); it updates the student only.
            metrics: metrics of the student's logits against the labels,
                e.g. ``["accuracy"]``.
            student_loss_fn: the hard-label loss ``f(y_true, student_logits)``;
                default ``SparseCategoricalCrossentropy(from_logits=True)``.
            distillation_loss_fn: ``f(teacher_probs, student_probs)``, both
                softmax outputs at temperature ``T``; default
                ``keras.losses.KLDivergence()``.
            alpha: weight of the hard-label loss, in [0, 1]; the distillation
                loss gets ``1 - alpha``. ``alpha=1`` is plain training.
            temperature: ``T > 0``; larger values give softer distributions.
                The distillation loss is multiplied by ``T**2``: the gradients
                of the softened loss scale as ``1 / T**2`` (Hinton et al.,
                2015, section 2), so the factor keeps the two terms' relative
                weight the same when ``T`` changes.
            **kwargs: passed to ``keras.Model.compile`` (e.g. ``jit_compile``).

        Raises:
            TypeError: ``alpha`` or ``temperature`` is not a number.
            ValueError: ``alpha`` is outside [0, 1], or ``temperature`` is not positive.
        """
        alpha = checks.scalar("alpha", alpha, minimum=0, maximum=1)
        temperature = checks.scalar("temperature", temperature, minimum=0, include_minimum=False)
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)
        self.student_loss_fn = student_loss_fn or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.distillation_loss_fn = distillation_loss_fn or keras.losses.KLDivergence()
        self.alpha = float(alpha)
        self.temperature = float(temperature)

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The mixed loss of one batch; ``y_pred`` is the student's logits."""
        t = self.temperature
        teacher_logits = ops.stop_gradient(self.teacher(x, training=False))
        student_loss = self.student_loss_fn(y, y_pred, sample_weight=sample_weight)
        distillation_loss = self.distillation_loss_fn(
            ops.softmax(teacher_logits / t, axis=-1),
            ops.softmax(y_pred / t, axis=-1),
            sample_weight=sample_weight,
        ) * (t**2)
        loss = self.alpha * student_loss + (1.0 - self.alpha) * distillation_loss
        for extra in self.losses:  # the student's regularization losses, if any
            loss = loss + ops.cast(ops.sum(extra), loss.dtype)
        return loss


def _output_shape(model):
    try:
        return tuple(model.output_shape)
    except (AttributeError, ValueError, TypeError):
        return None  # a subclassed model not yet built
