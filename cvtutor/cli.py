"""The ``cvtutor`` command line: ``data``, ``train``, ``evaluate``, ``predict``.

Usage errors exit with status 2 (argparse's convention), other failures with
status 1 and one line naming what went wrong. TensorFlow is imported only by
the commands that need it, so ``cvtutor --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import re
import sys
import warnings
from pathlib import Path

from cvtutor.recipes import MODEL_NAMES, RECIPES

#: The recipe that ``cvtutor train --from PRESET`` fine-tunes a KerasHub backbone with.
HUB_RECIPE = "hub-fine-tune"


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
        self.open_line = False  # a progress bar is drawn on stderr without its newline yet

    def end_line(self) -> None:
        """End an unfinished progress bar, so that the next message starts on a line of its own."""
        if self.open_line:
            print(file=sys.stderr, flush=True)
            self.open_line = False

    def info(self, message: str) -> None:
        """Progress and notes: to stderr, unless --quiet."""
        if not self.quiet:
            self.end_line()
            print(message, file=sys.stderr, flush=True)

    def decoding_bar(self, label: str = "decoding CIFAR-10"):
        """A callback drawing a text progress bar of the first decode of a class-folder tree."""
        if self.quiet:
            return None

        def draw(fraction: float) -> None:
            filled = int(30 * fraction)
            end = "\n" if fraction >= 1.0 else ""
            print(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}",
                  end=end, file=sys.stderr, flush=True)
            self.open_line = not end

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
        # allow_nan=False: a NaN would print as NaN, which is not JSON (ValueError, one line, instead)
        print(json.dumps(data, indent=2, allow_nan=False) if self.json else text, flush=True)


# --- cvtutor data ------------------------------------------------------------------------------


def cmd_data(args, out: _Output) -> int:
    """``cvtutor data``: read the data once, check every file, and print what was found.

    Returns:
        the exit status, 0.

    Raises:
        CIFAR10NotFoundError, CorruptDataError, FileNotFoundError, ValueError: what the loaders
            raise for missing or damaged data (:func:`main` prints it as one line).
    """
    import numpy as np

    from cvtutor.data import CLASS_NAMES, find_cifar10
    from cvtutor.data.cifar10 import read_source

    if args.data is not None:
        split = args.validation_split or 0.2
        (x_train, y_train), (x_test, y_test), names = _load_folder(out, args.data, (64, 64), 3, split)
        source_data = {"kind": "class-folders", "path": str(args.data)}
        described = f"{args.data} (your class folders; {split:.0%} of each class held out, images checked at 64x64)"
    else:
        source = find_cifar10(args.data_dir)
        out.info(f"found: {source.describe()}")
        if source.kind == "download":
            out.info("downloading CIFAR-10 through Keras (163 MiB, once)...")
        elif source.kind == "class-folders":
            out.info("reading (decoded once, then cached; the first time takes about 20 s)...")
        (x_train, y_train), (x_test, y_test) = read_source(source, progress=out.decoding_bar())
        names, source_data, described = CLASS_NAMES, {"kind": source.kind, "path": str(source.path)}, source.describe()
    counts = {
        "train": dict(zip(names, np.bincount(y_train, minlength=len(names)).tolist())),
        "test": dict(zip(names, np.bincount(y_test, minlength=len(names)).tolist())),
    }
    data = {
        "source": source_data,
        "integrity": "ok: every file read and checked",
        "train_images": len(x_train),
        "test_images": len(x_test),
        "image_shape": list(x_train.shape[1:]),
        "class_names": list(names),
        "counts": counts,
    }
    width = max(12, max(len(c) for c in names) + 2)
    lines = [
        f"source:    {described}",
        f"integrity: {data['integrity']}",
        f"images:    {len(x_train):,} train, {len(x_test):,} test, each {x_train.shape[1]}x{x_train.shape[2]}x{x_train.shape[3]}",
        f"{'class':<{width}}{'train':>8}{'test':>8}",
    ] + [f"{c:<{width}}{counts['train'][c]:>8}{counts['test'][c]:>8}" for c in names]
    out.result(data, "\n".join(lines))
    return 0


# --- cvtutor train -----------------------------------------------------------------------------


def _check_usage(args) -> str | None:
    """What argparse cannot check by itself (combinations of options); the problem, or None. Imports nothing."""
    if args.command == "train" and args.model is None and args.pretrained is None and args.recipe is None:
        return "the following arguments are required: MODEL (or --recipe NAME, or --from PRETRAINED)"
    if args.command == "train" and args.recipe is not None:
        if args.pretrained is not None:
            return "--recipe (a model trained from scratch) and --from (fine-tuning) exclude each other"
        if args.model is not None and args.model != RECIPES[args.recipe].model:
            return (f"--recipe {args.recipe} trains the {RECIPES[args.recipe].model} model, not {args.model}: "
                    f"leave out MODEL")
    if getattr(args, "data", None) is not None and getattr(args, "data_dir", None) is not None:
        return "--data (your class folders) and --data-dir (CIFAR-10) exclude each other"
    classes = getattr(args, "classes", None)
    if classes is not None:
        names = _class_list(classes)
        if len(names) < 2 or not all(names) or len(set(names)) < len(names):
            return f"--classes expects 2 or more distinct comma-separated names, got {classes!r}"
    if args.command == "train" and args.pretrained is None and (args.head_epochs is not None
                                                               or args.fine_tune_learning_rate is not None):
        return "--head-epochs and --fine-tune-learning-rate apply only with --from PRETRAINED"
    if args.command == "train" and args.pretrained is not None and not _is_model_file(args.pretrained):
        if args.head_epochs is not None:
            return (f"--head-epochs applies to a .keras model (a new head, then all layers); a KerasHub preset "
                    f"such as {args.pretrained!r} trains head and backbone together, the backbone at "
                    f"--fine-tune-learning-rate")
        if args.channels == 1:
            return f"--from {args.pretrained}: a KerasHub image backbone takes RGB images, not --channels 1"
    return None


def _is_model_file(path) -> bool:
    """Whether ``--from`` names a cvtutor ``.keras`` file; anything else is a KerasHub preset (a name
    or a folder written by ``save_to_preset``)."""
    return str(path).endswith(".keras")


def _resolved(path) -> str | None:
    return None if path is None else str(Path(path).expanduser().resolve())


def _model_name(args) -> str | None:
    """The model ``cvtutor train`` builds: MODEL, or the ``--recipe``'s; None when fine-tuning ``--from``."""
    return args.model or (RECIPES[args.recipe].model if args.recipe else None)


