"""An execution cache that cannot lie: myst-nb's jupyter-cache, in a folder named by what else changes an output.

_config.yml asks myst-nb for ``execute_notebooks: cache``: a notebook executes only when no
earlier execution of the same code cells is cached, so an edit to the prose rebuilds the book
without executing anything. jupyter-cache, though, matches a notebook by its code cells, their
metadata and its kernel's name only; it would hand back outputs computed with another cvtutor,
another run profile, other data or other library versions. So, when the build starts
(``config-inited``), this extension runs ``execution_key.py`` with the Python and the
environment of the kernel that will execute the notebooks, hashes what it reports (cvtutor's
installed source, the run profile, the data's identity, the library versions; see that file)
and points ``nb_execution_cache_path`` at ``<cache folder>/<hash>``. A change to any of those
opens an empty cache folder: every notebook executes again. ``key.json`` in each folder says
what its key was made of; folders of keys unused in the last ``KEEP`` builds are removed.

The cache folder is myst-nb's default, ``_build/.jupyter_cache``, unless ``execute.cache`` in
_config.yml names another.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
KEY_SCRIPT = Path(__file__).with_name("execution_key.py")
KEY_FILE = "key.json"
KEEP = 4  # key folders kept: e.g. both profiles, before and after a change, in both
KEY_TIMEOUT_S = 300  # hashing a 163 MiB archive on a slow disk


def kernel_command(kernel_name: str) -> tuple[list[str], dict[str, str]]:
    """The Python that runs ``kernel_name``'s kernels and the environment it gets, as nbclient
    starts it (this process's environment updated by the kernel spec's ``env``).

    Raises:
        ExtensionError: no such kernel, or its kernel spec does not start a Python.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise ExtensionError(f"execution cache: no Jupyter kernel named {kernel_name!r} (see `jupyter kernelspec list`)") from None
    env = dict(os.environ, **spec.env)
    python = shutil.which(spec.argv[0], path=env.get("PATH")) or spec.argv[0]
    if spec.language.lower() != "python" or not Path(python).is_file():
        raise ExtensionError(f"execution cache: kernel {kernel_name!r} does not start a Python: {spec.argv}")
    return [python], env


def kernel_components(kernel_name: str) -> dict:
    """What ``execution_key.py`` reports when run by ``kernel_name``'s Python, in an empty folder
    (as the notebooks run), plus the kernel's name.

    Raises:
        ExtensionError: the kernel's Python failed to run it (the message quotes its last line).
    """
    command, env = kernel_command(kernel_name)
    with tempfile.TemporaryDirectory(prefix="cvtutor-key-") as empty:
        result = subprocess.run([*command, str(KEY_SCRIPT)], cwd=empty, env=env, capture_output=True,
                                text=True, timeout=KEY_TIMEOUT_S)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ExtensionError(f"execution cache: {command[0]} {KEY_SCRIPT.name} failed: {last}")
    return {"kernel": kernel_name, **json.loads(result.stdout)}


def cache_key(components: dict) -> str:
    """A SHA-256 of ``components`` (JSON, keys sorted)."""
    return hashlib.sha256(json.dumps(components, sort_keys=True).encode()).hexdigest()


def keyed_folder(base: Path, components: dict) -> Path:
    """``base/<first 16 hex digits of the key>``, made if new, with ``key.json`` (re)written, so
    its modification time says when the key was last used."""
    folder = base / cache_key(components)[:16]
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".{KEY_FILE}.{os.getpid()}"
    scratch.write_text(json.dumps(components, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(scratch, folder / KEY_FILE)
    return folder


def prune(base: Path, keep: int = KEEP) -> list[Path]:
    """Remove the key folders under ``base`` (those with a ``key.json``) but the ``keep`` most
    recently used; returns the removed ones."""
    folders = sorted((p for p in base.iterdir() if (p / KEY_FILE).is_file()),
                     key=lambda p: (p / KEY_FILE).stat().st_mtime, reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return folders[keep:]


# Folders a reader may give relative to where the build started; the kernels run elsewhere.
PATH_VARIABLES = ("CVTUTOR_DATA", "CVTUTOR_CACHE", "KERAS_HOME")


def absolute_paths(environ=os.environ) -> None:
    """Make the folders in ``PATH_VARIABLES`` absolute (relative to this process's working
    folder), since every notebook executes in an empty temporary folder (``run_in_temp``)."""
    for name in PATH_VARIABLES:
        if environ.get(name):
            environ[name] = os.path.abspath(os.path.expanduser(environ[name]))


def use_keyed_cache(app, config) -> None:
    """config-inited: point ``nb_execution_cache_path`` at the folder of this build's key."""
    absolute_paths()
    if config.nb_execution_mode != "cache":
        return
    base = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    if not base.is_absolute():
        base = Path(app.confdir) / base
    start = time.perf_counter()
    components = kernel_components(config.cvtutor_execution_kernel)
    folder = keyed_folder(base, components)
    prune(base)
    config.nb_execution_cache_path = str(folder)
    LOGGER.info(f"execution cache: {folder} (key of kernel {components['kernel']!r}, profile "
                f"{components['profile']!r}, read in {time.perf_counter() - start:.1f} s)")


def setup(app):
    # The kernel the book's notebooks declare (tests/test_book.py checks that they all do).
    app.add_config_value("cvtutor_execution_kernel", "python3", "env")
    app.connect("config-inited", use_keyed_cache)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # print this environment's key: python book/_ext/execution_cache.py
    print(json.dumps(kernel_components(sys.argv[1] if len(sys.argv) > 1 else "python3"), indent=1))
