"""The book's execution cache cannot lie: a change to anything that decides an output re-executes.

jupyter-cache keys a notebook on its code cells; book/_ext/execution_cache.py puts the rest into
the cache folder's name (book/_ext/execution_key.py reads it in the kernel's environment). The
fast tests change each part of the key in turn and see the key change; the slow one builds a
one-notebook book with the real extension again and again and reads, from jupyter-book's log,
whether the notebook executed or came from the cache.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cifar_fakes import tar_tree, write_class_tree
from conftest import ROOT

EXT = ROOT / "book" / "_ext"


def _module(name):
    spec = importlib.util.spec_from_file_location(name, EXT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


key = _module("execution_key")


def test_the_book_executes_through_the_keyed_cache_in_empty_folders():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "cache" and config["execute"]["run_in_temp"] is True
    assert "execution_cache" in config["sphinx"]["config"]["extensions"]


def test_every_notebook_declares_the_kernel_whose_environment_is_keyed():
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        assert json.loads(path.read_text())["metadata"]["kernelspec"]["name"] == "python3", path.name


def test_the_package_digest_changes_with_any_file_but_not_with_bytecode(tmp_path):
    package = tmp_path / "pkg"
    (package / "resources").mkdir(parents=True)
    (package / "__init__.py").write_text("x = 1\n")
    (package / "resources" / "table.json").write_text("{}")
    before = key.package_digest(package)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
    assert key.package_digest(package) == before
    (package / "resources" / "table.json").write_text('{"a": 1}')
    assert key.package_digest(package) != before
    (package / "resources" / "table.json").write_text("{}")
    (package / "resources" / "table.json").rename(package / "resources" / "other.json")
    assert key.package_digest(package) != before, "a renamed file changes the digest"


def test_the_key_reads_cvtutors_own_requirements_and_their_versions(monkeypatch):
    names = key.requirement_names(['tensorflow>=2.16', 'numpy>=1.23', 'scipy>=1.9; extra == "notebooks"',
                                   'cvtutor[notebooks]; extra == "book"', 'pytest>=7; extra == "dev"'])
    assert names == ["numpy", "scipy", "tensorflow"]
    parts = key.components()
    assert parts["cvtutor"]["location"] == str(Path(importlib.util.find_spec("cvtutor").origin).parent.resolve())
    assert {"keras", "tensorflow", "numpy", "scipy", "scikit-image", "matplotlib", "pillow"} <= set(parts["distributions"])
    import keras

    assert parts["distributions"]["keras"] == keras.__version__
    real = key.metadata.version
    monkeypatch.setattr(key.metadata, "version", lambda name: "0.0.1" if name == "numpy" else real(name))
    assert key.components()["distributions"]["numpy"] == "0.0.1"


@pytest.mark.parametrize("variable, values", [
    ("CVTUTOR_PROFILE", ("quick", "full")),
    ("KERAS_BACKEND", ("jax", "tensorflow")),
])
def test_the_key_changes_with_the_run_profile_and_the_backend(monkeypatch, variable, values):
    seen = []
    for value in values:
        monkeypatch.setenv(variable, value)
        seen.append(key.components())
    assert seen[0] != seen[1]


def test_the_key_is_the_same_before_and_after_keras_writes_its_config(monkeypatch, tmp_path):
    # A fresh KERAS_HOME has no keras.json until Keras first runs (in the English build's first
    # notebook); the Chinese build that follows must find the same key (CI found it did not).
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    before = key.components()
    subprocess.run([sys.executable, "-c", "import keras"], env=dict(os.environ, KERAS_HOME=str(tmp_path)), check=True)
    assert (tmp_path / "keras.json").is_file()
    assert key.components() == before
    (tmp_path / "keras.json").write_text(json.dumps({**key.KERAS_DEFAULTS, "floatx": "float16"}))
    assert key.components()["keras_config"] != before["keras_config"]
    (tmp_path / "keras.json").write_text("{not json")
    assert key.components()["keras_config"] != before["keras_config"]


def test_the_key_changes_with_the_data(monkeypatch, tmp_path):
    write_class_tree(tmp_path / "tree")
    (tmp_path / "data").mkdir()
    tarball = tar_tree(tmp_path / "tree", tmp_path / "data" / "cifar10-jpeg.tar.gz")
    monkeypatch.setenv("CVTUTOR_DATA", str(tarball.parent))
    first = key.components()["data"]
    assert first["kind"] == "class-folders"
    image = next((tmp_path / "tree").rglob("*.png"))
    image.write_bytes(image.read_bytes() + b"\0")
    tar_tree(tmp_path / "tree", tarball)
    assert key.components()["data"] != first, "other bytes in the tarball"
    monkeypatch.setenv("CVTUTOR_DATA", str(tmp_path / "tree"))
    tree = key.components()["data"]
    os.utime(image, ns=(1, 1))
    assert key.components()["data"] != tree, "a file of the tree changed"
    monkeypatch.setenv("CVTUTOR_DATA", str(tmp_path / "nowhere"))
    assert key.components()["data"]["kind"] is None, "data that is not there is not 'the download'"
    monkeypatch.delenv("CVTUTOR_DATA")
    assert key.components()["data"]["kind"] == "download"  # isolated_data_env: an empty Keras cache


def test_key_folders_are_named_by_the_key_and_pruned_to_the_most_recent(tmp_path):
    cache = _module("execution_cache")
    folders = []
    for i in range(cache.KEEP + 2):
        folder = cache.keyed_folder(tmp_path, {"part": i})
        os.utime(folder / cache.KEY_FILE, (i, i))  # used in this order
        folders.append(folder)
    assert len({f.name for f in folders}) == len(folders)
    assert json.loads((folders[0] / cache.KEY_FILE).read_text()) == {"part": 0}
    assert cache.keyed_folder(tmp_path, {"part": 0}) == folders[0], "the same key, the same folder, now the newest"
    removed = cache.prune(tmp_path)
    assert removed == [folders[2], folders[1]] and not any(f.exists() for f in removed)
    assert all(f.exists() for f in [folders[0], *folders[3:]])


def test_relative_data_folders_are_made_absolute_for_kernels_that_run_elsewhere(tmp_path, monkeypatch):
    cache = _module("execution_cache")
    monkeypatch.chdir(tmp_path)
    environ = {"CVTUTOR_DATA": "../data", "CVTUTOR_CACHE": "~/c", "OTHER": "x"}
    cache.absolute_paths(environ)
    assert environ == {"CVTUTOR_DATA": str(tmp_path.parent / "data"), "CVTUTOR_CACHE": os.path.expanduser("~/c"),
                       "OTHER": "x"}


# --- a real one-notebook book, built again and again --------------------------------------------

TOY_CODE = "import os, cvtutor\nprint(os.path.basename(os.path.dirname(cvtutor.__file__)), os.environ.get('CVTUTOR_PROFILE'))"


def _toy_book(root: Path) -> Path:
    book = root / "book"
    book.mkdir()
    (book / "_config.yml").write_text(
        "title: toy\nonly_build_toc_files: true\n"
        "execute:\n  execute_notebooks: cache\n  run_in_temp: true\n"
        f"sphinx:\n  local_extensions:\n    execution_cache: {EXT}\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    _write_notebook(book, "# Toy\n\nFirst words.", TOY_CODE)
    return book


def _write_notebook(book: Path, prose: str, code: str) -> None:
    nb = {"cells": [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": prose},
                    {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": code}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (book / "index.ipynb").write_text(json.dumps(nb))


@pytest.mark.slow
def test_a_rebuild_executes_again_exactly_when_a_part_of_the_key_changed(tmp_path):
    # The kernel: this Python, with a copy of cvtutor first on its path (so that the test can edit
    # "the installed source") and a fake numpy metadata folder (so it can change a library version).
    site = tmp_path / "site"
    shutil.copytree(ROOT / "cvtutor", site / "cvtutor", ignore=shutil.ignore_patterns("__pycache__"))
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python", "env": {"PYTHONPATH": str(site)}}))
    write_class_tree(tmp_path / "tree")
    book = _toy_book(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CVTUTOR_PROFILE")}
    env.update(JUPYTER_PATH=str(tmp_path / "jupyter"), CVTUTOR_DATA=str(tmp_path / "tree"), CVTUTOR_PROFILE="quick")
    program = Path(sys.executable).with_name("jupyter-book")

    def build() -> str:
        result = subprocess.run([str(program), "build", str(book), "--all", "-W"], env=env, capture_output=True,
                                text=True, timeout=600)
        log = result.stdout + result.stderr
        assert result.returncode == 0, log[-3000:]
        executed, cached = log.count("Executed notebook in"), log.count("Using cached notebook")
        assert executed + cached == 1, log[-3000:]
        return "executed" if executed else "cached"

    def page() -> str:
        return (book / "_build" / "html" / "index.html").read_text()

    assert build() == "executed"
    assert "cvtutor quick" in page(), "the kernel imported the copy, in the quick profile"
    assert build() == "cached", "nothing changed"
    _write_notebook(book, "# Toy\n\nOther words.", TOY_CODE)
    assert build() == "cached", "a prose edit executes nothing"
    assert "Other words." in page() and "cvtutor quick" in page()

    changes = {
        "the installed cvtutor source": lambda: (site / "cvtutor" / "profiles.py").write_text(
            (site / "cvtutor" / "profiles.py").read_text() + "\n# edited\n"),
        "the run profile": lambda: env.update(CVTUTOR_PROFILE="full"),
        "the data": lambda: next((tmp_path / "tree").rglob("*.png")).write_bytes(b"\x89PNG changed"),
        "a library version": lambda: (site / "numpy-0.0.1.dist-info").mkdir() or
            (site / "numpy-0.0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: numpy\nVersion: 0.0.1\n"),
        "the code cells": lambda: _write_notebook(book, "# Toy\n\nOther words.", TOY_CODE + "\nprint(2)"),
    }
    for what, change in changes.items():
        change()
        assert build() == "executed", f"{what} changed, but the notebook came from the cache"
        if what == "the installed cvtutor source":  # the key is computed alike each time: once is enough
            assert build() == "cached", f"after the change of {what}, a second build reuses the execution"
    assert "cvtutor full" in page()
    keys = [json.loads(p.read_text()) for p in (book / "_build" / ".jupyter_cache").glob("*/key.json")]
    assert len(keys) == 4 and all(k["cvtutor"]["location"] == str((site / "cvtutor").resolve()) for k in keys)


def test_the_rebuild_benchmark_edits_one_paragraph_of_prose_and_no_code(tmp_path):
    from benchmarks import rebuild

    notebook = tmp_path / "chapter.ipynb"
    shutil.copy(ROOT / "book" / "convolution.ipynb", notebook)
    before = json.loads(notebook.read_text())
    start = rebuild.edit_prose(notebook)
    after = json.loads(notebook.read_text())
    changed = [(b, a) for b, a in zip(before["cells"], after["cells"]) if b != a]
    assert len(changed) == 1 and changed[0][0]["cell_type"] == "markdown"
    old, new = "".join(changed[0][0]["source"]), changed[0][1]["source"]
    assert new.count(rebuild.SENTENCE) == 1 and new.replace(rebuild.SENTENCE, "") == old and start in old
    assert not new.split(rebuild.SENTENCE)[0].rsplit("\n\n", 1)[-1].startswith("#"), "prose, not a heading"


def test_a_session_that_ends_stops_its_build_with_every_process_it_started(tmp_path):
    # The build command starts jupyter-book, which starts kernels: none may go on building (and
    # loading the machine) after pytest has finished or been interrupted.
    import threading
    import time

    from book_session import BookPipeline

    pipeline = BookPipeline(tmp_path, dict(os.environ), None)
    pid_file = tmp_path / "grandchild.pid"
    code = ("import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            "time.sleep(120)")
    caller = threading.Thread(target=pipeline._call, args=([sys.executable, "-c", code],))
    caller.start()
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    pipeline.stop()
    caller.join(10)
    assert not caller.is_alive()
    for _ in range(100):
        status = Path(f"/proc/{grandchild}/status")
        if not status.exists() or "State:\tZ" in status.read_text():
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"process {grandchild}, started by the build command, still runs after the session stopped")


def test_the_rebuild_benchmarks_kernel_imports_the_copy_from_any_folder(tmp_path, monkeypatch):
    # A relative scratch folder (--keep ../x, as a record without machine paths wants) once gave the
    # kernel a relative PYTHONPATH that named nothing from the notebooks' temporary folders, so the
    # build imported the checkout's editable cvtutor instead of the copy it was measuring.
    from benchmarks import rebuild

    monkeypatch.chdir(tmp_path)
    (tmp_path / "site" / "cvtutor").mkdir(parents=True)
    (tmp_path / "site" / "cvtutor" / "__init__.py").write_text("COPY = True\n")
    spec = json.loads((rebuild.write_kernel(Path("scratch"), Path("site")) / "kernels" / "python3" / "kernel.json").read_text())
    site = spec["env"]["PYTHONPATH"]
    assert Path(site).is_absolute() and Path(site) == (tmp_path / "site").resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = subprocess.run([sys.executable, "-c", "import cvtutor; print(cvtutor.__file__)"], cwd=elsewhere,
                           env=dict(os.environ, PYTHONPATH=site), capture_output=True, text=True).stdout.strip()
    assert Path(found).resolve() == (tmp_path / "site" / "cvtutor" / "__init__.py").resolve()
    # and the benchmark reads back which cvtutor the build's kernel used
    key = tmp_path / "out" / "_build" / ".jupyter_cache" / "abc" / "key.json"
    key.parent.mkdir(parents=True)
    key.write_text(json.dumps({"cvtutor": {"location": str(tmp_path / "site" / "cvtutor")}}))
    assert rebuild.kernel_cvtutor(tmp_path / "out") == (tmp_path / "site" / "cvtutor").resolve()
