"""cvtutor.records: reading benchmark records and summarising them per run."""

import json
import re
import tempfile
from pathlib import Path

import pytest

from cvtutor.records import (
    baseline_walls, bundle_results, epoch_seconds, run_comparison, load_records, result_files, seed_spread, shift_gains, summarize,
    summarize_with_baselines, time_to_accuracy, write_record,
)

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def _record(recipe, seed, accuracies, seconds, run_id="run-1", target=None, load=1.0):
    curve = [{"epoch": i + 1, "seconds": t, "test_accuracy": a} for i, (a, t) in enumerate(zip(accuracies, seconds))]
    return {"recipe": recipe, "seed": seed, "wall_seconds": seconds[-1] + 1.0, "test_accuracy": accuracies[-1],
            "curve": curve, "command": f"python -m benchmarks.run {recipe}", "run_id": run_id,
            "finished": f"2026-11-28T00:00:0{seed}", "target": target, "load_average_start": load,
            "description": f"{recipe} as it was in {run_id}"}


def test_time_to_accuracy_is_the_first_epoch_at_or_above_the_target():
    record = _record("a", 0, [0.5, 0.67, 0.66, 0.7], [10, 20, 30, 40])
    assert time_to_accuracy(record, 0.67) == 20
    assert time_to_accuracy(record, 0.70) == 40
    assert time_to_accuracy(record, 0.71) is None


def test_summary_takes_medians_over_seeds_and_ratios_within_a_run():
    records = [
        _record("tf-tutorial", 0, [0.6, 0.68], [50, 100]),
        _record("tf-tutorial", 1, [0.6, 0.67], [60, 120]),
        _record("tf-tutorial", 2, [0.6, 0.62, 0.7], [50, 100, 150]),
        _record("fast", 0, [0.7, 0.8], [20, 40], target=(0.75, 60)),
        _record("fast", 1, [0.66, 0.9], [30, 60], target=(0.75, 60)),
        _record("fast", 2, [0.69, 0.85], [25, 50], target=(0.75, 60)),
        # The same recipe in another run, on a busier machine: never divided by run-1's baseline.
        _record("fast", 0, [0.7, 0.8], [80, 160], run_id="run-2", target=(0.75, 60), load=4.0),
    ]
    rows = {(r["run_id"], r["recipe"]): r for r in summarize(records)}
    base, fast, other = rows["run-1", "tf-tutorial"], rows["run-1", "fast"], rows["run-2", "fast"]
    assert base["seeds"] == [0, 1, 2] and base["seconds_to_accuracy"] == 120
    assert base["test_accuracy"] == 0.68 and base["ratio_to_baseline"] == 1.0
    assert base["test_accuracy_range"] == (0.67, 0.7)
    assert fast["seconds_to_accuracy"] == 25 and fast["ratio_to_baseline"] == pytest.approx(25 / 120)
    assert fast["test_accuracy"] == 0.85 and fast["wall_seconds"] == 51
    assert fast["target_met"] is True and base["target_met"] is None
    assert other["ratio_to_baseline"] is None and other["load_average"] == 4.0
    assert other["target_met"] is False  # 0.8 is above 0.75, but 161 s is over 60 s
    assert fast["commands"] == ["python -m benchmarks.run fast"] == [fast["command"]]
    assert fast["description"] == "fast as it was in run-1" and other["description"] == "fast as it was in run-2"


def test_epoch_times_leave_out_the_first_epoch_and_span_all_seeds():
    assert epoch_seconds(_record("a", 0, [0.5, 0.6, 0.7], [30, 40, 55])) == [10, 15]
    assert epoch_seconds(_record("a", 0, [0.5], [30])) == []
    rows = summarize([_record("a", 0, [0.5, 0.6, 0.7], [30, 40, 55]), _record("a", 1, [0.5, 0.6], [90, 98]),
                      _record("b", 0, [0.5], [30])])
    spans = {r["recipe"]: r["epoch_seconds"] for r in rows}
    assert spans == {"a": (8, 15), "b": None}


