"""How long CI takes: ``bash .ci/run`` on a fresh clone, with every test's duration.

    python -m benchmarks.suite run                  # clone HEAD beside this checkout, run CI, record it
    python -m benchmarks.suite parse ci.log --commit REV --command "..."   # a log of an earlier run
    python -m benchmarks.suite parse inner.log --label inner-loop --commit REV --command "python -m pytest ..."

``run`` clones the checkout's ``HEAD`` (or ``--commit``) into ``--workdir`` (default: a folder
beside the checkout, so that ``../shared`` is beside the clone as CI has it), runs ``.ci/run`` with
``PYTEST_ADDOPTS=--durations=0`` (every test's setup, call and teardown seconds, in both of CI's
pytest passes), keeps the log beside the clone and writes a record to
``benchmarks/results/test-durations/``: CI's total seconds, each pytest pass's outcome line and
seconds, the seconds of every test (setup + call + teardown) and of every test file, the number
of CPUs and the load average. Nothing else should run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cvtutor.records import write_record

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "test-durations"
_DURATION = re.compile(r"^\s*(?P<seconds>[0-9.]+)s (?P<phase>setup|call|teardown)\s+(?P<test>\S+)\s*$")
_OUTCOME = re.compile(r"^=+ (?P<line>.*\b(?:passed|failed|error)\b.*) in (?P<seconds>[0-9.]+)s.*=+$")
_TOTAL = re.compile(r"^CI finished in (?P<seconds>\d+) s$", re.MULTILINE)


def parse_log(log: str) -> dict:
    """Each pytest pass of a CI log run with ``--durations=0``: its outcome line, seconds and the
    seconds of each test (phases summed) and each test file; and CI's total seconds."""
    passes, tests = [], collections.Counter()
    for line in log.splitlines():
        if (match := _DURATION.match(line)):
            tests[match["test"]] += float(match["seconds"])
        elif (match := _OUTCOME.match(line)):
            files = collections.Counter()
            for test, seconds in tests.items():
                files[test.split("::")[0]] += seconds
            passes.append({"outcome": match["line"].strip(), "seconds": float(match["seconds"]),
                           "test_seconds": {t: round(s, 2) for t, s in tests.most_common()},
                           "file_seconds": {f: round(s, 2) for f, s in files.most_common()}})
            tests = collections.Counter()
    total = _TOTAL.search(log)
    return {"ci_seconds": int(total["seconds"]) if total else None, "passes": passes}


def _commit_of(folder: Path, rev: str = "HEAD") -> str:
    return subprocess.run(["git", "-C", str(folder), "rev-parse", rev], capture_output=True, text=True,
                          check=True).stdout.strip()


def record_of(log: str, commit: str, command: str, returncode: int | None, load: list[float]) -> dict:
    return {
        "benchmark": "test-durations",
        **parse_log(log),
        "returncode": returncode,
        "commit": commit,
        "cpus": os.cpu_count(),
        "load_average_start": load,
        "load_average_end": list(os.getloadavg()),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
    }


def run(commit: str, workdir: Path) -> tuple[str, int]:
    """Clone ``commit`` into ``workdir`` (emptied first) and run its CI; returns (log, exit code)."""
    shutil.rmtree(workdir, ignore_errors=True)
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(workdir)], check=True)
    subprocess.run(["git", "-C", str(workdir), "checkout", "--quiet", commit], check=True)
    env = os.environ | {"PYTEST_ADDOPTS": "--durations=0"}
    env.pop("VIRTUAL_ENV", None)
    log_path = workdir.with_name(workdir.name + ".log")
    with open(log_path, "w") as log:
        result = subprocess.run(["bash", ".ci/run"], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    return log_path.read_text(errors="replace"), result.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser("run", help="clone, run .ci/run, record")
    run_parser.add_argument("--commit", default="HEAD")
    run_parser.add_argument("--workdir", type=Path, default=ROOT.parent / "cvtutor-ci")
    parse_parser = sub.add_parser("parse", help="record a log of an earlier .ci/run with --durations=0")
    parse_parser.add_argument("log", type=Path)
    parse_parser.add_argument("--commit", required=True)
    parse_parser.add_argument("--command", required=True, help="the command that made the log")
    parse_parser.add_argument("--returncode", type=int)
    parse_parser.add_argument("--label", default="ci", help="the record's name: ci, or e.g. inner-loop for a log of "
                              "the README's inner loop (pytest -m 'not book and not slow' -n 2 --durations=0)")
    for p in (run_parser, parse_parser):
        p.add_argument("--out", type=Path, default=RESULTS, help=f"folder for the JSON record (default {RESULTS})")
    args = parser.parse_args(argv)
    load = list(os.getloadavg())
    if args.action == "run":
        commit = _commit_of(ROOT, args.commit)
        log, code = run(commit, args.workdir)
        # the clone's folder relative to the checkout: records name no folder of this machine
        command = f"python -m benchmarks.suite run --commit {args.commit} --workdir {os.path.relpath(args.workdir, ROOT)}"
        record = record_of(log, commit, command, code, load)
    else:
        record = record_of(args.log.read_text(errors="replace"), args.commit, args.command, args.returncode, load)
        record["load_average_start"] = None  # not measured when the log was made
    path = write_record(record, args.out, getattr(args, "label", "ci"))
    print(f"wrote {path}: CI {record['ci_seconds']} s, exit {record['returncode']}")
    for number, one in enumerate(record["passes"], 1):
        print(f"  pass {number}: {one['outcome']} in {one['seconds']:.0f} s")
    return 0 if record["returncode"] in (0, None) else 1


if __name__ == "__main__":
    sys.exit(main())
