"""The exceptions the CIFAR-10 loader documents (and the only ones it raises for bad data)."""

from __future__ import annotations


class CIFAR10NotFoundError(FileNotFoundError):
    """No copy of CIFAR-10 was found and none could be downloaded.

    Attributes:
        places: the paths (and the download address) that were tried, in order.
    """

    def __init__(self, message: str, places: list[str] | tuple[str, ...] = ()):
        super().__init__(message)
        self.places = list(places)


class CorruptDataError(ValueError):
    """A data file exists but its content is not what CIFAR-10 holds.

    Raised for truncated or damaged archives, checksum mismatches, images that
    do not decode or have the wrong size, and unexpected files in a class
    folder. ``path`` names the offending file.
    """

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem
