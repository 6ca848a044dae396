"""The ``cvtutor`` command line: ``data``, ``train``, ``evaluate``, ``predict``.

Usage errors exit with status 2 (argparse's convention), other failures with
status 1 and one line naming what went wrong. TensorFlow is imported only by
the commands that need it, so ``cvtutor --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

MODEL_NAMES = ("cnn", "resnet", "rnn", "attention", "vit")


def _int_at_least(minimum: int, what: str):
    """An argparse type: an integer >= ``minimum``; the error names ``what`` was expected."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "a non-negative integer")


class _Output:
    """Where a command's results and progress go: text or JSON, loud or quiet."""

    def __init__(self, args):
        self.json = args.json
        self.quiet = args.quiet

    def info(self, message: str) -> None:
        """Progress and notes: to stderr, unless --quiet."""
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def decoding_bar(self):
        """A callback drawing a text progress bar of the first decode of a class-folder copy."""
        if self.quiet:
            return None

        def draw(fraction: float) -> None:
            filled = int(30 * fraction)
            end = "\n" if fraction >= 1.0 else ""
            print(f"\rdecoding CIFAR-10 [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}",
                  end=end, file=sys.stderr, flush=True)

        return draw

    def keras_verbosity(self) -> int:
        if self.quiet:
            return 0
        return 1 if sys.stderr.isatty() else 2

    @contextlib.contextmanager
    def progress(self):
        """Keras prints progress to stdout; keep stdout for results."""
        with contextlib.redirect_stdout(sys.stderr):
            yield

    def result(self, data: dict, text: str) -> None:
        print(json.dumps(data, indent=2) if self.json else text, flush=True)


# --- cvtutor data ------------------------------------------------------------------------------


def cmd_data(args, out: _Output) -> int:
    import numpy as np

    from cvtutor.data import CLASS_NAMES, find_cifar10
    from cvtutor.data.cifar10 import read_source

    source = find_cifar10(args.data_dir)
    out.info(f"found: {source.describe()}")
    if source.kind == "download":
        out.info("downloading CIFAR-10 through Keras (163 MiB, once)...")
    elif source.kind == "class-folders":
        out.info("reading (decoded once, then cached; the first time takes about 20 s)...")
    (x_train, y_train), (x_test, y_test) = read_source(source, progress=out.decoding_bar())
    counts = {
        "train": dict(zip(CLASS_NAMES, np.bincount(y_train, minlength=10).tolist())),
        "test": dict(zip(CLASS_NAMES, np.bincount(y_test, minlength=10).tolist())),
    }
    data = {
        "source": {"kind": source.kind, "path": str(source.path)},
        "integrity": "ok: every file read and checked",
        "train_images": len(x_train),
        "test_images": len(x_test),
        "image_shape": list(x_train.shape[1:]),
        "counts": counts,
    }
    lines = [
        f"source:    {source.describe()}",
        f"integrity: {data['integrity']}",
        f"images:    {len(x_train):,} train, {len(x_test):,} test, each {x_train.shape[1]}x{x_train.shape[2]}x{x_train.shape[3]}",
        f"{'class':<12}{'train':>8}{'test':>8}",
    ] + [f"{c:<12}{counts['train'][c]:>8}{counts['test'][c]:>8}" for c in CLASS_NAMES]
    out.result(data, "\n".join(lines))
    return 0


# --- cvtutor train -----------------------------------------------------------------------------


def _checkpoint_paths(output: Path) -> tuple[Path, Path]:
    folder = output.with_name(output.name + ".partial")
    return folder / "model.keras", folder / "state.json"


def _write_json_atomic(path: Path, data: dict) -> None:
    from cvtutor.files import atomic_write

    with atomic_write(path, "w") as f:
        f.write(json.dumps(data, indent=2))


def _epoch_checkpoint(output: Path, state: dict):
    """A Keras callback that saves the model and the epochs done after every epoch, atomically."""
    import keras

    from cvtutor.modelfiles import save_model

    model_path, state_path = _checkpoint_paths(output)

    class EpochCheckpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            save_model(self.model, model_path)
            _write_json_atomic(state_path, state | {"epochs_done": epoch + 1})

    return EpochCheckpoint()


