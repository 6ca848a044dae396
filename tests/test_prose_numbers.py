"""No measured number in the book's prose is typed by hand, and no fixed word compares glued ones unchecked.

Every accuracy, time, speed-up or gap the chapters state must come from a
cell of the build that states it (myst-nb glue, ``{glue:text}`name```), so
that the prose and the measurement cannot drift apart. This test reads the
prose (markdown cells of ``book/*.ipynb`` and ``book/*.md``), removes what
may hold numbers legitimately (glue references and other roles, code spans
and blocks, math, links), and fails on any remaining number that looks
measured: a percentage, points, seconds/minutes/hours, a speed-up or ratio
("1.43x", "3 times"), a rate (images/s), a loss in nats, a memory size.

The few such numbers that are not measurements of this book (a definition,
arithmetic, a design budget, a published figure cited in the same sentence)
are listed in ``ALLOWED``, each with its reason. An entry that no longer
matches anything fails too, so the list stays as small as the book needs.

The second kind of drift is a fixed word relating glued numbers ("fewer weights", "times
slower", "equal to the correct loss"): the numbers change with every build, the word does
not. Every sentence that joins two or more glue references with such a word must be listed
in ``CHECKED_COMPARISONS`` with the code that keeps it true, which must stand in a code cell
of the same page: an ``assert`` that fails the build when the word stops being true, or the
``glue`` that generates the word from the numbers. A listed phrase whose word compares no
measurement (a rule, "the cell above") gives its reason instead.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

# (page, the phrase as it stands in the prose after stripping, why it is not a measurement).
ALLOWED = [
    ("bigger_models.ipynb", "16 times more work on a 32x32 feature map than on an 8x8",
     "arithmetic: (32/8)^2 positions"),
    ("bigger_models.ipynb", "budget of 15 minutes", "the book's time budget for a 1.5 chapter (a design goal)"),
    ("complex_structures.ipynb", "budget of 15 minutes", "the book's time budget for a 1.5 chapter"),
    ("pretrained.ipynb", "budget of 15 minutes", "the book's time budget for a 1.5 chapter"),
    ("challenges.ipynb", "under 15 minutes", "the book's time budget for a 1.5 chapter"),
    ("efficient_training.ipynb", "budget of 15 minutes", "the book's time budget for a 1.5 chapter"),
    ("results.ipynb", "aim at 10 minutes each", "the book's time budget for a 1.4 chapter"),
    ("challenges.ipynb", "10% of pixels", "a parameter of the deletion test (the fraction greyed out)"),
    ("challenges.ipynb", "top-ranked 10% of pixels", "a parameter of the deletion test"),
    ("challenges.ipynb", "top 10% of the CNN", "a parameter of the deletion test"),
    ("cnn_classifier.ipynb", "255 times larger", "arithmetic: pixels 0..255 instead of 0..1 (asserted in the cell)"),
    ("cnn_features.ipynb", "at random, 1,000 times", "a parameter of the permutation test (its rearrangements)"),
    ("cnn_features.ipynb", "fewer than 1% of them reach", "the permutation test's level, a convention"),
    ("cnn_features.ipynb", "chance at the 1% level", "the permutation test's level, a convention"),
    ("cnn_features.ipynb", "(10% for balanced classes)", "arithmetic: 1/10 for ten classes of equal size"),
    ("errata.md", "255 times larger", "arithmetic: pixels 0..255 instead of 0..1"),
    ("rnn_classifier.ipynb", "32 times shorter", "arithmetic: 1,024 pixel steps against 32 row steps"),
    ("errata.md", "32 times longer", "arithmetic: 1,024 pixel steps against 32 row steps"),
    ("efficient_training.ipynb", "3% of its data",
     "a published result, cited in the same sentence (hinton2015distilling)"),
    ("efficient_training.ipynb", "chance is 20%", "a definition: guessing among five balanced classes"),
    ("efficient_training.ipynb", "error below 0.1%",
     "a bound asserted in the cell above it (relative error < 1e-3 of float16 loss scaling)"),
    ("faq.ipynb", "Stuck at 10%", "a definition: guessing among ten balanced classes"),
    ("faq.ipynb", "stuck near 10%", "a definition: guessing among ten balanced classes"),
    ("recurrence.ipynb", "chance is 10%", "a definition: guessing among ten balanced classes"),
    ("summary.ipynb", "so 4 times both", "arithmetic: an LSTM has four SimpleRNN blocks (stated in the same sentence)"),
    ("intro.md", "163 MiB", "the size of the CIFAR-10 archive Keras downloads (a property of the file)"),
]

_NUMBER = r"(?<![\w.,/])\d[\d,]*(?:\.\d+)?"
_UNIT = (r"(?:\s?%|\s?percent\b|\s?(?:percentage\s)?points?\b|\s?(?:s|ms|sec|seconds?|minutes?|min|hours?|h)\b"
         r"|\s?(?:x|×)(?![\w])|\s?times\b|-fold\b|\s?images?/s\b|\s?images per second\b|\s?nats?\b"
         r"|\s?(?:KiB|MiB|GiB|KB|MB|GB)\b)")
MEASURED = re.compile(rf"{_NUMBER}(?:\s?(?:-|–|to)\s?{_NUMBER})?{_UNIT}")


def strip(text: str) -> str:
    """The prose of a markdown text, without the parts that may hold numbers legitimately."""
    text = re.sub(r"^(```|~~~).*?^\1", " ", text, flags=re.S | re.M)  # code blocks
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)  # display math
    text = re.sub(r"\{[\w:.+-]+\}`[^`]*`", " ", text)  # roles: {glue:text}, {cite}, {ref}, {py:func} ...
    text = re.sub(r"`[^`]*`", " ", text)  # code spans
    text = re.sub(r"(?<![\\\w])\$[^$\n]+\$", " ", text)  # inline math
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"^:[\w-]+:.*$", " ", text, flags=re.M)  # directive options (:name:, :header-rows:)
    return text


def pages():
    """(page name, prose) for every markdown cell of a chapter notebook and every .md page."""
    for path in sorted(BOOK.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        yield path.name, "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for path in sorted(BOOK.glob("*.md")):
        yield path.name, path.read_text(encoding="utf-8")


def measured_numbers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, match) of every measured-looking number in ``strip(text)``."""
    return [(m.start(), m.end(), m.group(0)) for m in MEASURED.finditer(text)]


