"""Time a whole build of the book in one run profile and write a JSON record of it.

    python -m benchmarks.book_build --profile quick

The build is the README's (``jupyter-book build <book> --all``, every
notebook executed) but goes to a temporary folder, so ``_build/`` is left
alone. Records go to ``benchmarks/results/book-builds/<profile>-<time>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cvtutor.records import write_record

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "book-builds"


def build_book(book: Path, profile: str, data_dir: str | None = None) -> dict:
    """Build ``book`` with ``CVTUTOR_PROFILE=profile`` and return the record (seconds, return code, ...)."""
    env = os.environ | {"CVTUTOR_PROFILE": profile}
    if data_dir:
        env["CVTUTOR_DATA"] = data_dir
    with tempfile.TemporaryDirectory(prefix="cvtutor-book-") as out:
        command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(book), "--all",
                   "--path-output", out]
        load_start = os.getloadavg()[0]
        start = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        pages = len(list(Path(out, "_build", "html").rglob("*.html")))
    return {
        "kind": "book-build",
        "profile": profile,
        "seconds": seconds,
        "returncode": result.returncode,
        "html_pages": pages,
        "error_tail": result.stderr[-2000:] if result.returncode else "",
        "cpus": os.cpu_count(),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg()[0],
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.book_build", *sys.argv[1:]]),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.book_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=["quick", "full"], default="quick")
    parser.add_argument("--book", type=Path, default=ROOT, help="the book's folder (default: this checkout)")
    parser.add_argument("--data-dir", help="CIFAR-10 location (default $CVTUTOR_DATA, else Keras)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"folder for the JSON record (default {RESULTS})")
    args = parser.parse_args(argv)
    record = build_book(args.book, args.profile, args.data_dir)
    path = write_record(record, args.out, args.profile)
    print(f"wrote {path}: {args.profile} build {'succeeded' if record['returncode'] == 0 else 'FAILED'} "
          f"in {record['seconds']:.0f} s", flush=True)
    return 0 if record["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