def _preset(name: str) -> str:
    """A preset as the run records it: a folder's absolute path, or the name as given."""
    return _resolved(name) if Path(name).expanduser().exists() else name


def _load_folder(out: _Output, directory, image_size, channels, validation_split):
    """The reader's class folders: ``((x_train, y_train), (x_test, y_test), class_names)``."""
    import numpy as np

    from cvtutor.data import load_image_folder

    out.info(f"data: {directory} (class folders, images resized to {image_size[0]}x{image_size[1]}, "
             f"{'RGB' if channels == 3 else 'grayscale'})")
    loaded = load_image_folder(directory, tuple(image_size), validation_split=validation_split, channels=channels,
                               progress=out.decoding_bar(f"decoding {Path(directory).name}"))
    (_, y_train), (_, y_test), names = loaded
    trained, held = (np.bincount(y, minlength=len(names)) for y in (y_train, y_test))
    for name, n_train, n_held in zip(names, trained, held):
        if n_held == 0:  # a class of one image: trained on, never tested; a reader must know
            out.info(f"note: class {name!r} has no held-out images ({n_train} image{'s' if n_train != 1 else ''} "
                     f"in all, every one trained on): its accuracy cannot be measured; give it more images")
    return loaded


def _pretrained(path):
    """The model to fine-tune and its contract; refuses one whose input scaling cvtutor's pipeline does not feed."""
    from cvtutor.contract import UNIT_SCALE, model_contract
    from cvtutor.modelfiles import load_model

    model = load_model(path, compile=False)
    contract, _ = model_contract(model)
    if abs(contract.pixel_scale - UNIT_SCALE) > 1e-9 or contract.pixel_offset != 0:
        raise ValueError(f"{path}: takes pixels scaled by {contract.pixel_scale:g} (+{contract.pixel_offset:g}); "
                         f"cvtutor fine-tunes models that take pixels in [0, 1] (its own models, trained by cvtutor)")
    return model, contract