def _allowed_spans(page: str, text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for p, phrase, _ in ALLOWED if p == page
            for m in re.finditer(re.escape(phrase), text)]


@pytest.mark.parametrize("typed", ["78.9%", "566 s", "1.43x", "2-3 points", "about 240 images/s",
                                   "66.7 %", "12 minutes", "a 3.4-fold gain", "0.93 nats", "1,510 MiB",
                                   "4 to 5 points", "1.5 times faster"])
def test_detector_finds_typed_measurements(typed):
    assert measured_numbers(strip(f"The model reached {typed} here.")), typed


@pytest.mark.parametrize("clean", ["{glue:text}`att_accuracy:.1f`% right", "`EPOCHS = 10` epochs",
                                   "$O(n^2)$ time", "chapter 1.4.3", "in 2021", "ten classes",
                                   "{cite}`he2016resnet` 3x3 convolutions", "a 32x32 image", "3x3 kernel",
                                   "batch size 64", "learning rate 0.001"])
def test_detector_ignores_glue_code_math_and_plain_numbers(clean):
    assert not measured_numbers(strip(f"The text says {clean} here.")), clean


PAGES = list(pages())


@pytest.mark.parametrize("page,text", PAGES, ids=[page for page, _ in PAGES])
def test_no_hand_typed_measurements(page, text):
    prose = strip(text)
    allowed = _allowed_spans(page, prose)
    typed = [(start, end, match) for start, end, match in measured_numbers(prose)
             if not any(a <= start and end <= b for a, b in allowed)]
    context = [f"{match!r} in ...{' '.join(prose[max(0, s - 70):e + 30].split())}..." for s, e, match in typed]
    assert not typed, (
        f"{page}: numbers that look measured are typed into the prose; glue them from the cell that "
        "measures them ({glue:text}`name`), or, if one is not a measurement of this book, add it to "
        "ALLOWED with its reason:\n  " + "\n  ".join(context))


def test_allow_list_entries_are_still_needed():
    prose = {page: strip(text) for page, text in pages()}
    stale = [(page, phrase) for page, phrase, _ in ALLOWED
             if page not in prose or phrase not in prose[page]
             or not any(match for _, _, match in measured_numbers(phrase))]
    assert not stale, f"ALLOWED entries that match no measured-looking number in the prose any more: {stale}"


COMPARATIVE = re.compile(
    r"\b(fewer|more than|less than|higher than|lower than|faster|slower|the same number|"
    r"equal to|larger than|smaller than|beats?|outperforms?|better than|worse than|"
    r"most accurate|least accurate|ahead of|behind|above|below)\b")

