"""cvtutor.distribute beyond one process: two MultiWorkerMirroredStrategy workers train like one.

Each worker is its own Python process with its own ``TF_CONFIG`` naming a
cluster of loopback addresses on free ports (started and stopped by
:func:`cvtutor.distribute.run_workers`); the reference is the same program on
a cluster of one worker with the same global batch. On JAX,
``keras.distribution.DataParallel`` over two host devices is compared with
one device, in fresh processes (the device count is fixed when JAX starts).
Every test checks that the processes it started are gone at the end.
"""

import importlib.util
import json
import subprocess

import numpy as np
import pytest

from cvtutor import distribute
from cvtutor.distribute import (
    WorkerError,
    data_parallel_losses,
    free_ports,
    main,
    read_tf_config,
    run_workers,
    train_worker,
)

needs_tf = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="needs TensorFlow")
needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX")


@pytest.fixture
def started(monkeypatch):
    """Every process that subprocess.Popen starts during the test; asserted gone at its end."""
    processes = []
    real = subprocess.Popen

    class Recording(real):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            processes.append(self)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    yield processes
    assert processes, "the test started no process"
    assert all(p.poll() is not None for p in processes), "a process outlived the test"


@needs_tf
@pytest.mark.slow
def test_two_workers_take_the_same_steps_as_one_process(started):
    one = run_workers(1, steps=4, global_batch=16, timeout=150)
    two = run_workers(2, steps=4, global_batch=16, timeout=150)
    assert [(r["worker"], r["num_workers"], r["replicas"]) for r in one] == [(0, 1, 1)]
    assert [(r["worker"], r["num_workers"], r["replicas"]) for r in two] == [(0, 2, 2), (1, 2, 2)]
    assert len(started) == 3  # one process per worker, no retries needed
    losses = one[0]["losses"]
    assert len(losses) == 4 and losses[-1] < losses[0]  # it trained
    np.testing.assert_allclose(two[0]["losses"], losses, rtol=1e-5)
    np.testing.assert_allclose(two[1]["losses"], two[0]["losses"], rtol=1e-6)  # one synchronised model


@needs_tf
@pytest.mark.slow
def test_a_worker_that_dies_is_named_and_the_others_stopped(monkeypatch, started):
    """Worker 1 dies at once; worker 0 would wait for it forever: run_workers stops it and says which died."""
    real = subprocess.Popen

    def second_one_dies(command, *args, **kwargs):
        if "--output" in command and command[command.index("--output") + 1].endswith("worker-1.json"):
            command = [command[0], "-c", "import sys; print('out of memory, say', file=sys.stderr); sys.exit(3)"]
        return real(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", second_one_dies)
    with pytest.raises(WorkerError, match=r"worker 1 of 2 exited with status 3; all stopped[\s\S]*out of memory, say"):
        run_workers(2, timeout=60)
    assert len(started) == 2


@needs_tf
@pytest.mark.slow
def test_workers_past_the_timeout_are_all_stopped(started):
    with pytest.raises(WorkerError, match=r"workers \[0, 1\] still running after 0.5 s; all stopped"):
        run_workers(2, timeout=0.5)
    assert len(started) == 2


@needs_jax
@pytest.mark.slow
def test_data_parallel_on_two_jax_devices_takes_the_same_steps_as_one():
    one = data_parallel_losses(1, steps=4, global_batch=16, timeout=150)
    two = data_parallel_losses(2, steps=4, global_batch=16, timeout=150)
    assert len(one) == 4 and one[-1] < one[0]
    np.testing.assert_allclose(two, one, rtol=1e-5)


def test_tf_config_is_read_and_checked():
    config = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    assert read_tf_config({"TF_CONFIG": json.dumps(config)}) == (["a:1", "b:2"], 1)
    with pytest.raises(ValueError, match="TF_CONFIG is not set: each worker needs it"):
        read_tf_config({})
    with pytest.raises(ValueError, match="TF_CONFIG must be JSON with cluster.worker and task.index"):
        read_tf_config({"TF_CONFIG": "{not json"})
    bad_index = dict(config, task={"type": "worker", "index": 2})
    with pytest.raises(ValueError, match=r"task.index must be 0..1, got 2"):
        read_tf_config({"TF_CONFIG": json.dumps(bad_index)})
    chief = dict(config, task={"type": "chief", "index": 0})
    with pytest.raises(ValueError, match="task.type must be 'worker', got 'chief'"):
        read_tf_config({"TF_CONFIG": json.dumps(chief)})


def test_a_worker_without_tf_config_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG is not set"):
        train_worker(tmp_path / "losses.json")
    assert main(["worker", "--output", str(tmp_path / "losses.json")]) == 2
    assert capsys.readouterr().err.startswith("error: TF_CONFIG is not set")
    assert not (tmp_path / "losses.json").exists()


def test_bad_arguments_fail_before_anything_starts(monkeypatch):
    monkeypatch.setattr(subprocess, "Popen", None)  # nothing may be started
    with pytest.raises(ValueError, match="num_workers must be a positive integer, got 0"):
        run_workers(0)
    with pytest.raises(TypeError, match="num_workers must be a positive integer, got bool True"):
        run_workers(True)
    with pytest.raises(TypeError, match="global_batch must be a positive integer, got float 16.0"):
        run_workers(2, global_batch=16.0)
    with pytest.raises(TypeError, match="learning_rate must be a number, got str '0.1'"):
        run_workers(2, learning_rate="0.1")
    with pytest.raises(ValueError, match=r"learning_rate must be in \(0, inf\), got 0.0"):
        run_workers(2, learning_rate=0)
    with pytest.raises(ValueError, match=r"global_batch \(15\) must be divisible by the number of workers \(2\)"):
        run_workers(2, global_batch=15)
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        run_workers(2, steps=0)
    with pytest.raises(ValueError, match=r"timeout must be in \(0, inf\), got 0.0"):
        run_workers(2, timeout=0)
    with pytest.raises(TypeError, match="num_devices must be a positive integer, got float 2.0"):
        data_parallel_losses(2.0)
    with pytest.raises(ValueError, match=r"global_batch \(9\) must be divisible by the number of devices \(2\)"):
        data_parallel_losses(2, global_batch=9)


def test_free_ports_are_distinct_and_bindable():
    import socket

    ports = free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
    assert "worker" in distribute.main.__doc__


@needs_tf
@pytest.mark.slow
def test_a_port_taken_by_another_program_means_new_ports(monkeypatch, started):
    """free_ports hands out a port that something else listens on: the workers start again on new ones."""
    import socket

    real = distribute.free_ports
    calls = []
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()

        def first_port_taken(n, host="127.0.0.1"):
            calls.append(n)
            ports = real(n, host)
            return [taken.getsockname()[1], *ports[1:]] if len(calls) == 1 else ports

        monkeypatch.setattr(distribute, "free_ports", first_port_taken)
        records = run_workers(2, steps=1, timeout=150)
    assert calls == [2, 2] and len(started) == 4
    assert [len(r["losses"]) for r in records] == [1, 1]