def _train_inputs(args, out: _Output, profile):
    """What ``cvtutor train`` trains on and from: ``(pretrained model or None, train, test, contract)``.

    Raises:
        ValueError: an ``--image-size`` or ``--channels`` that the pre-trained model or CIFAR-10
            does not have, or what the loaders raise.
    """
    from cvtutor.contract import Contract
    from cvtutor.data import CLASS_NAMES, find_cifar10, load_cifar10

    pretrained = None
    if args.pretrained is not None and _is_model_file(args.pretrained):
        pretrained, base = _pretrained(args.pretrained)
        if args.image_size is not None and tuple(args.image_size) != base.image_size:
            raise ValueError(f"--image-size {args.image_size[0]} {args.image_size[1]} does not fit {args.pretrained}: "
                             f"its layers were built for {base.image_size[0]}x{base.image_size[1]} images")
        if args.channels is not None and args.channels != base.channels:
            raise ValueError(f"--channels {args.channels} does not fit {args.pretrained}: it takes {base.channels}")
        image_size, channels = base.image_size, base.channels
    else:
        default_size = (64, 64) if args.data is not None else (32, 32)
        image_size = tuple(args.image_size) if args.image_size is not None else default_size
        channels = args.channels or 3
    if args.data is not None:
        (x_train, y_train), (x_test, y_test), class_names = _load_folder(
            out, args.data, image_size, channels, args.validation_split or 0.2)
    else:
        if (image_size, channels) != ((32, 32), 3):
            raise ValueError(f"CIFAR-10's images are 32x32 RGB, not {image_size[0]}x{image_size[1]} with {channels} "
                             f"channel(s): train on your own images with --data DIR")
        out.info(f"data: {find_cifar10(args.data_dir).describe()} (profile {profile.name})")
        (x_train, y_train), (x_test, y_test) = load_cifar10(args.data_dir, progress=out.decoding_bar())
        class_names = CLASS_NAMES
    train, test = profile.subset(x_train, y_train, "train"), profile.subset(x_test, y_test, "test")
    return pretrained, train, test, Contract(tuple(class_names), image_size, channels)


def _run_settings(args, recipe, contract, profile) -> dict:
    """Everything that defines a ``cvtutor train`` run but its epochs: what ``--resume`` must match."""
    return {"model": _model_name(args), "recipe": args.recipe,
            "from": _preset(args.pretrained) if args.pretrained else None, "data": _resolved(args.data),
            "data_dir": _resolved(args.data_dir),
            "class_names": list(contract.class_names), "image_size": list(contract.image_size),
            "channels": contract.channels,
            "validation_split": (args.validation_split or 0.2) if args.data else None, "seed": args.seed,
            "batch_size": recipe.batch_size, "learning_rate": recipe.learning_rate, "augment": recipe.augment,
            "profile": profile.name}


def _report_train(args, out: _Output, run, recipe, test, contract, profile) -> None:
    """The result of ``cvtutor train``: one line, or JSON with ``--json``."""
    from cvtutor.notebook import counted
    from cvtutor.prediction import flip_accuracy

    model_name = _model_name(args)
    model_file = args.pretrained is not None and _is_model_file(args.pretrained)
    data = {"model": model_name, "recipe": None if model_file else recipe.name, "from": args.pretrained,
            "output": str(run.output),
            "epochs": run.epochs, "resumed_after_epoch": run.resumed_after_epoch, "started_from": run.started_from,
            "params": int(run.model.count_params()), "train_seconds": run.train_seconds,
            "test_accuracy": run.test_accuracy, "train_images": run.train_size,
            "validation_images": run.validation_size, "test_images": len(test[0]),
            "class_names": list(contract.class_names), "image_size": list(contract.image_size),
            "channels": contract.channels, "profile": profile.name}
    flipped = ""
    if not model_file and recipe.test_time_flip:
        data["test_accuracy_flip"] = flip_accuracy(run.model, test, translate=recipe.test_time_shift)
        views = "flips and shifts" if recipe.test_time_shift else "flips"
        flipped = f" ({data['test_accuracy_flip']:.2%} with test-time {views})"
    name = model_name or f"fine-tuned {Path(args.pretrained).name}"
    held_out = "held-out" if args.data is not None else "test"
    classes = counted(len(contract.class_names), "class", "classes")
    out.result(data, f"saved {run.output}: {name}, {counted(run.epochs, 'epoch')}, {classes}, {held_out} accuracy "
                     f"{run.test_accuracy:.2%}{flipped} on {len(test[0]):,} images "
                     f"({run.train_seconds:.0f} s of training)")


