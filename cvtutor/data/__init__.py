"""CIFAR-10 and the reader's own class folders: loading them as arrays, and feeding them to models.

Importing this module does not import TensorFlow; :func:`make_dataset` does,
on first use.
"""

from cvtutor.data.cifar10 import CLASS_NAMES, Source, find_cifar10, load_cifar10
from cvtutor.data.errors import CIFAR10NotFoundError, CorruptDataError
from cvtutor.data.folders import load_image_folder
from cvtutor.data.images import load_image
from cvtutor.data.pipeline import augment_images, make_dataset, to_float

__all__ = [
    "CLASS_NAMES",
    "CIFAR10NotFoundError",
    "CorruptDataError",
    "Source",
    "augment_images",
    "find_cifar10",
    "load_cifar10",
    "load_image",
    "load_image_folder",
    "make_dataset",
    "to_float",
]