def cmd_train(args, out: _Output) -> int:
    import shutil

    from cvtutor import get_profile
    from cvtutor.data import find_cifar10, load_cifar10
    from cvtutor.modelfiles import load_model, save_model
    from cvtutor.models import build_model
    from cvtutor.training import compile_model, fit, set_seed

    output = Path(args.output or f"{args.model}.keras")
    if output.suffix != ".keras":
        raise ValueError(f"--output must end in .keras, got {str(output)!r}")
    model_path, state_path = _checkpoint_paths(output)
    profile = get_profile(args.profile)
    state = {"model": args.model, "epochs": args.epochs, "seed": args.seed, "batch_size": args.batch_size,
             "augment": args.augment, "profile": profile.name}

    done = 0
    if args.resume and state_path.is_file() and model_path.is_file():
        saved = json.loads(state_path.read_text())
        if {k: saved.get(k) for k in state} != state:
            raise ValueError(
                f"cannot resume {output}: it was started with {json.dumps({k: saved.get(k) for k in state})}, "
                f"not {json.dumps(state)}"
            )
        done = int(saved["epochs_done"])
        model = load_model(model_path)
        out.info(f"resuming {args.model} from {model_path} after epoch {done} of {args.epochs}")
    else:
        if args.resume:
            out.info(f"nothing to resume at {model_path.parent}; starting from epoch 0")
        set_seed(args.seed)
        model = compile_model(build_model(args.model), learning_rate=args.learning_rate)
        model_path.parent.mkdir(parents=True, exist_ok=True)

    out.info(f"data: {find_cifar10(args.data_dir).describe()} (profile {profile.name})")
    (x_train, y_train), (x_test, y_test) = load_cifar10(args.data_dir, progress=out.decoding_bar())
    train, test = profile.subset(x_train, y_train, "train"), profile.subset(x_test, y_test, "test")
    if done < args.epochs:
        set_seed(args.seed + done)  # a resumed run shuffles its remaining epochs reproducibly
        with out.progress():
            result = fit(model, train, test, epochs=args.epochs, initial_epoch=done, batch_size=args.batch_size,
                         augment=args.augment, seed=args.seed + done, verbose=out.keras_verbosity(),
                         callbacks=[_epoch_checkpoint(output, state)])
        accuracy, seconds = result.test_accuracy, result.train_seconds
    else:
        from cvtutor.training import evaluate

        accuracy, seconds = evaluate(model, test)[1], 0.0
    save_model(model, output)
    shutil.rmtree(model_path.parent, ignore_errors=True)
    data = {"model": args.model, "output": str(output), "epochs": args.epochs, "resumed_after_epoch": done,
            "params": int(model.count_params()), "train_seconds": seconds, "test_accuracy": accuracy,
            "train_images": len(train[0]), "test_images": len(test[0]), "profile": profile.name}
    out.result(data, f"saved {output}: {args.model}, {args.epochs} epochs, test accuracy {accuracy:.2%} "
                     f"on {len(test[0]):,} images ({seconds:.0f} s of training)")
    return 0


# --- cvtutor evaluate --------------------------------------------------------------------------


def cmd_evaluate(args, out: _Output) -> int:
    import numpy as np

    from cvtutor import get_profile
    from cvtutor.data import CLASS_NAMES, load_cifar10
    from cvtutor.modelfiles import load_model
    from cvtutor.training import predict_logits

    model = load_model(args.model_file, compile=False)
    _, (x_test, y_test) = load_cifar10(args.data_dir, progress=out.decoding_bar())
    x_test, y_test = get_profile(args.profile).subset(x_test, y_test, "test")
    out.info(f"evaluating {args.model_file} on {len(x_test):,} test images...")
    with out.progress():
        predicted = predict_logits(model, x_test, verbose=out.keras_verbosity()).argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    accuracy = float((predicted == y_test).mean())
    if args.confusion_png:
        from cvtutor import plots

        plots.confusion_matrix(y_test, predicted, CLASS_NAMES).savefig(args.confusion_png, dpi=120)
        out.info(f"wrote {args.confusion_png}")
    data = {"model_file": str(args.model_file), "test_images": len(x_test), "accuracy": accuracy,
            "per_class_accuracy": dict(zip(CLASS_NAMES, per_class.round(4).tolist())),
            "confusion_matrix": {"rows_true_columns_predicted": list(CLASS_NAMES), "counts": confusion.tolist()}}
    short = [c[:5] for c in CLASS_NAMES]
    lines = [f"test accuracy: {accuracy:.2%} on {len(x_test):,} images", "", "per-class accuracy:"]
    lines += [f"  {c:<12}{a:7.2%}" for c, a in zip(CLASS_NAMES, per_class)]
    lines += ["", "confusion matrix (rows: true class, columns: predicted):", " " * 12 + "".join(f"{s:>6}" for s in short)]
    lines += [f"{c:<12}" + "".join(f"{n:>6}" for n in row) for c, row in zip(CLASS_NAMES, confusion)]
    out.result(data, "\n".join(lines))
    return 0


