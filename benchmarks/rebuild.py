"""What a rebuild of the book costs after an edit, with the execution cache: seconds, and what executed.

    python -m benchmarks.rebuild --profile full --keep /tmp/cvtutor-rebuild
    python -m benchmarks.rebuild --profile quick --module-edit

The book's sources (``_config.yml``, ``_toc.yml``, ``book/``) and the package (``cvtutor/``) are
copied into a scratch folder (``--keep DIR``, or a temporary one), so the checkout is never edited.
The notebooks run in a kernel of this Python whose ``PYTHONPATH`` holds that copy of cvtutor, so
that editing the copy is editing the installed package. Then, each build with the README's flags
(``--all -W --keep-going``, ``--path-output`` in the scratch folder, its execution cache there):

1. ``first``: the starting build. It executes every notebook, unless ``--keep`` names the folder
   of an earlier run whose cache still holds them under the same key.
2. ``prose``: one paragraph of prose edited (a sentence appended to the first paragraph after the
   title of ``--chapter``). Expected: nothing executes, and every glued value (each
   notebook's ``.glue.json``) and executed notebook equals the first build's. Target: at most
   ``TARGET_PROSE_SECONDS`` in the full profile.
3. ``module`` (with ``--module-edit``): a comment appended to ``cvtutor/profiles.py`` in the copy.
   Expected: every notebook executes again.

The record (``benchmarks/results/rebuilds/<profile>-<time>.json``) holds each step's seconds, the
notebooks executed and taken from the cache, whether the glued values stayed the same, and the
commit and command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.book_build import _commit, notebook_outcomes
from cvtutor.records import write_record

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "rebuilds"
TARGET_PROSE_SECONDS = 180
SENTENCE = " (This sentence was added by benchmarks/rebuild.py.)"
# myst-nb logs "<path>: Using cached notebook: ID=3 [mystnb]" for a notebook taken from the cache.
_CACHED = re.compile(r"^(?P<path>.+?): Using cached notebook", re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def copy_sources(scratch: Path) -> tuple[Path, Path]:
    """Copy the book's sources into ``scratch/book`` and the package into ``scratch/site``
    (replacing earlier copies, so every run starts from the checkout as it is)."""
    book, site = scratch / "book", scratch / "site"
    for folder in (book / "book", site):
        shutil.rmtree(folder, ignore_errors=True)
    book.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, book / name)
    shutil.copytree(ROOT / "book", book / "book", ignore=shutil.ignore_patterns("_build", "__pycache__"))
    shutil.copytree(ROOT / "cvtutor", site / "cvtutor", ignore=shutil.ignore_patterns("__pycache__"))
    return book, site


def write_kernel(scratch: Path, site: Path) -> Path:
    """A kernel spec ``python3`` for this Python with ``site`` first on its path; returns the
    folder for ``JUPYTER_PATH``. The path is absolute: the notebooks run in temporary folders, where
    a relative one would name nothing and the kernel would import another cvtutor (an editable
    install of the checkout) without a word."""
    site = Path(site).resolve()
    spec = scratch / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (cvtutor copy)", "language": "python", "env": {"PYTHONPATH": str(site)}}))
    return scratch / "jupyter"


def kernel_cvtutor(out: Path) -> Path | None:
    """Where the build's kernel imported cvtutor from, as its execution key recorded it
    (``book/_ext/execution_cache.py`` writes ``key.json`` beside the cached notebooks)."""
    keys = sorted((out / "_build" / ".jupyter_cache").glob("*/key.json"), key=lambda p: p.stat().st_mtime)
    if not keys:
        return None
    location = (json.loads(keys[-1].read_text(encoding="utf-8")).get("cvtutor") or {}).get("location")
    return Path(location).resolve() if location else None


def edit_prose(notebook: Path) -> str:
    """Append ``SENTENCE`` to the first Markdown paragraph after the title; returns the paragraph's start."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        paragraphs = text.split("\n\n")
        for i, paragraph in enumerate(paragraphs):
            if paragraph.strip() and not paragraph.lstrip().startswith(("#", "(", "```", ":::", "|", "-", "$$")):
                paragraphs[i] = paragraph.rstrip() + SENTENCE
                cell["source"] = "\n\n".join(paragraphs)
                notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
                return paragraph.strip()[:60]
    raise ValueError(f"{notebook} has no paragraph of prose to edit")


def outputs(html_root: Path) -> dict[str, str]:
    """What a reader sees of each executed page: its glued values (``jupyter_execute/**.glue.json``,
    parsed) and its HTML from the start of the page's content on, the edited sentence taken out."""
    executed = html_root.parent / "jupyter_execute"
    found = {}
    for path in sorted(executed.rglob("*.glue.json")):
        glued = json.loads(path.read_text(encoding="utf-8"))
        found[path.relative_to(executed).as_posix()] = json.dumps(glued, sort_keys=True)
    for path in sorted(executed.rglob("*.ipynb")):
        page = html_root / path.relative_to(executed).with_suffix(".html")
        text = page.read_text(encoding="utf-8").replace(SENTENCE, "")
        found[page.relative_to(html_root).as_posix()] = text[text.find('id="main-content"'):]
    return found


