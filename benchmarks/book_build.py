"""Time a whole build of the book in one run profile and write a JSON record of it.

    python -m benchmarks.book_build --profile quick

The build is the README's (``jupyter-book build <book> --all``, every
notebook executed) but goes to a temporary folder (or ``--keep DIR``), so
``_build/`` is left alone. The record holds the whole build's seconds and each
notebook's execution seconds as myst-nb reports them, so a chapter that runs
over its time budget shows by name. Records go to
``benchmarks/results/book-builds/<profile>-<time>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cvtutor.records import write_record

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "book-builds"
# myst-nb logs "<path>: Executed notebook in 12.34 seconds [mystnb]" once per executed notebook.
_EXECUTED = re.compile(r"^(?P<path>.+?): Executed notebook in (?P<seconds>[0-9.]+) seconds", re.MULTILINE)
_FAILED = re.compile(r"^(?P<path>.+?): WARNING: Executing notebook failed", re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _page(logged: str, book: Path) -> str:
    path = Path(logged.strip())
    try:
        return path.resolve().relative_to(Path(book).resolve()).as_posix()
    except ValueError:
        return path.as_posix()  # outside the book: the path as logged


def notebook_outcomes(log: str, book: Path) -> tuple[dict[str, float], list[str]]:
    """From a build's log: ``{page: execution seconds}`` and the pages whose execution failed
    (myst-nb warns and the build goes on). Pages are relative to ``book``, e.g. ``"book/cnn_classifier.ipynb"``."""
    log = _ANSI.sub("", log)
    seconds = {_page(m["path"], book): float(m["seconds"]) for m in _EXECUTED.finditer(log)}
    failed = sorted({_page(m["path"], book) for m in _FAILED.finditer(log)})
    return seconds, failed


def _commit(book: Path) -> str | None:
    """The checkout's commit (``None`` outside git), so a record says which pages it timed."""
    result = subprocess.run(["git", "-C", str(book), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or None


def build_book(book: Path, profile: str, data_dir: str | None = None, keep: Path | None = None) -> dict:
    """Build ``book`` with ``CVTUTOR_PROFILE=profile`` and return the record (seconds, return code, ...).

    Args:
        keep: folder to build into and keep (its ``_build/jupyter_execute`` holds the
            executed notebooks); by default a temporary folder, removed afterwards.
    """
    env = os.environ | {"CVTUTOR_PROFILE": profile}
    if data_dir:
        env["CVTUTOR_DATA"] = data_dir
    with tempfile.TemporaryDirectory(prefix="cvtutor-book-") as scratch:
        out = Path(keep) if keep else Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(book), "--all",
                   "--path-output", str(out)]
        load_start = os.getloadavg()[0]
        start = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        pages = len(list(Path(out, "_build", "html").rglob("*.html")))
    executed, failed = notebook_outcomes(result.stdout + result.stderr, book)
    return {
        "kind": "book-build",
        "profile": profile,
        "seconds": seconds,
        "returncode": result.returncode,
        "html_pages": pages,
        "notebook_seconds": executed,
        "notebook_failures": failed,
        "error_tail": result.stderr[-2000:] if result.returncode or failed else "",
        "cpus": os.cpu_count(),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg()[0],
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": _commit(book),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.book_build", *sys.argv[1:]]),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.book_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=["quick", "full"], default="quick")
    parser.add_argument("--book", type=Path, default=ROOT, help="the book's folder (default: this checkout)")
    parser.add_argument("--data-dir", help="CIFAR-10 location (default $CVTUTOR_DATA, else Keras)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"folder for the JSON record (default {RESULTS})")
    parser.add_argument("--keep", type=Path, help="build into this folder and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    record = build_book(args.book, args.profile, args.data_dir, args.keep)
    path = write_record(record, args.out, args.profile, data_dir=args.data_dir)
    failed = record["notebook_failures"]
    print(f"wrote {path}: {args.profile} build {'succeeded' if record['returncode'] == 0 and not failed else 'FAILED'} "
          f"in {record['seconds']:.0f} s", flush=True)
    for page, seconds in sorted(record["notebook_seconds"].items(), key=lambda item: -item[1]):
        print(f"  {seconds:7.0f} s  {page}")
    for page in failed:
        print(f"  execution FAILED: {page}")
    return 0 if record["returncode"] == 0 and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