def cmd_train(args, out: _Output) -> int:
    """``cvtutor train``: train a model (or a recipe, or fine-tune a model file) into a ``.keras`` file.

    A shell over the library: the run starts with :func:`cvtutor.recipes.start_run` (a fine-tuning
    run's stages come from :func:`cvtutor.transfer.fine_tuning`) and trains with
    :func:`cvtutor.resume.train_to_file`.

    Returns:
        the exit status, 0.

    Raises:
        ValueError: options that do not fit together (an ``--output`` not ending in ``.keras``,
            an ``--image-size`` or ``--channels`` that the pre-trained model or CIFAR-10 does not
            have), or what the loaders, :func:`cvtutor.recipes.start_run` and
            :func:`cvtutor.resume.train_to_file` raise (:func:`main` prints it as one line).
    """
    from cvtutor import get_profile
    from cvtutor.notebook import counted
    from cvtutor.recipes import DEFAULT_RECIPES, get_recipe, start_run
    from cvtutor.resume import saved_run_settings, train_to_file
    from cvtutor.transfer import fine_tuning

    model_name = _model_name(args)
    output = Path(args.output or f"{model_name or Path(args.pretrained).stem + '-tuned'}.keras")
    if output.suffix != ".keras":
        raise ValueError(f"--output must end in .keras, got {str(output)!r}")
    profile = get_profile(args.profile)
    pretrained, train, test, contract = _train_inputs(args, out, profile)
    # The run's hyperparameters: the named recipe (or the model's default recipe, or fine-tuning a KerasHub
    # preset) with the options given.
    hub = args.pretrained is not None and not _is_model_file(args.pretrained)
    if hub:
        recipe = get_recipe(HUB_RECIPE)
        recipe = recipe.replace(model_args={**recipe.model_kwargs, "preset": _preset(args.pretrained)})
    else:
        recipe = get_recipe(args.recipe or DEFAULT_RECIPES[model_name or "cnn"])
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
                 "augment": True if args.augment else None,
                 "backbone_learning_rate": args.fine_tune_learning_rate if hub else None}
    recipe = recipe.replace(**{k: v for k, v in overrides.items() if v is not None})
    settings = _run_settings(args, recipe, contract, profile)
    start = start_run(recipe, train, seed=args.seed, num_classes=len(contract.class_names), contract=contract)
    build, stages = start.build_model, None
    if pretrained is not None:
        head_epochs = args.head_epochs
        if head_epochs is None and args.resume:  # a resumed run keeps its stages when --epochs grows
            head_epochs = (saved_run_settings(output) or {}).get("head_epochs")
        head_epochs = max(1, recipe.epochs // 2) if head_epochs is None else head_epochs
        fine_tune_rate = 1e-4 if args.fine_tune_learning_rate is None else args.fine_tune_learning_rate
        settings |= {"head_epochs": head_epochs, "fine_tune_learning_rate": fine_tune_rate}
        build, stages = fine_tuning(pretrained, len(contract.class_names), head_epochs=head_epochs, seed=args.seed,
                                    learning_rate=recipe.learning_rate, fine_tune_learning_rate=fine_tune_rate,
                                    contract=contract)
        out.info(f"fine-tuning {args.pretrained} on {counted(len(contract.class_names), 'class', 'classes')}: a new "
                 f"head on frozen layers for {counted(min(head_epochs, recipe.epochs), 'epoch')}, then all layers at "
                 f"learning rate {fine_tune_rate:g}")
    elif hub:
        settings |= {"fine_tune_learning_rate": recipe.backbone_learning_rate}  # --resume must match it too
        out.info(f"fine-tuning the KerasHub preset {args.pretrained} on "
                 f"{counted(len(contract.class_names), 'class', 'classes')}, recipe {recipe.name}: the backbone at "
                 f"learning rate {recipe.backbone_learning_rate:g}, the new head at {recipe.learning_rate:g}")
    else:
        default = "" if args.recipe else f" (the default for {model_name})"
        out.info(f"recipe {recipe.name}{default}: {recipe.description}")
    with out.progress():
        run = train_to_file(output, build, start.train, test, epochs=recipe.epochs, settings=settings,
                            resume=args.resume, stages=stages, batch_size=recipe.batch_size, augment=recipe.augment,
                            seed=args.seed, verbose=out.keras_verbosity(), note=out.info,
                            validation=start.validation, pipeline=recipe.pipeline)
    _report_train(args, out, run, recipe, test, contract, profile)
    return 0


# --- cvtutor evaluate --------------------------------------------------------------------------


def _class_list(text: str | None):
    if text is None:
        return None
    return [name.strip() for name in text.split(",")]


def _model_and_contract(args, out: _Output, show_notes: bool = True):
    from cvtutor.contract import model_contract
    from cvtutor.modelfiles import load_model

    model = load_model(args.model_file, compile=False)
    contract, notes = model_contract(model, _class_list(args.classes))
    if show_notes:
        for line in notes:
            out.info(f"note: {line}")
    return model, contract, notes


def _probabilities(model_file, model, images, contract):
    """``predict_probabilities``, its refusals naming the model file."""
    from cvtutor.contract import predict_probabilities

    try:
        return predict_probabilities(model, images, contract)
    except ValueError as error:
        raise ValueError(f"{model_file}: {error}") from None


def _table(names, counts) -> list[str]:
    """The confusion matrix as text: short column names if they stay distinct, else column numbers."""
    short = [name[:6] for name in names]
    if len(set(short)) < len(short):
        short = [str(i) for i in range(len(names))]
    width = max(6, max(len(s) for s in short) + 1, len(str(int(counts.max(initial=0)))) + 1)
    label = max(12, max(len(n) for n in names) + 2)
    lines = [" " * label + "".join(f"{s:>{width}}" for s in short)]
    lines += [f"{n:<{label}}" + "".join(f"{c:>{width}}" for c in row) for n, row in zip(names, counts)]
    return lines


def cmd_evaluate(args, out: _Output) -> int:
    """``cvtutor evaluate``: a model file's accuracy and confusions on CIFAR-10's test set or a folder.

    Returns:
        the exit status, 0.

    Raises:
        ValueError: a folder with classes the model does not know, a model that is not a CIFAR-10
            model without ``--data``, no test images, or what loading the model and the data
            raises (:func:`main` prints it as one line).
    """
    import numpy as np

    from cvtutor import get_profile
    from cvtutor.contract import contract_layer, model_contract
    from cvtutor.metrics import confusion_counts, per_class_accuracy

    model, contract, notes = _model_and_contract(args, out, show_notes=args.data is None)
    names = list(contract.class_names)
    if args.data is not None:
        layer = contract_layer(model)
        trained = (layer.metadata.get("run", {}).get("settings", {}) if layer is not None else {})
        split = args.validation_split or trained.get("validation_split") or 0.2
        _, (x_test, y_folder), folder_names = _load_folder(out, args.data, contract.image_size, contract.channels,
                                                           split)
        if layer is None and args.classes is None and len(folder_names) == contract.num_classes \
                and set(folder_names) != set(names):
            contract, notes = model_contract(model, folder_names)  # the folder names its outputs instead
            names = list(folder_names)
            notes.append(f"the model names no classes; its {len(names)} outputs are taken as the folder's classes "
                         f"in sorted order: {', '.join(names)}")
        for line in notes:
            out.info(f"note: {line}")
        unknown = [c for c in folder_names if c not in names]
        if unknown:
            hint = " (name the model's outputs in order with --classes)" if layer is None and args.classes is None else ""
            raise ValueError(f"{args.data}: has classes the model {args.model_file} does not know: "
                             f"{', '.join(unknown)} (its classes: {', '.join(names)}){hint}")
        y_test = np.array([names.index(c) for c in folder_names], dtype=np.int64)[y_folder]
        x_test, y_test = get_profile(args.profile).subset(x_test, y_test, "test")  # as train held it out
        source = str(args.data)
    else:
        from cvtutor.data import CLASS_NAMES, load_cifar10

        if contract.input_shape != (32, 32, 3) or names != list(CLASS_NAMES):
            raise ValueError(f"{args.model_file} is not a CIFAR-10 model ({contract.describe()}): evaluate it on "
                             f"its own images with --data DIR")
        _, (x_test, y_test) = load_cifar10(args.data_dir, progress=out.decoding_bar())
        x_test, y_test = get_profile(args.profile).subset(x_test, y_test, "test")
        source = "CIFAR-10 test set"
    if len(x_test) == 0:
        raise ValueError(f"no test images in {source}")
    out.info(f"evaluating {args.model_file} on {len(x_test):,} images...")
    predicted = _probabilities(args.model_file, model, x_test, contract).argmax(axis=1)
    counts = confusion_counts(y_test, predicted, len(names))
    per_class = per_class_accuracy(counts)
    accuracy = float((predicted == y_test).mean())
    if args.confusion_png:
        from cvtutor import plots

        plots.confusion_matrix(y_test, predicted, names).savefig(args.confusion_png, dpi=120)
        out.info(f"wrote {args.confusion_png}")
    data = {"model_file": str(args.model_file), "data": source, "test_images": len(x_test), "accuracy": accuracy,
            "class_names": names,
            "per_class_accuracy": {n: (None if np.isnan(a) else round(float(a), 4)) for n, a in zip(names, per_class)},
            "confusion_matrix": {"rows_true_columns_predicted": names, "counts": counts.tolist()}, "notes": notes}
    lines = [f"accuracy: {accuracy:.2%} on {len(x_test):,} images ({source})", "", "per-class accuracy:"]
    width = max(12, max(len(n) for n in names) + 2)
    lines += [f"  {n:<{width}}" + ("      - (no images)" if np.isnan(a) else f"{a:7.2%}  of {int(t):,}")
              for n, a, t in zip(names, per_class, counts.sum(axis=1))]
    lines += ["", "confusion matrix (rows: true class, columns: predicted):", *_table(names, counts)]
    out.result(data, "\n".join(lines))
    return 0


# --- cvtutor predict ---------------------------------------------------------------------------


def cmd_predict(args, out: _Output) -> int:
    """``cvtutor predict``: the most probable classes of image files under a model file.

    Returns:
        the exit status, 0.

    Raises:
        ValueError: an image the model cannot take, or what loading the model and the images
            raises (:func:`main` prints it as one line).
    """
    import numpy as np

    from cvtutor.data import load_image
    from cvtutor.metrics import top_k

    model, contract, notes = _model_and_contract(args, out)
    images = np.stack([load_image(p, contract.image_size, channels=contract.channels) for p in args.images])
    probabilities = _probabilities(args.model_file, model, images, contract)
    results, lines = [], []
    for path, p, best in zip(args.images, probabilities, top_k(probabilities, args.top_k)):
        top = [{"class": contract.class_names[i], "probability": round(float(p[i]), 4)} for i in best]
        results.append({"image": path, "top": top})
        lines.append(f"{path}: " + ", ".join(f"{t['class']} {t['probability']:.1%}" for t in top))
    out.result({"model_file": str(args.model_file), "class_names": list(contract.class_names),
                "predictions": results, "notes": notes}, "\n".join(lines))
    return 0


# --- the parser --------------------------------------------------------------------------------


def _fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {value:g}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true",
                        help='print the result as JSON on stdout (on an error: {"command": ..., "error": ...}, exit 1)')
    common.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    data_opts = argparse.ArgumentParser(add_help=False)
    data_opts.add_argument("--data-dir", help="folder or archive holding CIFAR-10 (default: $CVTUTOR_DATA, "
                                              "then the Keras cache or download)")
    data_opts.add_argument("--profile", choices=("quick", "full"),
                           help="run profile (default: $CVTUTOR_PROFILE, else full)")
    folder_opts = argparse.ArgumentParser(add_help=False)
    folder_opts.add_argument("--data", metavar="DIR",
                             help="your own images instead of CIFAR-10: a folder (or tarball) with one folder per "
                                  "class, DIR/<class>/..., or DIR/train/<class>/... and DIR/test/<class>/...")
    folder_opts.add_argument("--validation-split", type=_fraction, metavar="F",
                             help="with --data DIR/<class>/...: the fraction of each class held out for testing "
                                  "(default 0.2; evaluate: what the model was trained with)")
    classes_opt = argparse.ArgumentParser(add_help=False)
    classes_opt.add_argument("--classes", metavar="A,B,C",
                             help="class names of a model that does not name its classes (saved by plain Keras)")

    parser = argparse.ArgumentParser(
        prog="cvtutor",
        description="Train, evaluate and use the image classifiers of 'Large Models in Computer Vision', "
                    "on CIFAR-10 or on your own class folders.",
    )
    parser.add_argument("--version", action="version", version=f"cvtutor {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("data", parents=[common, data_opts, folder_opts],
                            help="where CIFAR-10 (or your --data) is, its integrity, counts per class",
                            description="Find CIFAR-10 (or take your class folders, --data), read and check all of it, "
                                        "and count the images per class.")
    p.set_defaults(func=cmd_data, command_parser=p)

    p = commands.add_parser(
        "train", parents=[common, data_opts, folder_opts], help="train or fine-tune a model and save it as .keras",
        description="Train one of cvtutor's models on CIFAR-10 or on your own class folders (--data), from scratch "
                    "or by fine-tuning a trained model (--from: a new head on its frozen layers, then all layers). "
                    "The .keras file keeps the class names and the input size. After every epoch a checkpoint is "
                    "saved next to the output; --resume continues an interrupted run from it, or a finished run "
                    "to more --epochs.")
    p.add_argument("model", nargs="?", choices=MODEL_NAMES, metavar="MODEL",
                   help=f"which model to build: {', '.join(MODEL_NAMES)} (optional with --from); without "
                        f"--recipe it trains its default recipe, MODEL-adam (Adam 0.001, batch 64, 10 epochs)")
    p.add_argument("--from", dest="pretrained", metavar="PRETRAINED",
                   help="fine-tune instead of starting from scratch: a trained model file (MODEL.keras, e.g. one "
                        f"trained on CIFAR-10), or a KerasHub image backbone (a preset name such as "
                        f"resnet_18_imagenet, downloaded once, or a preset folder), trained by the recipe "
                        f"{HUB_RECIPE}")
    p.add_argument("--image-size", type=_positive_int, nargs=2, metavar=("H", "W"),
                   help="resize images to H x W (default 64 64 with --data, 32 32 for CIFAR-10, the "
                        "pretrained model's size with --from)")
    p.add_argument("--channels", type=int, choices=(1, 3),
                   help="3 for RGB (default), 1 for grayscale (with --from: the pretrained model's)")
    p.add_argument("--recipe", choices=sorted(RECIPES), metavar="NAME",
                   help=f"train with a named recipe of cvtutor.recipes ({', '.join(sorted(RECIPES))}): its model, "
                        "epochs, batch size, optimizer and schedule, augmentation, label smoothing and test-time "
                        "flips; the options below override it")
    p.add_argument("--epochs", type=_positive_int, help="epochs in total (default: the recipe's)")
    p.add_argument("--head-epochs", type=_positive_int,
                   help="with --from: epochs that train only the new head (default half of --epochs)")
    p.add_argument("--batch-size", type=_positive_int, help="examples per step (default: the recipe's)")
    p.add_argument("--learning-rate", type=float,
                   help="Adam's learning rate (default 0.001), or the recipe's peak rate")
    p.add_argument("--fine-tune-learning-rate", type=float,
                   help="with --from: Adam's learning rate once all layers train (default 0.0001), or "
                        "a KerasHub backbone's (default: the recipe's)")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--augment", action="store_true",
                   help="random flips and shifts of training images (on in recipes that augment)")
    p.add_argument("--output", "-o", help="model file to write (default MODEL.keras)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from its last completed epoch, or a finished one to --epochs")
    p.set_defaults(func=cmd_train, command_parser=p)

    p = commands.add_parser("evaluate", parents=[common, data_opts, folder_opts, classes_opt],
                            help="accuracy, per class, confusion matrix",
                            description="Evaluate a saved model on the CIFAR-10 test set, or on your own class "
                                        "folders (--data: their held-out part), under the model's class names.")
    p.add_argument("model_file", help="a .keras file written by 'cvtutor train' or model.save")
    p.add_argument("--confusion-png", help="also draw the confusion matrix into this PNG file")
    p.set_defaults(func=cmd_evaluate, command_parser=p)

    p = commands.add_parser("predict", parents=[common, classes_opt], help="classify image files",
                            description="Classify image files of any size and format (turned upright, resized and "
                                        "converted to what the model takes), under the model's class names.")
    p.add_argument("model_file", help="a .keras file written by 'cvtutor train' or model.save")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--top-k", type=_positive_int, default=3, help="classes to show per image (default 3)")
    p.set_defaults(func=cmd_predict, command_parser=p)
    return parser


