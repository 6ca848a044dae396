"""Training throughput of every book model on each Keras backend, with and without XLA, in float32 and bfloat16.

    python -m benchmarks.backends                       # every backend installed, 3 interleaved rounds
    python -m benchmarks.backends --backends tensorflow jax --rounds 5 --steps 20

Keras 3 runs the same model code on TensorFlow, JAX and PyTorch. Which is
fastest on a given CPU is a measurement, not a rule, so this script measures
it: for every configuration (backend x XLA on/off x number format) a fresh
process (the backend is fixed when Keras is imported) builds each model of
the book's recipes (:data:`cvtutor.recipes.RECIPES`), compiles it with its
recipe's optimizer and loss, takes ``--warmup`` training steps on random
images of a fixed seed (tracing and compiling), then times ``--steps`` more
with ``train_on_batch``. The configurations are interleaved round by round,
so a slower phase of the machine hits them all alike, and the record keeps
every round; the results appendix shows the median images per second and
each one's ratio to TensorFlow, float32, no XLA, in the same run.

Number formats: ``float32``; ``mixed_bfloat16`` (Keras's mixed-precision
policy: bfloat16 compute, float32 weights; fast only where the CPU has
bfloat16 instructions, e.g. AVX512_BF16 or AMX). XLA: ``jit_compile=True``
(JAX always compiles with XLA, so it has one row per format, marked XLA). On
PyTorch, ``jit_compile=True`` would mean ``torch.compile``, which this script
leaves out. Records go to ``benchmarks/results/backends/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cvtutor.recipes import BACKENDS
from cvtutor.records import write_record
from cvtutor.machine import cpu_features

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "backends"
PRECISIONS = ("float32", "mixed_bfloat16")
#: One recipe per book model: its builder, arguments, optimizer and loss are what gets timed.
MODEL_RECIPES = {"cnn": "cnn-adam", "fast-cnn": "fast-cnn", "rnn": "rnn", "attention": "attention", "vit": None}


def configurations(backends) -> list[dict]:
    """Every (backend, xla, precision) worth timing: JAX always compiles; torch.compile is left out."""
    configs = []
    for backend in backends:
        for xla in ((True,) if backend == "jax" else (False,) if backend == "torch" else (False, True)):
            for precision in PRECISIONS:
                configs.append({"backend": backend, "xla": xla, "precision": precision})
    return configs


def installed_backends() -> list[str]:
    return [b for b in BACKENDS if importlib.util.find_spec(b) is not None]


def _recipe_for(model_name: str):
    from cvtutor.recipes import Recipe, get_recipe

    name = MODEL_RECIPES[model_name]
    if name is None:  # the ViT of chapter 1.5.2 has no benchmark recipe: the attention recipe's training
        return get_recipe("attention").replace(name="vit", model="vit", model_args={})
    return get_recipe(name)


def worker(config: dict, models, batch_size: int, warmup: int, steps: int) -> dict:
    """Time every model in one configuration; runs in a fresh process with KERAS_BACKEND set."""
    import keras
    import numpy as np

    assert keras.backend.backend() == config["backend"], (keras.backend.backend(), config)
    keras.mixed_precision.set_global_policy(config["precision"])
    rng = np.random.default_rng(0)
    x = rng.random((batch_size, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, batch_size)
    rows = {}
    for model_name in models:
        recipe = _recipe_for(model_name).replace(jit_compile=config["xla"])
        keras.utils.set_random_seed(0)
        model = recipe.compile(recipe.build(), steps=warmup + steps)
        try:
            for _ in range(warmup):
                model.train_on_batch(x, y)
            start = time.perf_counter()
            for _ in range(steps):
                loss = model.train_on_batch(x, y)
            seconds = time.perf_counter() - start
            rows[model_name] = {"images_per_second": batch_size * steps / seconds,
                                "loss": float(np.ravel(loss)[0])}
        except Exception as error:  # a backend that cannot run a model (recorded, not fatal)
            rows[model_name] = {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"}
    return rows


def _run_worker(config, args) -> dict:
    env = dict(os.environ, KERAS_BACKEND=config["backend"], TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "benchmarks.backends", "--worker", json.dumps(config),
               "--models", *args.models, "--batch-size", str(args.batch_size),
               "--warmup", str(args.warmup), "--steps", str(args.steps)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.timeout)
    if result.returncode != 0:
        tail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {m: {"error": f"worker failed: {tail[:200]}"} for m in args.models}
    return json.loads(result.stdout.strip().splitlines()[-1])


def _versions() -> dict:
    import importlib.metadata as metadata

    versions = {"python": platform.python_version()}
    for package in ("keras", "tensorflow", "jax", "jaxlib", "torch", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def summarize(rounds: list[dict]) -> list[dict]:
    """Median images/s per (model, configuration) over the rounds, and the ratio to TensorFlow float32 without XLA."""
    table = {}
    for round_ in rounds:
        for entry in round_["results"]:
            key = (entry["backend"], entry["xla"], entry["precision"])
            for model, row in entry["models"].items():
                table.setdefault((model, key), []).append(row.get("images_per_second"))
    rows = []
    for (model, (backend, xla, precision)), values in table.items():
        measured = [v for v in values if v is not None]
        median = statistics.median(measured) if measured else None
        base = [v for v in table.get((model, ("tensorflow", False, "float32")), []) if v is not None]
        ratio = median / statistics.median(base) if median and base else None
        rows.append({"model": model, "backend": backend, "xla": xla, "precision": precision,
                     "images_per_second": median, "rounds": len(measured), "ratio_to_tensorflow_float32": ratio})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.backends", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, help="default: every one installed")
    parser.add_argument("--models", nargs="+", choices=list(MODEL_RECIPES), default=list(MODEL_RECIPES))
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions of the whole grid")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps (tracing, XLA compilation)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per model and configuration")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds for one configuration's process")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("rounds", "batch_size", "warmup", "steps", "timeout"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker), args.models, args.batch_size, args.warmup, args.steps)))
        return 0
    backends = args.backends or installed_backends()
    missing = [b for b in backends if importlib.util.find_spec(b) is None]
    if missing:
        parser.error(f"backend(s) not installed: {', '.join(missing)} (pip install them, or leave them out)")
    start = time.perf_counter()
    load_start = os.getloadavg()[0]
    rounds = []
    for index in range(args.rounds):
        results = []
        for config in configurations(backends):
            models = _run_worker(config, args)
            results.append({**config, "models": models})
            best = ", ".join(f"{m} {r['images_per_second']:.0f}" for m, r in models.items() if "images_per_second" in r)
            print(f"round {index + 1}/{args.rounds} {config}: {best or 'failed'} images/s", flush=True)
        rounds.append({"round": index + 1, "results": results})
    record = {
        "benchmark": "backends",
        "batch_size": args.batch_size, "warmup_steps": args.warmup, "timed_steps": args.steps,
        "models": {m: MODEL_RECIPES[m] for m in args.models},
        "rounds": rounds,
        "summary": summarize(rounds),
        "wall_seconds": time.perf_counter() - start,
        "hardware": {"machine": platform.machine(), "processor": platform.processor(), "cpus": os.cpu_count(),
                     "cpu_flags": cpu_features()},
        "load_average_start": load_start, "load_average_end": os.getloadavg()[0],
        "versions": _versions(),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "-m", "benchmarks.backends", *(argv if argv is not None else sys.argv[1:])]),
    }
    path = write_record(record, args.out, "backends")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