# (page, a phrase of the sentence, "code: <text in a code cell of the page>" or "reason: ...").
CHECKED_COMPARISONS = [
    ("cnn_classifier.ipynb", "keep a variance above 0.5",
     "code: assert kept == np.sum(np.diag(z_covariance) > 0.5)"),
    ("attention.ipynb", "times larger than without scaling",
     'code: assert norms["scaled"] > norms["unscaled"]'),
    ("bigger_models.ipynb", "The most accurate model", 'code: glue_sentence("best_model", describe(best))'),
    ("bigger_models.ipynb", "two accuracies that differ by less than",
     "reason: a rule for reading the numbers"),
    ("bigger_models.ipynb", "one training run per model, differences below",
     "reason: a rule for reading the numbers"),
    ("landscape.ipynb", "times fewer multiply-adds per image", "code: assert kept_macs < full_macs"),
    ("landscape.ipynb", "times fewer, so attention's cost", "code: assert window_tokens < stage1_tokens"),
    ("challenges.ipynb", "Every number below", "reason: 'below' means further down the page"),
    ("challenges.ipynb", "times slower", 'code: assert speed["CNN"]["training"] > speed["ViT"]["training"]'),
    ("challenges.ipynb", "with the same number of steps gave",
     "reason: describes the set-up, equal steps by construction"),
    ("cnn_classifier.ipynb", "equal to the correct loss", "code: assert np.isclose(tf_loss, right_loss"),
    ("cnn_features.ipynb", "more than half the image", "code: assert 2 * field > x_test.shape[1]"),
    ("cnn_classifier.ipynb", "as the CNN above", "reason: 'above' means earlier on the page"),
    ("complex_structures.ipynb", "a difference between two of them below",
     "reason: a rule for reading the numbers"),
    ("core_concepts.ipynb", "times fewer", "code: assert dense_params == (32 * 32 * 3 + 1) * 64"),
    ("core_concepts.ipynb", "Pooling makes the window grow faster", "code: assert article[-1] > plain[2]"),
    ("efficient_training.ipynb", "beat training from scratch by more than the noise",
     "code: (gaps > tl_noise).sum()"),
    ("efficient_training.ipynb", "the same number of steps, and the frozen steps",
     "reason: describes the set-up, equal steps by construction"),
    ("efficient_training.ipynb", "the cell above asserts", "reason: 'above' means earlier on the page"),
    ("efficient_training.ipynb", "so this setup cannot make training faster",
     'code: "eff_dp_time_reading",'),
    ("efficient_training.ipynb", "fewer labels and steps for a new task",
     "reason: describes the technique, not a measurement"),
    ("faq.ipynb", "that is where faster hardware", "reason: compares no measurements"),
    ("recurrence.ipynb", "times more than the first row", 'code: assert ratio(grad_init["SimpleRNN"]) > 1'),
    ("recurrence.ipynb", "after the short training run above",
     'code: assert ratio(grad_trained["LSTM"]) < ratio(grad_trained["SimpleRNN"])'),
    ("regularisation.ipynb", "and the verdicts below say so", "reason: 'below' means further down the page"),
    ("regularisation.ipynb", "equal to AdamW, as checked above",
     "reason: the section on decoupled weight decay asserts Adam(weight_decay=...) equal to AdamW"),
    ("regularisation.ipynb", "counts only if its mean over the seeds is larger than",
     "reason: a rule for reading the numbers (cvtutor.verdicts.regularisation_effect applies it)"),
    ("results.ipynb", "smaller than this could come from the seed alone",
     "reason: a rule for reading the numbers"),
    ("rnn_classifier.ipynb", "although its model has fewer weights",
     "code: assert t_pixels > t_rows and params_pixels < params_rows"),
]


def comparisons():
    """(page, sentence, word) for every sentence that joins two or more glue references with a
    comparative word outside them."""
    for path in sorted(BOOK.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] != "markdown":
                continue
            text = re.sub(r"^(```|~~~).*?^\1", " ", "".join(cell["source"]), flags=re.S | re.M)
            for sentence in re.split(r"(?<=[.;!?])\s+(?=[A-Z(*{-])|\n", text):
                bare = re.sub(r"\{[\w:.+-]+\}`[^`]*`", " ", sentence)
                word = COMPARATIVE.search(bare)
                if len(re.findall(r"\{glue:\w+\}`", sentence)) >= 2 and word:
                    yield path.name, sentence.strip(), word.group(0)


def _code(page: str) -> str:
    cells = json.loads((BOOK / page).read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_fixed_words_comparing_glued_numbers_are_checked():
    unchecked = [f"{page}: {word!r} in: {' '.join(sentence.split())[:300]}"
                 for page, sentence, word in comparisons()
                 if not any(p == page and phrase in sentence for p, phrase, _ in CHECKED_COMPARISONS)]
    assert not unchecked, (
        "sentences that relate glued numbers with a fixed word: glue the word from the numbers, or "
        "assert it in a hidden cell, and list the sentence in CHECKED_COMPARISONS:\n  "
        + "\n  ".join(unchecked))


@pytest.mark.parametrize("page,phrase,guard", CHECKED_COMPARISONS,
                         ids=[f"{p}:{q[:30]}" for p, q, _ in CHECKED_COMPARISONS])
def test_checked_comparisons_are_still_there_and_guarded(page, phrase, guard):
    assert any(p == page and phrase in sentence for p, sentence, _ in comparisons()), (
        f"{page}: no comparison sentence contains {phrase!r} any more; remove the entry")
    kind, _, text = guard.partition(": ")
    assert kind in ("code", "reason") and text, guard
    if kind == "code":
        assert text in _code(page), f"{page}: the code that keeps {phrase!r} true is gone: {text!r}"