def _version() -> str:
    from cvtutor import __version__

    return __version__


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _one_line(error: BaseException) -> str:
    """An error as one line: its first non-empty line, terminal colour codes removed, at most 500 characters."""
    text = _ANSI.sub("", str(error)).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not isinstance(error, (OSError, ValueError)):
        first = f"{type(error).__name__}: {first}"
    return first if len(first) <= 500 else first[:497] + "..."


def _warnings_as_notes(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` for the command line: a library's warning as one ``note:`` line."""
    print(f"note: {message}", file=sys.stderr, flush=True)


def _readable_console() -> None:
    """Print what the console cannot show as escapes (``\\u732b``) instead of failing: class names
    such as 猫 on a Windows code page, or folder names that are not UTF-8 (Latin-1 bytes from a
    Windows zip, read as surrogates) on a strict UTF-8 console."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up lines (absl's warnings from before its logging starts)
    kept off the console, so that an error stays one line. Python's own errors still reach the
    user: an import that fails raises as usual."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _python_only_stderr() -> None:
    """For the rest of the process, stderr for Python's writes only: what C++ libraries write
    straight to file descriptor 2 (TensorFlow's CUDA probe when the first model runs, h5py's HDF5
    diagnostics, their lines at exit) goes to the null device, while ``sys.stderr`` (messages,
    progress, warnings, tracebacks) writes to the console through a copy of the descriptor."""
    sys.stderr.flush()
    console_fd, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    # open for the rest of the process: no context manager
    sys.stderr = open(console_fd, "w", encoding=encoding, errors="backslashreplace", buffering=1)  # noqa: SIM115


# The commands that run a model: they import TensorFlow (through Keras).
TENSORFLOW_COMMANDS = ("train", "evaluate", "predict")


def _disk_full(error: OSError, args) -> str:
    """One line for a full disk: which file, and that nothing was lost."""
    where = getattr(args, "output", None) or error.filename or "a file"
    resume = " (training continues from its last checkpoint with --resume)" if args.command == "train" else ""
    return (f"no space left on device while writing {where}: free some space and run the command again{resume}; "
            f"no earlier file was replaced")


def main(argv=None, *, hard_exit: bool = False) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's chatter is not for users
    _readable_console()
    warnings.showwarning = _warnings_as_notes
    parser = build_parser()
    args = parser.parse_args(argv)
    out = _Output(args)
    problem = _check_usage(args)
    if problem:
        args.command_parser.error(problem)  # usage line and message, exit 2, as argparse's own errors
    try:
        if args.command in TENSORFLOW_COMMANDS:
            _quiet_tensorflow()
        return args.func(args, out)
    except KeyboardInterrupt:
        out.end_line()
        print(f"cvtutor {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # one line, never a traceback: the loader's, model files' and Keras' errors alike
        out.end_line()
        full = isinstance(e, OSError) and e.errno == errno.ENOSPC
        message = _disk_full(e, args) if full else _one_line(e)
        print(f"cvtutor {args.command}: error: {message}", file=sys.stderr)
        if out.json:  # a script that parses stdout gets a document too, not an empty string
            print(json.dumps({"command": args.command, "error": message}), flush=True)
        if full and hard_exit:
            # A write that h5py began on a full disk leaves it broken: error messages at every later
            # garbage collection and a segmentation fault at exit. The program stops here, cleanly.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        return 1


def console() -> None:
    """The ``cvtutor`` program (``python -m cvtutor.cli``): :func:`main`, with the C++ libraries'
    own stderr lines kept off the console, and a process that ends as soon as it has said a disk
    is full (``hard_exit``)."""
    _python_only_stderr()
    sys.exit(main(hard_exit=True))


if __name__ == "__main__":
    console()
