"""CIFAR-10 and the reader's own class folders: loading them as arrays, and feeding them to models.

Importing this module does not import TensorFlow; :func:`make_dataset` does,
on first use.
"""

from cvtutor.data.cifar10 import CLASS_NAMES, Source, find_cifar10, load_cifar10
from cvtutor.data.errors import CIFAR10NotFoundError, CorruptDataError
from cvtutor.data.folders import load_image_folder
from cvtutor.data.images import load_image
from cvtutor.data.pipeline import AUGMENT_PAD, augment_images, make_dataset, to_float
from cvtutor.data.splits import (
    VALIDATION_SEED,
    VALIDATION_SPLIT,
    held_out_count,
    split_validation,
    trained_count,
    validation_count,
)

__all__ = [
    "AUGMENT_PAD",
    "CLASS_NAMES",
    "CIFAR10NotFoundError",
    "CorruptDataError",
    "Source",
    "VALIDATION_SEED",
    "VALIDATION_SPLIT",
    "augment_images",
    "find_cifar10",
    "held_out_count",
    "trained_count",
    "load_cifar10",
    "load_image",
    "load_image_folder",
    "make_dataset",
    "split_validation",
    "to_float",
    "validation_count",
]