def test_a_seed_that_never_reaches_the_accuracy_counts_as_the_slowest():
    records = [
        _record("tf-tutorial", 0, [0.6, 0.68], [50, 100]),
        _record("tf-tutorial", 1, [0.6, 0.66], [50, 100]),  # never reaches 0.67
        _record("tf-tutorial", 2, [0.6, 0.62, 0.7], [60, 120, 180]),
        _record("fast", 0, [0.7], [30]),
        _record("fast", 1, [0.5], [30]),  # never
        _record("fast", 2, [0.5], [40]),  # never
    ]
    rows = {r["recipe"]: r for r in summarize(records)}
    # Baseline seeds: 100, never, 180 -> median 180 (not 140, the median of the seeds that got there).
    assert rows["tf-tutorial"]["seconds_to_accuracy"] == 180 and rows["tf-tutorial"]["ratio_to_baseline"] == 1.0
    assert rows["fast"]["seconds_to_accuracy"] is None and rows["fast"]["ratio_to_baseline"] is None


def test_a_seed_that_never_reaches_the_accuracy_leaves_no_time():
    rows = summarize([_record("a", 0, [0.7], [10]), _record("a", 1, [0.5], [10])])
    assert rows[0]["seconds_to_accuracy"] is None and rows[0]["ratio_to_baseline"] is None