# --- cvtutor predict ---------------------------------------------------------------------------


def read_image(path: str, size: tuple[int, int]):
    """Any image file as uint8 (height, width, 3), resized to ``size`` = (height, width)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise FileNotFoundError(f"no image file at {path!r}")
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR, reducing_gap=3.0)
            return np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable image ({type(e).__name__}: {e})") from None


def cmd_predict(args, out: _Output) -> int:
    import numpy as np

    from cvtutor.data import CLASS_NAMES
    from cvtutor.modelfiles import load_model
    from cvtutor.training import predict_logits

    model = load_model(args.model_file, compile=False)
    height, width = model.input_shape[1:3]
    images = np.stack([read_image(p, (height, width)) for p in args.images])
    logits = predict_logits(model, images)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    k = min(args.top_k, probabilities.shape[1])
    results, lines = [], []
    for path, p in zip(args.images, probabilities):
        best = np.argsort(-p)[:k]
        top = [{"class": CLASS_NAMES[i], "probability": round(float(p[i]), 4)} for i in best]
        results.append({"image": path, "top": top})
        lines.append(f"{path}: " + ", ".join(f"{t['class']} {t['probability']:.1%}" for t in top))
    out.result({"model_file": str(args.model_file), "predictions": results}, "\n".join(lines))
    return 0


# --- the parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    common.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    data_opts = argparse.ArgumentParser(add_help=False)
    data_opts.add_argument("--data-dir", help="folder or archive holding CIFAR-10 (default: $CVTUTOR_DATA, "
                                              "then the Keras cache or download)")
    data_opts.add_argument("--profile", choices=("quick", "full"),
                           help="run profile (default: $CVTUTOR_PROFILE, else full)")

    parser = argparse.ArgumentParser(
        prog="cvtutor",
        description="Train, evaluate and use the image classifiers of 'Large Models in Computer Vision' on CIFAR-10.",
    )
    parser.add_argument("--version", action="version", version=f"cvtutor {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("data", parents=[common, data_opts], help="where CIFAR-10 is, its integrity, counts per class",
                            description="Find CIFAR-10, read and check all of it, and count the images per class.")
    p.set_defaults(func=cmd_data)

    p = commands.add_parser("train", parents=[common, data_opts], help="train a model and save it as .keras",
                            description="Train one of cvtutor's models on CIFAR-10. After every epoch a checkpoint "
                                        "is saved next to the output; --resume continues an interrupted run from it.")
    p.add_argument("model", choices=MODEL_NAMES, help="which model to build")
    p.add_argument("--epochs", type=_positive_int, default=10, help="epochs in total (default 10)")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="examples per step (default 64)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate (default 0.001)")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--augment", action="store_true", help="random flips and shifts of training images")
    p.add_argument("--output", "-o", help="model file to write (default MODEL.keras)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last completed epoch")
    p.set_defaults(func=cmd_train)

    p = commands.add_parser("evaluate", parents=[common, data_opts], help="test accuracy, per class, confusion matrix",
                            description="Evaluate a saved model on the CIFAR-10 test set.")
    p.add_argument("model_file", help="a .keras file written by 'cvtutor train' or model.save")
    p.add_argument("--confusion-png", help="also draw the confusion matrix into this PNG file")
    p.set_defaults(func=cmd_evaluate)

    p = commands.add_parser("predict", parents=[common], help="classify image files",
                            description="Classify image files of any size (resized to what the model takes).")
    p.add_argument("model_file", help="a .keras file written by 'cvtutor train' or model.save")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--top-k", type=_positive_int, default=3, help="classes to show per image (default 3)")
    p.set_defaults(func=cmd_predict)
    return parser


def _version() -> str:
    from cvtutor import __version__

    return __version__


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter is not for users
    parser = build_parser()
    args = parser.parse_args(argv)
    out = _Output(args)
    try:
        return args.func(args, out)
    except KeyboardInterrupt:
        print(f"cvtutor {args.command}: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError) as e:  # includes the loader's and model files' documented errors
        print(f"cvtutor {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
