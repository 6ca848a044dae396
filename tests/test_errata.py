"""cvtutor.errata: the checklist's defects are the errata appendix's defect headings, once each, in
the appendix's order; the sections are the article's."""

from pathlib import Path

from cvtutor.errata import DEFECTS, checklist

ROOT = Path(__file__).resolve().parent.parent


def errata_terms() -> list[tuple[str, str, str]]:
    """``(section, term, first line of its definition)`` of every definition in book/errata.md."""
    lines = (ROOT / "book" / "errata.md").read_text(encoding="utf-8").splitlines()
    found, section = [], None
    for previous, line in zip(lines, lines[1:]):
        if previous.startswith("## "):
            section = previous.split()[1]
        if line.startswith(": ") and previous.strip() and not previous.startswith(": "):
            found.append((section, previous, line))
    return found


def test_titles_are_the_appendix_headings_in_order():
    own = [term for _, term, definition in errata_terms() if not definition.startswith(": The same")]
    assert [d.title for d in DEFECTS] == own


def test_each_heading_section_is_among_the_defects_sections():
    by_title = {d.title: d for d in DEFECTS}
    for section, term, _ in errata_terms():
        if term in by_title:  # its own heading (a defect listed again under a later section included)
            assert section in by_title[term].sections, (term, section)


def test_checklist_rows():
    rows = checklist()
    assert len(rows) == len(DEFECTS) == len({d.title for d in DEFECTS})
    assert all(set(r) == {"defect", "sections", "check"} and r["check"].endswith(".") for r in rows)
    assert {s for d in DEFECTS for s in d.sections} == {"1.3", "1.4.1", "1.4.2", "1.4.3"}