def build(book: Path, out: Path, env: dict) -> dict:
    """One build; its seconds and which notebooks executed or came from the cache."""
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(book), "--all", "-W",
               "--keep-going", "--path-output", str(out)]
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    log = result.stdout + result.stderr
    executed, failed = notebook_outcomes(log, book)
    cached = sorted({Path(m["path"].strip()).resolve().relative_to(book.resolve()).as_posix()
                     for m in _CACHED.finditer(_ANSI.sub("", log))})
    return {"seconds": seconds, "returncode": result.returncode, "executed": sorted(executed),
            "cached": cached, "failed": failed, "error_tail": log[-2000:] if result.returncode else ""}


def run(profile: str, scratch: Path, chapter: str, module_edit: bool, data_dir: str | None, command: str = "") -> dict:
    book, site = copy_sources(scratch)
    env = os.environ | {"CVTUTOR_PROFILE": profile, "JUPYTER_PATH": str(write_kernel(scratch, site))}
    env.pop("PYTHONPATH", None)
    if data_dir:
        env["CVTUTOR_DATA"] = os.path.abspath(data_dir)
    out = scratch / "out"
    steps = {"first": build(book, out, env)}
    used = kernel_cvtutor(out)
    if used != (site / "cvtutor").resolve():
        raise RuntimeError(f"the notebooks imported cvtutor from {used}, not from the copy in {site}: "
                           f"the rebuild would measure another package")
    before = outputs(out / "_build" / "html")
    edited = edit_prose(book / "book" / chapter)
    steps["prose"] = build(book, out, env)
    after = outputs(out / "_build" / "html")
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    steps["prose"].update(edited=f"book/{chapter}: {edited}...", outputs_changed=changed)
    if module_edit:
        module = site / "cvtutor" / "profiles.py"
        module.write_text(module.read_text(encoding="utf-8") + "\n# edited by benchmarks/rebuild.py\n", encoding="utf-8")
        steps["module"] = build(book, out, env)
        steps["module"]["edited"] = "cvtutor/profiles.py: a comment appended"
    notebooks = steps["first"]["executed"] or steps["first"]["cached"]  # every executed page (book/api/cli.md too)
    prose = steps["prose"]
    return {
        "benchmark": "rebuild",
        "profile": profile,
        "steps": steps,
        "notebooks": len(notebooks),
        "prose_executed_nothing": prose["returncode"] == 0 and not prose["executed"] and prose["cached"] == notebooks,
        "prose_outputs_unchanged": prose["returncode"] == 0 and not prose["outputs_changed"],
        "prose_within_target": prose["returncode"] == 0 and prose["seconds"] <= TARGET_PROSE_SECONDS,
        "target_prose_seconds": TARGET_PROSE_SECONDS,
        "module_executed_every_notebook": (steps["module"]["executed"] == notebooks) if module_edit else None,
        "cpus": os.cpu_count(),
        "load_average_end": os.getloadavg()[0],
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": _commit(ROOT),
        "command": command,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rebuild", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=["quick", "full"], default="quick")
    parser.add_argument("--chapter", default="convolution.ipynb", help="the notebook whose prose is edited")
    parser.add_argument("--module-edit", action="store_true", help="then edit a cvtutor module and rebuild")
    parser.add_argument("--data-dir", help="CIFAR-10 location (default $CVTUTOR_DATA, else Keras)")
    parser.add_argument("--keep", type=Path, help="scratch folder to keep (and reuse: its cache survives)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"folder for the JSON record (default {RESULTS})")
    args = parser.parse_args(argv)
    if not (ROOT / "book" / args.chapter).is_file():
        parser.error(f"--chapter: no notebook book/{args.chapter}")
    # the command as run, its scratch folder relative to the checkout (records name no machine's folder)
    command = " ".join(["python", "-m", "benchmarks.rebuild", f"--profile {args.profile}", f"--chapter {args.chapter}",
                        *(["--module-edit"] if args.module_edit else []),
                        *([f"--data-dir {args.data_dir}"] if args.data_dir else []),
                        *([f"--keep {os.path.relpath(args.keep, ROOT)}"] if args.keep else [])])
    with tempfile.TemporaryDirectory(prefix="cvtutor-rebuild-") as scratch:
        record = run(args.profile, args.keep or Path(scratch), args.chapter, args.module_edit, args.data_dir, command)
    path = write_record(record, args.out, args.profile, data_dir=args.data_dir)
    print(f"wrote {path}")
    for name, step in record["steps"].items():
        print(f"  {name:6s} {step['seconds']:7.0f} s  exit {step['returncode']}  executed {len(step['executed'])}, "
              f"from the cache {len(step['cached'])}")
    ok = record["prose_executed_nothing"] and record["prose_outputs_unchanged"] and record["module_executed_every_notebook"] is not False
    return 0 if ok and all(step["returncode"] == 0 for step in record["steps"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
