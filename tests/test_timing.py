"""cvtutor.timing: seconds per call and images per second of a repeated step."""

import time

import pytest

from cvtutor.timing import images_per_second, seconds_per_call


class Step:
    def __init__(self, seconds=0.0):
        self.seconds, self.calls = seconds, 0

    def __call__(self):
        self.calls += 1
        if self.seconds:
            time.sleep(self.seconds)


def test_a_step_of_known_length_is_timed_as_that_length():
    step = Step(0.01)
    seconds = seconds_per_call(step, warmup=1, repeats=3, calls=4)
    assert 0.009 <= seconds < 0.05  # sleep never returns early; a busy machine may add a little
    assert step.calls == 1 + 3 * 4


def test_calls_per_loop_are_chosen_to_fill_loop_seconds():
    step = Step(0.002)
    seconds_per_call(step, warmup=0, repeats=2, loop_seconds=0.02)
    calls_per_loop = (step.calls - 1) / 2  # one calibrating call, then two loops
    assert calls_per_loop == int(calls_per_loop) and 3 <= calls_per_loop <= 10


def test_the_median_loop_counts_not_a_slow_one():
    durations = iter([0.0, 0.0, 0.05, 0.0, 0.0])  # the third loop is slowed down

    def step():
        time.sleep(next(durations))

    assert seconds_per_call(step, warmup=0, repeats=5, calls=1) < 0.02


def test_images_per_second_is_batch_size_over_seconds_per_call():
    speed = images_per_second(Step(0.01), 64, warmup=0, repeats=3, calls=2)
    assert 64 / 0.05 < speed <= 64 / 0.009


@pytest.mark.parametrize("arguments, error, message", [
    (dict(step=3), TypeError, "step must be a function of no arguments, got int 3"),
    (dict(warmup=-1), ValueError, r"warmup must be in \[0, inf\), got -1"),
    (dict(warmup=1.0), TypeError, "warmup must be an integer, got float 1.0"),
    (dict(repeats=0), ValueError, "repeats must be a positive integer, got 0"),
    (dict(repeats=True), TypeError, "repeats must be a positive integer, got bool True"),
    (dict(calls=2.5), TypeError, "calls must be a positive integer, got float 2.5"),
    (dict(calls=-2), ValueError, "calls must be a positive integer, got -2"),
    (dict(loop_seconds=0), ValueError, r"loop_seconds must be in \(0, inf\), got 0.0"),
    (dict(loop_seconds="1"), TypeError, "loop_seconds must be a number, got str '1'"),
    (dict(batch_size=0), ValueError, "batch_size must be a positive integer, got 0"),
    (dict(batch_size=8.0), TypeError, "batch_size must be a positive integer, got float 8.0"),
])
def test_bad_arguments_get_one_clear_line_and_the_step_is_not_called(arguments, error, message):
    step = Step()
    arguments = {"step": step, "batch_size": 8, **arguments}
    with pytest.raises(error, match=message):
        images_per_second(arguments.pop("step"), arguments.pop("batch_size"), **arguments)
    assert step.calls == 0


def test_what_the_step_raises_reaches_the_caller_unchanged():
    def step():
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        seconds_per_call(step)


def test_cpu_features_are_the_vector_flags_of_proc_cpuinfo(tmp_path, monkeypatch):
    from pathlib import Path

    from cvtutor import machine

    fake = tmp_path / "cpuinfo"
    fake.write_text("processor : 0\nflags : fpu sse2 avx2 fma avx512f avx512_bf16 amx_tile avx2\n")
    real_read_text = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: real_read_text(fake if str(self) == "/proc/cpuinfo"
                                                                                else self, *a, **k))
    assert machine.cpu_features() == ["amx_tile", "avx2", "avx512_bf16", "avx512f", "fma"]
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: (_ for _ in ()).throw(OSError("no such file")))
    assert machine.cpu_features() == []
