"""Random corruption of CIFAR-10 copies: only the documented errors, never a hang or a wrong array.

The archives carry integrity checks (the official release its SHA-256, a
gzipped tarball its CRC-32), so any change to their bytes must either raise
``CorruptDataError``/``CIFAR10NotFoundError`` or, if the change is in padding
that no reader looks at, give back exactly the original arrays.
"""

import contextlib
import signal

import numpy as np
import pytest
from cifar_fakes import official_batches, tar_tree, write_class_tree, write_official_archive
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvtutor.data import CIFAR10NotFoundError, CorruptDataError, load_cifar10
from cvtutor.data import official
from cvtutor.data.official import ARCHIVE_NAME, sha256_of

DOCUMENTED = (CorruptDataError, CIFAR10NotFoundError)


@contextlib.contextmanager
def time_limit(seconds: int):
    """Fail, rather than hang, if the body runs longer than ``seconds``."""

    def expire(signum, frame):
        raise TimeoutError(f"the loader hung for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """The original bytes and arrays of a small class-folder tarball and a fake official archive."""
    root = tmp_path_factory.mktemp("pristine")
    write_class_tree(root / "tree", n_train=40, n_test=20)
    tarball = tar_tree(root / "tree", root / "copy.tar.gz")
    archive = write_official_archive(root / ARCHIVE_NAME, official_batches(per_batch=10))
    sources = {}
    for kind, path in (("tarball", tarball), ("official", archive)):
        data = path.read_bytes()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(official, "ARCHIVE_SHA256", sha256_of(archive))
            mp.setenv("CVTUTOR_CACHE", str(root / f"cache-{kind}"))
            sources[kind] = (path.name, data, load_cifar10(path), sha256_of(archive))
    return sources


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 0.999)),
    st.tuples(st.just("flip"), st.floats(0.0, 0.999), st.integers(1, 255)),
    st.tuples(st.just("splice"), st.floats(0.0, 0.999), st.binary(min_size=1, max_size=64)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["tarball", "official"]), change=mutation)
def test_corrupted_archives_raise_only_documented_errors(pristine, tmp_path_factory, monkeypatch, kind, change):
    name, data, expected, official_sha = pristine[kind]
    at = int(change[1] * len(data))
    if change[0] == "truncate":
        damaged = data[:at]
    elif change[0] == "flip":
        damaged = data[:at] + bytes([data[at] ^ change[2]]) + data[at + 1 :]
    else:
        damaged = data[:at] + change[2] + data[at + len(change[2]) :]
    folder = tmp_path_factory.mktemp("damaged")
    path = folder / name
    path.write_bytes(damaged)
    monkeypatch.setattr(official, "ARCHIVE_SHA256", official_sha)
    monkeypatch.setenv("CVTUTOR_CACHE", str(folder / "cache"))
    with time_limit(30):
        try:
            result = load_cifar10(path)
        except DOCUMENTED as e:
            assert name in str(e) or "cifar-10-batches-py" in str(e)
            return
    for (x, y), (ex, ey) in zip(result, expected):  # accepted: it must be exactly the original data
        np.testing.assert_array_equal(x, ex)
        np.testing.assert_array_equal(y, ey)
