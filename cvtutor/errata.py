"""The source article's defects, as data: one entry per defect that the errata appendix lists.

The appendix *Errata of the article's code* (``book/errata.md``) explains each defect at
length: what is wrong, what happens, the fix, where the book shows it. The one-page summary
turns the same defects into a checklist to run through before training a model of one's own.
:data:`DEFECTS` is that checklist's single source; ``tests/test_errata.py`` checks that its
titles are the appendix's defect headings, in the appendix's order (a defect the appendix lists
again under a later section, "the same defect as in section ...", counts once), so the two pages
cannot drift apart::

    from cvtutor.errata import DEFECTS, checklist
    DEFECTS[0].title        # 'Softmax output with `from_logits=True`'
    checklist()[0]          # {'defect': ..., 'sections': '1.4.1, 1.4.2, 1.4.3', 'check': ...}
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Defect", "DEFECTS", "checklist"]


@dataclass(frozen=True)
class Defect:
    """One defect of the article's code or formulas.

    Attributes:
        title: the defect's heading in ``book/errata.md``, exactly (Markdown, code in backticks).
        sections: the article's sections in which it occurs, e.g. ``("1.4.1", "1.4.2")``.
        check: what to check in one's own code, as a short imperative line (Markdown).
    """

    title: str
    sections: tuple[str, ...]
    check: str


#: Every defect of ``book/errata.md``, once, in the appendix's order.
DEFECTS: tuple[Defect, ...] = (
    Defect("Softmax output with `from_logits=True`", ("1.4.1", "1.4.2", "1.4.3"),
           "The model outputs logits when the loss says `from_logits=True`."),
    Defect("Pixels not scaled", ("1.4.1", "1.4.2", "1.4.3"),
           "Pixels are divided by 255 before the first layer."),
    Defect("No evaluation on the test set", ("1.4.1",),
           "A validation split watches the run; the test set is evaluated once, at the end."),
    Defect("Labels of shape `(N, 1)`", ("1.4.1",),
           "Labels have shape `(N,)` before NumPy compares them with predictions."),
    Defect("`input_shape` passed to the first layer", ("1.4.1",),
           "The model starts with `keras.Input(shape)`."),
    Defect("A flat input into an LSTM", ("1.4.2", "1.4.3"),
           "A recurrent layer gets `(batch, steps, features)`."),
    Defect("The data is never loaded", ("1.4.2", "1.4.3"),
           "Each program loads its own data."),
    Defect("`image_to_sequence` is defined but never used", ("1.4.2",),
           "Every helper you define is called; reshapes happen inside the model."),
    Defect("`tf.math.sqrt` of an integer", ("1.4.3",),
           "Constants such as $1/\\sqrt{d_k}$ are computed as floats."),
    Defect("`Dense` layers created inside `call`", ("1.4.3",),
           "A layer creates its weights once, in `__init__` or `build`."),
    Defect("ReLU on the queries, keys and values", ("1.4.3",),
           "The projections $Q$, $K$, $V$ are linear."),
    Defect("The layer cannot be configured or saved", ("1.4.3",),
           "A custom layer passes `**kwargs` on and has a `get_config`."),
    Defect("The CNN formula is a dense layer", ("1.3",),
           "A convolution sums over a window with one shared kernel."),
    Defect("RNNs and long-range dependencies", ("1.3",),
           "Long sequences need gates (LSTM) or attention, and a measured gradient."),
    Defect("Where the queries, keys and values come from", ("1.3",),
           "Attention's $W_Q$, $W_K$, $W_V$ are learned weights."),
)


def checklist() -> list[dict]:
    """The defects as rows of a table: ``{"defect", "sections", "check"}`` (strings, Markdown)."""
    return [{"defect": d.title, "sections": ", ".join(d.sections), "check": d.check} for d in DEFECTS]
