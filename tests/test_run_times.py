"""What each chapter costs to run: cvtutor.run_times and tools/run_times.py."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cvtutor import run_times
from cvtutor.run_times import describe, duration, summarize_builds

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "book.py"  # python tools/book.py run-times


def _build(profile, finished, seconds, returncode=0, failures=(), commit=None):
    return {"kind": "book-build", "profile": profile, "finished": finished, "seconds": sum(seconds.values()) + 5,
            "returncode": returncode, "notebook_failures": list(failures), "cpus": 2, "commit": commit,
            "notebook_seconds": {f"book/{name}": s for name, s in seconds.items()}}


def test_the_latest_successful_build_of_each_profile_counts():
    records = [
        _build("full", "2026-11-01T00:00:00+00:00", {"a.ipynb": 100.0}),
        _build("full", "2026-11-03T00:00:00+00:00", {"a.ipynb": 50.0}, returncode=1),  # failed build
        _build("full", "2026-11-04T00:00:00+00:00", {"a.ipynb": 40.0}, failures=["book/a.ipynb"]),
        _build("full", "2026-11-02T00:00:00+00:00", {"a.ipynb": 90.04, "b.ipynb": 7.0}, commit="abcdef123456"),
        _build("quick", "2026-11-05T00:00:00+00:00", {"a.ipynb": 9.0}),
    ]
    summary = summarize_builds(records)
    assert summary["chapters"] == {"a.ipynb": {"full": 90.0, "quick": 9.0}, "b.ipynb": {"full": 7.0}}
    assert summary["builds"]["full"]["finished"].startswith("2026-11-02")
    assert summary["builds"]["full"]["commit"] == "abcdef123456"
    line = describe("book/a.ipynb", summary)
    assert line.startswith("Run time of this chapter on the reference machine (2 CPU cores, no GPU): ")
    assert "90 s in the full profile (book build of 2026-11-02, commit abcdef1)" in line
    assert "9 s in the quick profile (book build of 2026-11-05)" in line
    assert line.endswith("No build on a GPU has been recorded.")
    assert "quick" not in describe("b.ipynb", summary)


def test_durations_read_as_a_person_says_them():
    assert [duration(s) for s in (4.4, 99, 100, 925.7, 3599, 4800)] == [
        "4 s", "99 s", "2 min", "15 min", "1 h 0 min", "1 h 20 min"]


def test_a_chapter_in_no_record_gets_one_clear_line():
    with pytest.raises(ValueError, match="no recorded book build ran 'missing.ipynb'; recorded chapters: "):
        describe("missing.ipynb")


def test_a_chapter_awaiting_its_first_build_says_so(capsys):
    for name in run_times.AWAITING_FIRST_BUILD:
        assert (ROOT / "book" / name).is_file(), f"{name} awaits a build but is no chapter"
        if name not in run_times.load()["chapters"]:
            run_times.show_run_time(name)
            assert capsys.readouterr().out.startswith("No recorded book build has run this chapter yet")
    with pytest.raises(ValueError, match="no recorded book build ran 'missing.ipynb'"):
        run_times.show_run_time("missing.ipynb")


def test_the_shipped_summary_covers_every_notebook_of_the_book():
    summary = run_times.load()  # read with importlib.resources, as in an installed wheel
    notebooks = {p.name for p in (ROOT / "book").glob("*.ipynb")} - run_times.AWAITING_FIRST_BUILD
    assert notebooks <= set(summary["chapters"]), notebooks - set(summary["chapters"])
    assert set(summary["builds"]) == {"full", "quick"}
    for name in notebooks:
        assert set(summary["chapters"][name]) == {"full", "quick"}, name


def test_every_notebook_prints_its_run_time_right_after_the_setup_cell():
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        assert code[1]["metadata"].get("cvtutor") == "run_time", path.name
        assert f'show_run_time("{path.name}")' in "".join(code[1]["source"]), path.name


def _tool(root, *args):
    return subprocess.run([sys.executable, str(TOOL), "--root", str(root), "run-times", *args],
                          capture_output=True, text=True, timeout=120)


def test_the_tool_keeps_summary_and_notebooks_in_step_with_the_records(tmp_path):
    assert _tool(ROOT, "--check").returncode == 0  # the repository is up to date
    root = tmp_path / "checkout"
    for part in ("benchmarks/results", "cvtutor/resources"):
        shutil.copytree(ROOT / part, root / part)
    (root / "book").mkdir()
    shutil.copy(ROOT / "book" / "convolution.ipynb", root / "book")
    assert _tool(root, "--check").returncode == 0
    # A new build record makes the summary stale until the tool is run.
    latest = max((json.loads(p.read_text()) for p in (root / "benchmarks/results/book-builds").glob("full-*.json")),
                 key=lambda r: r["finished"])
    newer = latest | {"finished": "2099-01-01T00:00:00+00:00",
                      "notebook_seconds": {"book/convolution.ipynb": 1234.0}}
    (root / "benchmarks/results/book-builds/full-20990101T000000.json").write_text(json.dumps(newer))
    result = _tool(root, "--check")
    assert result.returncode == 1 and "cvtutor/resources/run_times.json" in result.stdout
    assert "cvtutor/resources/benchmark_results.json" in result.stdout, "the shipped records miss the new one"
    # A notebook that lost its cell is named, and restored by a run.
    nb_path = root / "book" / "convolution.ipynb"
    before = nb_path.read_text()
    nb = json.loads(before)
    nb["cells"] = [c for c in nb["cells"] if c["metadata"].get("cvtutor") != "run_time"]
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    assert "book/convolution.ipynb" in _tool(root, "--check").stdout
    assert _tool(root).returncode == 0 and _tool(root, "--check").returncode == 0
    assert nb_path.read_text() == before
    shipped = json.loads((root / "cvtutor/resources/benchmark_results.json").read_text())["files"]
    assert shipped["book-builds/full-20990101T000000.json"] == newer
    summary = json.loads((root / "cvtutor/resources/run_times.json").read_text())
    assert summary["chapters"]["convolution.ipynb"]["full"] == 1234.0
    assert describe("convolution.ipynb", summary).split(": ")[1].startswith("21 min in the full profile (book build of 2099-01-01")


def test_the_preface_says_what_the_latest_builds_took():
    summary = summarize_builds([
        _build("quick", "2026-11-05T00:00:00+00:00", {"a.ipynb": 9.0, "b.ipynb": 125.0, "cli.md": 500.0}),
        _build("full", "2026-11-02T00:00:00+00:00", {"a.ipynb": 1200.0, "b.ipynb": 30.0}),
    ])
    values = run_times.profile_substitutions(summary)
    assert values == {"quick_build_time": "11 min", "quick_slowest_time": "2 min", "quick_slowest_chapter": "b.ipynb",
                      "full_build_time": "21 min", "full_slowest_time": "20 min", "full_slowest_chapter": "a.ipynb"}
    sys.path.insert(0, str(ROOT / "tools"))
    import run_times as tool

    config = 'parse:\n  # a comment\n  myst_substitutions:\n    cvtutor_version: "1.0"\n    quick_build_time: "1 h"\n'
    written = tool.with_substitutions(config, {"quick_build_time": "2 min", "full_slowest_chapter": "a.ipynb"})
    assert written == ('parse:\n  # a comment\n  myst_substitutions:\n    cvtutor_version: "1.0"\n'
                       '    full_slowest_chapter: "a.ipynb"\n    quick_build_time: "2 min"\n')
    # The repository's preface reads them, and they are the shipped summary's.
    assert "{{ quick_slowest_time }}" in (ROOT / "book" / "intro.md").read_text()
    shipped = (ROOT / "_config.yml").read_text()
    assert all(f'{key}: "{value}"' in shipped for key, value in run_times.profile_substitutions().items())