def test_load_records_reads_sorts_and_names_bad_files(tmp_path):
    (tmp_path / "b.json").write_text(json.dumps(_record("b", 1, [0.5], [10])))
    (tmp_path / "a.json").write_text(json.dumps(_record("a", 0, [0.5], [10])))
    (tmp_path / "notes.txt").write_text("ignored")
    assert [r["recipe"] for r in load_records(tmp_path)] == ["a", "b"]
    (tmp_path / "c.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"c\.json is not a JSON benchmark record"):
        load_records(tmp_path)
    (tmp_path / "c.json").write_text(json.dumps({"recipe": "c"}))
    with pytest.raises(ValueError, match=r"c\.json is not a benchmark record: it lacks \['seed', "):
        load_records(tmp_path)
    with pytest.raises(FileNotFoundError, match="no benchmark results folder"):
        load_records(tmp_path / "missing")


def test_the_records_shipped_with_the_package_are_the_repositorys():
    """What a chapter opened alone reads (the package's copy) is what benchmarks/results holds."""
    assert load_records() == load_records(RESULTS)
    assert load_records(subfolder="experiments") == load_records(RESULTS, "experiments")
    for subfolder in ("book-builds", "backends", "pipeline"):
        assert result_files(subfolder) == result_files(subfolder, RESULTS) != [], subfolder
    with pytest.raises(FileNotFoundError, match="no folder 'nowhere'"):
        result_files("nowhere")


def test_result_files_and_the_bundle_read_subfolders_in_name_order(tmp_path):
    (tmp_path / "builds").mkdir()
    (tmp_path / "builds" / "quick-2.json").write_text('{"n": 2}')
    (tmp_path / "builds" / "full-1.json").write_text('{"n": 1}')
    (tmp_path / "a.json").write_text(json.dumps(_record("a", 0, [0.5], [10])))
    assert result_files("builds", tmp_path) == [{"n": 1}, {"n": 2}]
    assert list(bundle_results(tmp_path, ("", "builds"))["files"]) == ["a.json", "builds/full-1.json",
                                                                      "builds/quick-2.json"]
    assert list(bundle_results(tmp_path)["files"]) == ["a.json"], "only the folders the chapters read ship"
    (tmp_path / "builds" / "bad.json").write_text("{")
    with pytest.raises(ValueError, match=r"bad\.json is not JSON"):
        bundle_results(tmp_path, ("builds",))


def test_a_target_can_be_on_another_clock():
    record = _record("gpu", 0, [0.95], [100], target=[0.94, 30])
    assert summarize([record])[0]["target_met"] is False  # 101 s of wall time
    record |= {"target_clock": "train_seconds", "train_seconds": 25.0}
    assert summarize([record])[0]["target_met"] is True
    assert summarize([record])[0]["target_measured"] == "95.0% in 25 s"


def test_a_target_in_units_of_the_baselines_time_is_judged_within_its_run():
    target = {"accuracy": 0.8, "time_ratio": 1.5}
    records = [
        _record("tf-tutorial", 0, [0.6, 0.67], [50, 99]),  # wall 100 s: T
        _record("tf-tutorial", 1, [0.6, 0.66], [50, 119]),  # wall 120 s
        _record("fast", 0, [0.7, 0.85], [70, 149], target=target),  # wall 150 s = 1.36 T (T = 110 s)
        _record("fast", 1, [0.7, 0.82], [80, 159], target=target),  # wall 160 s = 1.45 T
        _record("slow", 0, [0.7, 0.9], [90, 179], target=target),  # 1.64 T: too slow, however good
        _record("fast", 0, [0.7, 0.85], [70, 149], run_id="run-2", target=target),  # no baseline in run-2
    ]
    rows = {(r["run_id"], r["recipe"]): r for r in summarize(records)}
    fast, slow, alone = rows["run-1", "fast"], rows["run-1", "slow"], rows["run-2", "fast"]
    assert fast["wall_ratio"] == pytest.approx(155 / 110) and fast["target_met"] is True
    assert slow["target_met"] is False and alone["target_met"] is None and alone["wall_ratio"] is None
    assert fast["target_text"] == "80% in 1.5 T"
    assert fast["target_measured"] == "83.5% in 1.41 T" and alone["target_measured"] is None
    records[3]["test_accuracy"] = 0.70  # the median accuracy drops to 0.775
    assert {(r["run_id"], r["recipe"]): r for r in summarize(records)}["run-1", "fast"]["target_met"] is False


def test_t_is_the_median_of_every_baseline_record_of_the_run_in_either_folder():
    target = {"accuracy": 0.8, "time_ratio": 1.5}
    records = [
        _record("tf-tutorial", 0, [0.6, 0.67], [50, 119]),  # wall 120 s
        _record("fast", 0, [0.7, 0.85], [70, 148], target=target),  # wall 149 s
        _record("fast", 0, [0.7, 0.85], [70, 148], run_id="run-2", target=target),  # no baseline anywhere
    ]
    # the same run timed the baseline again among its longer runs: T = median(100, 120) = 110 s
    experiments = [_record("tf-tutorial", 0, [0.6, 0.67], [50, 99]),
                   _record("fast", 0, [0.7, 0.9], [70, 400], target=target)]
    assert baseline_walls(records + experiments) == {"run-1": [100, 120]}
    rows = {(r["run_id"], r["recipe"]): r for r in summarize_with_baselines(records, experiments)}
    base, fast, alone = rows["run-1", "tf-tutorial"], rows["run-1", "fast"], rows["run-2", "fast"]
    assert set(rows) == {("run-1", "tf-tutorial"), ("run-1", "fast"), ("run-2", "fast")}
    assert fast["seeds"] == [0] and fast["wall_seconds"] == 149  # the experiments' fast run is not summarised
    assert fast["wall_ratio"] == pytest.approx(149 / 110)
    assert fast["target_measured"] == "85.0% in 1.35 T" and fast["target_met"] is True
    # the baseline's row keeps its own seeds, read against the same T
    assert base["seeds"] == [0] and base["wall_seconds"] == 120 and base["wall_ratio"] == pytest.approx(120 / 110)
    assert base["ratio_to_baseline"] == pytest.approx(119 / 109)  # 67% at 119 s, and at 99 s among the experiments
    assert alone["wall_ratio"] is None and alone["target_met"] is None
    # without the experiments, T is the run's own baseline
    assert {r["recipe"]: r for r in summarize_with_baselines(records) if r["run_id"] == "run-1"}["fast"][
        "wall_ratio"] == pytest.approx(149 / 120)


def test_a_target_at_the_baselines_own_accuracy_needs_every_seed():
    target = {"baseline_accuracy_time_ratio": 0.5}
    base = [_record("tf-tutorial", s, [0.5, 0.6, 0.66, 0.68], [100, 200, 300, 400]) for s in range(3)]
    quick = [_record("article", s, [0.6, 0.69], [80, 150 + 10 * s], target=target) for s in range(3)]
    rows = {r["recipe"]: r for r in summarize(base + quick)}
    # T's median final accuracy 0.68, reached at 400 s: every seed must get there by 200 s.
    assert rows["article"]["target_met"] is True
    assert rows["article"]["target_text"] == "T's accuracy in 0.5 x T's time, every seed"
    # judged at T's final accuracy (0.68; the slowest seed at 170 s of 400), whatever accuracy a table's time ratio is taken at
    assert rows["article"]["target_measured"] == "slowest seed 0.42 x T's time to 68.0%"
    late = quick[:2] + [_record("article", 2, [0.6, 0.67, 0.69], [80, 150, 210], target=target)]
    assert {r["recipe"]: r for r in summarize(base + late)}["article"]["target_met"] is False
    never = quick[:2] + [_record("article", 2, [0.6, 0.67], [80, 150], target=target)]
    assert {r["recipe"]: r for r in summarize(base + never)}["article"]["target_met"] is False
    assert {r["recipe"]: r for r in summarize(base + never)}["article"]["target_measured"] == (
        "a seed never reached 68.0%")
    assert {r["recipe"]: r for r in summarize(quick)}["article"]["target_met"] is None


def test_write_record_is_whole_and_never_replaces_a_record(tmp_path):
    record = _record("a", 0, [0.5], [10]) | {"finished": "2026-11-28T01:02:03+00:00"}
    first = write_record(record, tmp_path / "new", "a-seed0")
    second = write_record(record | {"seed": 1}, tmp_path / "new", "a-seed0")
    assert first.name == "a-seed0-20261128T010203.json" and second != first
    assert [r["seed"] for r in load_records(tmp_path / "new")] == [0, 1]
    assert not list((tmp_path / "new").glob("*.tmp"))


def test_write_record_names_no_folder_of_this_machine(tmp_path, monkeypatch):
    monkeypatch.delenv("CVTUTOR_DATA", raising=False)
    data = tmp_path / "shared" / "data"
    record = {"finished": "2026-11-28T01:02:03+00:00", "recipe": "a", "seed": 0,
              "data_source": f"class-folder copy: {data}/cifar10-jpeg.tar.gz",
              "command": f"python -m benchmarks.run a --data-dir {data} --keep {tempfile.gettempdir()}/out",
              "settings": {"paths": [f"{data}/x"]}, "curve": [{"seconds": 1.0}]}
    text = write_record(record, tmp_path / "records", "a-seed0", data_dir=data).read_text()
    assert str(tmp_path) not in text and tempfile.gettempdir() + "/" not in text
    written = json.loads(text)
    assert written["data_source"] == "class-folder copy: $CVTUTOR_DATA/cifar10-jpeg.tar.gz"
    assert written["command"] == "python -m benchmarks.run a --data-dir $CVTUTOR_DATA --keep $TMPDIR/out"
    assert written["settings"] == {"paths": ["$CVTUTOR_DATA/x"]} and written["curve"] == record["curve"]


def test_write_record_names_paths_in_its_repository_relative_to_the_root(tmp_path, monkeypatch):
    # A build run from a clone in the temporary folder, writing into another checkout's results.
    monkeypatch.delenv("CVTUTOR_DATA", raising=False)
    checkout, clone = tmp_path / "cvtutor", tmp_path / "clone"
    (checkout / ".git").mkdir(parents=True)
    (clone / ".git").mkdir(parents=True)
    results = checkout / "benchmarks" / "results" / "book-builds"
    record = {"finished": "2026-11-28T01:02:03+00:00", "recipe": "a", "seed": 0,
              "command": f"python -m benchmarks.book_build --book {checkout} --out {results} --keep {clone}/out",
              "notes": [f"'{checkout}/book/intro.md'"]}
    written = json.loads(write_record(record, results, "full").read_text())
    assert written["command"] == ("python -m benchmarks.book_build --book . --out benchmarks/results/book-builds "
                                  "--keep $TMPDIR/" + str((clone / "out").relative_to(tempfile.gettempdir())))
    assert written["notes"] == ["'book/intro.md'"]
    # Outside any repository nothing is made relative.
    outside = json.loads(write_record(record, tmp_path / "loose", "full").read_text())
    assert "benchmarks/results/book-builds" in outside["command"] and " --out $TMPDIR/" in outside["command"]


def test_committed_records_name_no_folder_of_the_machine_that_ran_them():
    results = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
    absolute = re.compile(r"(?:^|[\s=:(\"])/(?:[\w.-]+/)+")
    offenders = [f"{path.relative_to(results)}: {match.group(0)!r}"
                 for path in sorted(results.rglob("*.json"))
                 for match in absolute.finditer(path.read_text())]
    assert offenders == []


def test_seed_spread_is_that_of_the_latest_run_with_two_seeds():
    records = [
        _record("fast", 0, [0.80], [10], run_id="old"),
        _record("fast", 1, [0.70], [10], run_id="old"),
        _record("fast", 0, [0.84], [10], run_id="new") | {"finished": "2026-11-29T00:00:00"},
        _record("fast", 1, [0.85], [10], run_id="new") | {"finished": "2026-11-29T00:00:01"},
        _record("fast", 2, [0.83], [10], run_id="new") | {"finished": "2026-11-29T00:00:02",
                                                         "test_accuracy_plain": 0.82},
        _record("fast", 0, [0.99], [10], run_id="newest-one-seed") | {"finished": "2026-11-30T00:00:00"},
    ]
    spread = seed_spread(records, "fast")
    assert spread["run_id"] == "new" and spread["seeds"] == [0, 1, 2]
    assert spread["low"] == 0.83 and spread["high"] == 0.85 and spread["spread"] == pytest.approx(0.02)
    assert seed_spread(records, "fast", plain=True)["accuracies"] == [0.84, 0.85, 0.82]
    assert seed_spread(records, "other") is None


def test_shift_gains_pair_flips_and_shifts_on_the_same_models_of_the_latest_run():
    old = [_record("fast", seed, [0.70], [10], run_id="old") | {"test_accuracy_flip_translate": 0.69}
           for seed in (0, 1)]
    # Before recipes reported shifts: test_accuracy is flips alone.
    before = [_record("fast", seed, [a], [10], run_id="before") | {"finished": f"2026-11-29T00:00:0{seed}",
                                                                    "test_accuracy_flip_translate": a + d}
              for seed, a, d in ((1, 0.770, 0.005), (0, 0.772, 0.0035))]
    # After: the recipe reports shifts, flips alone are recorded apart.
    after = [_record("fast", 0, [0.776], [10], run_id="after") | {
        "finished": "2026-11-30T00:00:00", "shift": 1, "test_accuracy_flip": 0.770,
        "test_accuracy_flip_translate": 0.776}]
    unmeasured = [_record("fast", 0, [0.9], [10], run_id="newest") | {"finished": "2026-12-01T00:00:00"}]
    run, gains = shift_gains(old + before, "fast")
    assert run == "before" and gains == pytest.approx([0.35, 0.5])
    run, gains = shift_gains(old + before + after + unmeasured, "fast")
    assert run == "after" and gains == pytest.approx([0.6])
    assert shift_gains(old + before, "other") == (None, [])
    # A record that reports shifts but not flips alone has no pair.
    assert shift_gains([after[0] | {"test_accuracy_flip": None}], "fast") == (None, [])


def test_run_comparison_reads_the_latest_run_that_trained_both_against_its_own_baseline():
    def run(run_id, finished, base_wall, new_acc, old_acc):
        rows = [_record("tf-tutorial", s, [0.67], [base_wall - 1], run_id=run_id) for s in (0, 1)]
        rows += [_record("new", s, [new_acc + d], [base_wall - 1], run_id=run_id) for s, d in ((0, 0.0), (1, 0.01))]
        rows += [_record("old", s, [old_acc], [2 * base_wall - 1], run_id=run_id) for s in (0, 1)]
        return [r | {"finished": finished} for r in rows]

    early, late = run("early", "2026-12-01T00:00:00", 100, 0.70, 0.75), run("late", "2026-12-08T00:00:00", 200, 0.80,
                                                                               0.78)
    only_new = [_record("new", 0, [0.9], [10], run_id="newest") | {"finished": "2026-12-09T00:00:00"}]
    found, new, old = run_comparison(early + late + only_new, "new", "old")
    assert found == "late"
    assert new["test_accuracy"] == pytest.approx(0.805) and new["wall_ratio"] == pytest.approx(1.0)
    assert new["test_accuracy_range"] == pytest.approx((0.80, 0.81)) and new["seeds"] == [0, 1]
    assert old["test_accuracy"] == pytest.approx(0.78) and old["wall_ratio"] == pytest.approx(2.0)
    assert run_comparison(early, "new", "old")[0] == "early"
    assert run_comparison(early + only_new, "new", "missing") is None


def test_current_records_follow_a_recipe_that_adopted_another_recipes_procedure(monkeypatch):
    from cvtutor import records as records_module

    monkeypatch.setattr(records_module, "ADOPTIONS", {"fast": ("fast-new", "2026-12-08T00:00:00")})
    old_fast = _record("fast", 0, [0.77], [10], run_id="decision") | {"finished": "2026-12-07T23:00:00"}
    candidate = _record("fast-new", 0, [0.78], [10], run_id="decision") | {"finished": "2026-12-07T23:30:00"}
    late_candidate = _record("fast-new", 0, [0.70], [10], run_id="later") | {"finished": "2026-12-09T00:00:00"}
    new_fast = _record("fast", 1, [0.79], [10], run_id="later") | {"finished": "2026-12-09T00:00:00"}
    other = _record("other", 0, [0.5], [10], run_id="later")
    everything = [old_fast, candidate, late_candidate, new_fast, other]
    assert records_module.current_records(everything, "fast") == [candidate, new_fast]
    assert records_module.current_records(everything, "other") == [other]
    assert records_module.current_records(everything, "fast-new") == [candidate, late_candidate]


def test_the_backend_table_has_a_row_per_configuration_and_names_the_fastest():
    from cvtutor.records import backend_table, configuration_label

    def entry(model, backend, xla, precision, speed, ratio):
        return {"model": model, "backend": backend, "xla": xla, "precision": precision,
                "images_per_second": speed, "ratio_to_tensorflow_float32": ratio}

    record = {"summary": [
        entry("cnn", "tensorflow", False, "float32", 1000.0, 1.0),
        entry("cnn", "tensorflow", True, "mixed_bfloat16", 1500.4, 1.5004),
        entry("cnn", "jax", True, "float32", 900.0, 0.9),
        entry("rnn", "tensorflow", False, "float32", 300.0, 1.0),
        entry("rnn", "jax", True, "float32", None, None),
    ]}
    columns, rows, fastest = backend_table(record)
    assert columns == ["configuration", "cnn", "rnn"]
    assert [r["configuration"] for r in rows] == ["TensorFlow, float32", "TensorFlow + XLA, bfloat16", "JAX, float32"]
    assert rows[1] == {"configuration": "TensorFlow + XLA, bfloat16", "cnn": "1,500 (1.50x)", "rnn": "-"}
    assert rows[2]["rnn"] == "failed" and rows[0]["rnn"] == "300 (1.00x)"
    assert fastest == {"cnn": ("TensorFlow + XLA, bfloat16", 1500.4), "rnn": ("TensorFlow, float32", 300.0)}
    assert configuration_label("torch", False, "float32") == "PyTorch, float32"


def test_fast_cnn_as_it_is_now_is_the_whitened_stem_of_the_run_that_adopted_it():
    from cvtutor.records import ADOPTIONS, current_records

    shipped = load_records()
    decision = "2026-12-08T00:40:06+00:00"  # cvtutor/recipes.py cites it
    current = [r for r in current_records(shipped, "fast-cnn") if r["run_id"] == decision]
    assert ADOPTIONS["fast-cnn"][0] == "fast-cnn-whiten"
    assert sorted((r["recipe"], r["seed"]) for r in current) == [("fast-cnn-whiten", s) for s in (0, 1, 2)]
    # that run's fast-cnn records were the 3x3 stem: not fast-cnn as it is now
    assert all(r["recipe"] != "fast-cnn" or r["finished"] > ADOPTIONS["fast-cnn"][1]
               for r in current_records(shipped, "fast-cnn"))
