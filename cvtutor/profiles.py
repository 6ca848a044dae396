"""Run profiles: how much data and how many epochs a notebook or script uses.

Readers get ``full`` (the whole data set, the epochs each chapter needs for its
reported result). CI and the tests set ``CVTUTOR_PROFILE=quick``: 2,000
training and 1,000 test images and at most one epoch per run, so the whole book
runs in minutes rather than hours (each chapter's recorded time:
:mod:`cvtutor.run_times`). Notebooks read the profile through :func:`get_profile`,
never by editing cells.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from cvtutor import checks

ENV_VAR = "CVTUTOR_PROFILE"


@dataclasses.dataclass(frozen=True)
class Profile:
    """Sizes for one kind of run.

    Attributes:
        name: ``"quick"`` or ``"full"``.
        train_size: training images to use, or ``None`` for all of them.
        test_size: test images to use, or ``None`` for all of them.
        max_epochs: cap on any chapter's epoch count, or ``None`` for no cap.
    """

    name: str
    train_size: int | None
    test_size: int | None
    max_epochs: int | None

    @property
    def is_quick(self) -> bool:
        return self.name == "quick"

    def epochs(self, full_epochs: int) -> int:
        """The epochs to train for when the full run needs ``full_epochs``.

        Raises:
            TypeError: ``full_epochs`` is not an integer.
            ValueError: ``full_epochs`` is below 1.
        """
        full_epochs = checks.positive_int("full_epochs", full_epochs)
        return full_epochs if self.max_epochs is None else min(full_epochs, self.max_epochs)

    def subset(self, x: np.ndarray, y: np.ndarray, split: str = "train"):
        """The first ``train_size`` (or ``test_size``) examples of ``(x, y)``.

        ``cvtutor.data.load_cifar10`` returns the examples in a mixed class
        order, so a prefix is a fair sample of every class.

        Raises:
            TypeError: ``split`` is not a string.
            ValueError: ``split`` is neither ``"train"`` nor ``"test"``, or ``x`` and ``y``
                differ in length.
        """
        checks.one_of("split", split, ("train", "test"))
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: {len(x)} images, {len(y)} labels")
        size = self.train_size if split == "train" else self.test_size
        if size is None:
            return x, y
        return x[:size], y[:size]


#: The run profiles by name (``quick`` and ``full``), what :func:`get_profile` looks up.
PROFILES = {
    "quick": Profile("quick", train_size=2000, test_size=1000, max_epochs=1),
    "full": Profile("full", train_size=None, test_size=None, max_epochs=None),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile named ``name`` (in any case), or by ``$CVTUTOR_PROFILE`` (default ``"full"``).

    Raises:
        TypeError: ``name`` is neither a string nor None.
        ValueError: ``name`` (or ``$CVTUTOR_PROFILE``) names no profile of :data:`cvtutor.profiles.PROFILES`.
    """
    where = "name"
    if name is None:
        name, where = os.environ.get(ENV_VAR, "").strip() or "full", f"${ENV_VAR}"
    key = name.lower() if isinstance(name, str) else name
    return PROFILES[checks.one_of(where, key, sorted(PROFILES))]
